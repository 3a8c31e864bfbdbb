"""Backups: the database and the private media in one tar file, and their restore.

A backup is `licences-<vendor>-<YYYYmmdd-HHMMSS>.tar` in BACKUP_DIR holding

- `database.sqlite3` (the embedded default, copied with SQLite's online backup API, which
  is safe while the application writes) or `database.pgdump` (PostgreSQL: pg_dump's custom
  format, restored with pg_restore);
- `private-media/…`: the uploaded attachments under PRIVATE_MEDIA_ROOT (the background
  exports' files are left out: they are made again on request and purged after a week);
- `manifest.json`: the vendor, the time, and the row count of every table as it is in the
  copy, which the restore checks the restored database against.

On PostgreSQL the counts and pg_dump read the same snapshot (pg_export_snapshot), so they agree
even while the application writes.
"""

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

MANIFEST = "manifest.json"
MEDIA_PREFIX = "private-media"
# Background exports (licensing/export_jobs.py): re-made on request, purged after a week.
SKIPPED_MEDIA = {"exports"}
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FORMAT = 1


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing was changed."""


def table_counts(cursor, vendor: str) -> dict[str, int]:
    """The row count of every table, through a DB-API cursor of either vendor."""
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    names = sorted(row[0] for row in cursor.fetchall())
    counts = {}
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608 (a table name, quoted)
        counts[name] = cursor.fetchone()[0]
    return counts


def _vendor() -> str:
    if connection.vendor not in DATABASE_MEMBER:
        raise BackupError(_("Backups support SQLite and PostgreSQL only."))
    return connection.vendor


def _pg_environment() -> dict:
    """libpq's environment for pg_dump and pg_restore: the configured database's."""
    config = connection.settings_dict
    env = {**os.environ, "PGDATABASE": config["NAME"]}
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
    ):
        if config.get(key):
            env[variable] = str(config[key])
    return env


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (fixed programs)
    if result.returncode:
        raise BackupError(
            _("%(program)s failed: %(error)s")
            % {"program": command[0], "error": result.stderr.strip()[-2000:]}
        )


def _copy_sqlite(target: Path) -> dict[str, int]:
    source = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        return table_counts(copy.cursor(), "sqlite")
    finally:
        copy.close()
        source.close()


def _dump_postgresql(target: Path) -> dict[str, int]:
    import psycopg

    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.autocommit = False
        with raw.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = table_counts(cursor, "postgresql")
            # The transaction stays open while pg_dump reads its snapshot.
            _run(
                ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                _pg_environment(),
            )
        raw.rollback()
    finally:
        raw.close()
    return counts


def _media_files() -> list[Path]:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.relative_to(root).parts[0] not in SKIPPED_MEDIA
        and not path.name.endswith(".partial")
    )


def backup_create(*, directory: Path | None = None) -> tuple[Path, dict]:
    """Write a backup into `directory` (BACKUP_DIR); returns its path and its manifest."""
    vendor = _vendor()
    directory = Path(directory or settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = timezone.localtime()
    name = f"licences-{vendor}-{now:%Y%m%d-%H%M%S}.tar"
    path = directory / name
    partial = directory / (name + ".partial")
    member = DATABASE_MEMBER[vendor]
    with tempfile.TemporaryDirectory(dir=directory, prefix=".backup-") as work:
        database_copy = Path(work) / member
        if vendor == "sqlite":
            counts = _copy_sqlite(database_copy)
        else:
            counts = _dump_postgresql(database_copy)
        media = _media_files()
        manifest = {
            "format": FORMAT,
            "vendor": vendor,
            "created": now.isoformat(),
            "database": str(connection.settings_dict["NAME"]),
            "tables": counts,
            "media_files": len(media),
        }
        # The backup holds personal data: readable by its owner only.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as output, tarfile.open(fileobj=output, mode="w") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o600
            tar.addfile(info, fileobj=io.BytesIO(data))
            tar.add(database_copy, arcname=member)
            root = Path(settings.PRIVATE_MEDIA_ROOT)
            for file in media:
                tar.add(file, arcname=f"{MEDIA_PREFIX}/{file.relative_to(root).as_posix()}")
    os.replace(partial, path)
    return path, manifest


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        manifest = json.load(tar.extractfile(MANIFEST))
    except (KeyError, ValueError, TypeError) as error:
        raise BackupError(_("This is not a backup of this system (no manifest).")) from error
    if manifest.get("format") != FORMAT or manifest.get("vendor") not in DATABASE_MEMBER:
        raise BackupError(_("This is not a backup of this system (no manifest)."))
    return manifest


def _occupied() -> list[str]:
    """What the configured database and the private media already hold (empty: nothing)."""
    from accounts.models import User
    from licensing.models import Licence, Manufacturer
    from verification.models import ProvincialReturn

    held = []
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for model in (User, Manufacturer, Licence, ProvincialReturn):
            table = model._meta.db_table
            if table not in existing:
                continue
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (a model's table)
            count = cursor.fetchone()[0]
            if count:
                held.append(f"{table}: {count}")
    if _media_files():
        held.append(f"{settings.PRIVATE_MEDIA_ROOT}: {len(_media_files())}")
    return held


def restore_backup(*, path: Path, force: bool = False) -> dict:
    """Replace the configured database and add the private media from the backup at `path`.

    Refuses when the database or the private media hold data, unless `force`. Returns the
    manifest; raises BackupError when a restored table's row count differs from it.
    """
    vendor = _vendor()
    try:
        tar = tarfile.open(path, mode="r")  # noqa: SIM115 (closed by the `with` below)
    except (OSError, tarfile.TarError) as error:
        raise BackupError(
            _("Cannot read %(file)s: %(error)s") % {"file": path, "error": error}
        ) from error
    with tar, tempfile.TemporaryDirectory(prefix="restore-") as work:
        manifest = read_manifest(tar)
        if manifest["vendor"] != vendor:
            raise BackupError(
                _("This is a backup of a %(backup)s database; the configured one is %(here)s.")
                % {"backup": manifest["vendor"], "here": vendor}
            )
        held = _occupied()
        if held and not force:
            raise BackupError(
                _(
                    "The configured database or the private media already hold data (%(held)s); "
                    "restoring would replace it. Use --force (make restore FORCE=1) to replace it."
                )
                % {"held": ", ".join(held)}
            )
        member = DATABASE_MEMBER[vendor]
        tar.extract(member, work, filter="data")
        database_copy = Path(work) / member
        connection.close()
        if vendor == "sqlite":
            copy = sqlite3.connect(database_copy)
            target = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
            try:
                copy.backup(target)
            finally:
                target.close()
                copy.close()
        else:
            _run(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
                + ["--exit-on-error", f"--dbname={connection.settings_dict['NAME']}"]
                + [str(database_copy)],
                _pg_environment(),
            )
        _restore_media(tar)
    with connection.cursor() as cursor:
        counts = table_counts(cursor, vendor)
    differing = [
        f"{table}: {expected} → {counts.get(table)}"
        for table, expected in manifest["tables"].items()
        if counts.get(table) != expected
    ]
    if differing:
        raise BackupError(
            _("The restored database differs from the backup: %(tables)s")
            % {"tables": ", ".join(differing)}
        )
    return manifest


def _restore_media(tar: tarfile.TarFile) -> None:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    prefix = MEDIA_PREFIX + "/"
    for info in tar.getmembers():
        if not info.isfile() or not info.name.startswith(prefix):
            continue
        relative = Path(info.name[len(prefix) :])
        target = (root / relative).resolve()
        if root.resolve() not in target.parents or ".." in relative.parts:
            raise BackupError(_("This is not a backup of this system (no manifest)."))
        target.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(info) as source, target.open("wb") as output:
            shutil.copyfileobj(source, output)
