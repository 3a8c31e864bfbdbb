"""`manage.py backup` and `manage.py restore` (make backup / make restore): the round trip."""

import io
import json
import tarfile

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from licensing.factories import make_licence, make_manufacturer
from licensing.models import Licence, LicensedProduct, Manufacturer, Province
from operations.backup import table_counts

# Committed rows are what a backup reads (another connection, or pg_dump); the reference data
# of the data migrations is put back after each test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _counts():
    with connection.cursor() as cursor:
        return table_counts(cursor, connection.vendor)


def _register():
    shandong, zhejiang = Province.objects.get(code="37"), Province.objects.get(code="33")
    make_licence(make_manufacturer(shandong, 1001), 1001, products=3)
    make_licence(make_manufacturer(zhejiang, 2001), 2001, products=2)


def _attachment(relative="returns/1/37/scan.pdf", content=b"%PDF-1.4 stamped scan"):
    path = settings.PRIVATE_MEDIA_ROOT / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _backup(directory):
    call_command("backup", directory=directory, stdout=io.StringIO())
    (path,) = directory.glob("licences-*.tar")
    return path


def test_restore_brings_back_every_row_and_attachment(tmp_path):
    _register()
    scan = _attachment()
    before = _counts()
    backup = _backup(tmp_path / "backups")

    # Everything changes after the backup: a licence deleted, a manufacturer added, the scan lost.
    Licence.objects.filter(number__startswith="鲁").delete()
    make_manufacturer(Province.objects.get(code="33"), 2002)
    scan.unlink()
    assert _counts() != before

    call_command("restore", str(backup), force=True, stdout=io.StringIO())

    assert _counts() == before
    assert Licence.objects.filter(number__startswith="鲁").exists()
    assert LicensedProduct.objects.count() == 5
    assert Manufacturer.objects.count() == 2
    assert scan.read_bytes() == b"%PDF-1.4 stamped scan"


def test_the_backup_records_each_table_count_and_skips_export_files(tmp_path):
    _register()
    _attachment()
    _attachment("exports/national.csv", b"made again on request")
    backup = _backup(tmp_path / "backups")

    with tarfile.open(backup) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["vendor"] == connection.vendor
    assert manifest["tables"] == _counts()
    assert manifest["tables"][Licence._meta.db_table] == 2
    assert "private-media/returns/1/37/scan.pdf" in names
    assert not [name for name in names if "exports" in name]
    assert backup.stat().st_mode & 0o077 == 0  # personal data: its owner's only


def test_restore_refuses_a_database_that_holds_data_unless_forced(tmp_path):
    _register()
    backup = _backup(tmp_path / "backups")
    make_manufacturer(Province.objects.get(code="37"), 1002)
    changed = _counts()

    with pytest.raises(CommandError, match="already hold data"):
        call_command("restore", str(backup))

    assert _counts() == changed


def test_restore_refuses_a_backup_of_the_other_database_kind(tmp_path):
    _register()
    backup = _backup(tmp_path / "backups")
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    forged = tmp_path / "forged.tar"
    with tarfile.open(backup) as source, tarfile.open(forged, "w") as target:
        manifest = json.load(source.extractfile("manifest.json"))
        manifest["vendor"] = other
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        target.addfile(info, io.BytesIO(data))
    before = _counts()

    with pytest.raises(CommandError, match=f"backup of a {other} database"):
        call_command("restore", str(forged), force=True)

    assert _counts() == before
