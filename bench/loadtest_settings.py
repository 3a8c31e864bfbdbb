"""The load test's settings: the project's own, static files collected into the run's directory.

STATIC_ROOT is not read from the environment, and `collectstatic` into the project folder would
write into a tree other people work in (or into an extracted older tree); production's storage
(whitenoise's compressed manifest) is kept, so pages cost what they cost in production.
"""

import os

from config.settings import *  # noqa: F403 (these are the settings, one value changed)

STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
