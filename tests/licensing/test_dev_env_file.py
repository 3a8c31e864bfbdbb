"""The development .env that `make run` writes: read by development commands, never by
production or the tests, which set DEBUG off (config/envfile.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.envfile import load_env_file, parse_env_file

ROOT = Path(__file__).resolve().parents[2]
DEV_FILE = "# written by make run\nDEBUG=true\nSECRET_KEY='dev-key-from-the-file'\n"


def write(tmp_path, text):
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_development_file_sets_what_the_environment_does_not(tmp_path):
    environ = {"ALLOWED_HOSTS": "example.org"}
    assert load_env_file(write(tmp_path, DEV_FILE + "ALLOWED_HOSTS=other\n"), environ)
    assert environ == {
        "DEBUG": "true",
        "SECRET_KEY": "dev-key-from-the-file",
        "ALLOWED_HOSTS": "example.org",  # the environment wins
    }


def test_an_environment_that_sets_debug_off_never_reads_the_file(tmp_path):
    for debug in ("false", "0", "off", ""):
        environ = {"DEBUG": debug}
        assert not load_env_file(write(tmp_path, DEV_FILE), environ)
        assert environ == {"DEBUG": debug}


def test_an_environment_with_debug_on_takes_the_files_key(tmp_path):
    """`make run` sets DEBUG=true: its server and the commands share the file's key."""
    environ = {"DEBUG": "true"}
    assert load_env_file(write(tmp_path, DEV_FILE), environ)
    assert environ == {"DEBUG": "true", "SECRET_KEY": "dev-key-from-the-file"}


def test_a_file_that_does_not_say_debug_true_is_ignored(tmp_path):
    for text in ("SECRET_KEY=x\n", "DEBUG=false\nSECRET_KEY=x\n"):
        environ = {}
        assert not load_env_file(write(tmp_path, text), environ)
        assert environ == {}


def test_no_file_changes_nothing(tmp_path):
    environ = {}
    assert not load_env_file(tmp_path / ".env", environ)
    assert environ == {}


def test_a_malformed_line_is_a_configuration_error_naming_the_line(tmp_path):
    path = write(tmp_path, "DEBUG=true\nnot a setting\n")
    with pytest.raises(ImproperlyConfigured, match="line 2"):
        parse_env_file(path.read_text(), path)


def manage(*args, env_file, **environment):
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    environ.update(environment, ENV_FILE=str(env_file))
    return subprocess.run(  # noqa: S603 (the test's own interpreter and arguments)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manage_py_commands_run_with_the_development_file_alone(tmp_path):
    """What the README shows after `make run`: no DEBUG or SECRET_KEY to set by hand."""
    run = manage("import_licences", "--help", env_file=write(tmp_path, DEV_FILE))
    assert run.returncode == 0, run.stderr
    assert "--dry-run" in run.stdout
    without = manage("import_licences", "--help", env_file=tmp_path / "missing")
    assert without.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in without.stderr


def test_production_keeps_refusing_without_a_key_even_beside_a_development_file(tmp_path):
    run = manage("check", env_file=write(tmp_path, DEV_FILE), DEBUG="false")
    assert run.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in run.stderr
