"""The development environment file (.env) that `make run` writes, read by the settings.

Only a development process reads it: one whose environment leaves DEBUG unset or sets it on
(`make run` does); a process whose environment sets DEBUG off (production, the test suite)
never sees it. And only a file that itself says DEBUG=true counts. Its values never override
the environment's.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}


def parse_env_file(text: str, path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments are skipped, one pair of quotes removed."""
    values = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ImproperlyConfigured(f"{path}, line {number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_env_file(path: Path, environ=os.environ) -> bool:
    """Add the file's values to ``environ`` when this is a development run; True if it did."""
    debug = environ.get("DEBUG")
    if (debug is not None and debug.strip().lower() not in TRUE) or not path.is_file():
        return False
    values = parse_env_file(path.read_text(encoding="utf-8"), path)
    if values.get("DEBUG", "").strip().lower() not in TRUE:
        return False
    for key, value in values.items():
        environ.setdefault(key, value)
    return True
