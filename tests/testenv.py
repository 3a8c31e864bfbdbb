"""Test-run environment, set before Django reads its settings.

The suite runs with DEBUG off, as production does; only the secret key is a test value.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
# Said explicitly, so the development .env that `make run` writes is never read (config/envfile.py).
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
