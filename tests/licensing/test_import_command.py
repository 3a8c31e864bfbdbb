"""python manage.py import_licences: exit statuses 0/1/2 and the --json object of DESIGN.md §4."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from licensing.models import ImportBatch, Licence, LicensedProduct, Manufacturer
from tests.licensing.test_import_service import (
    canonical_rows,
    csv_bytes,
    register_snapshot,
    with_changes,
    xlsx,
)

COUNTS_KEYS = {"created", "updated", "unchanged"}
TOP_KEYS = [
    "ok",
    "dry_run",
    "rows",
    "manufacturers",
    "licences",
    "products",
    "errors",
    "warnings",
]


def write(tmp_path, data, name="licences.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def import_licences(*args):
    """Run the command; returns (exit status, stdout, stderr) as the shell would see them."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_licences", *args, stdout=out, stderr=err)
    except CommandError as error:
        # run_from_argv prints the message to stderr and exits with error.returncode.
        err.write(str(error))
        return error.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def bad_file():
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 发证日期="2016-02-30")
    return xlsx(rows)


def test_a_good_file_is_written_and_exits_0(tmp_path, shandong):
    status, out, _err = import_licences(write(tmp_path, xlsx(canonical_rows())))

    assert status == 0
    assert Licence.objects.count() == 2
    assert LicensedProduct.objects.count() == 3
    batch = ImportBatch.objects.get()
    assert batch.created_by is None
    assert batch.file_name == "licences.xlsx"
    assert str(batch.pk) in out


def test_a_dry_run_exits_0_and_writes_nothing(tmp_path, shandong):
    status, _out, _err = import_licences(write(tmp_path, xlsx(canonical_rows())), "--dry-run")

    assert status == 0
    assert Manufacturer.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_row_errors_exit_1_and_nothing_is_written(tmp_path, shandong):
    before = register_snapshot()

    status, out, err = import_licences(write(tmp_path, bad_file()))

    assert status == 1
    assert register_snapshot() == before
    assert "4" in out and "发证日期" in out and "2016-02-30" in out
    assert err


def test_an_unreadable_file_exits_2_and_nothing_is_written(tmp_path, db):
    before = register_snapshot()

    status, _out, err = import_licences(write(tmp_path, b"\x00\x01not a spreadsheet" * 50))

    assert status == 2
    assert register_snapshot() == before
    assert err


def test_a_missing_file_exits_2(tmp_path, db):
    status, _out, err = import_licences(str(tmp_path / "nowhere.xlsx"))

    assert status == 2
    assert "nowhere.xlsx" in err


def test_json_prints_exactly_one_object_with_the_specified_keys(tmp_path, shandong):
    status, out, _err = import_licences(write(tmp_path, xlsx(canonical_rows())), "--json")

    assert status == 0
    report = json.loads(out)  # the whole of stdout is one JSON object
    assert list(report) == TOP_KEYS
    assert report["ok"] is True
    assert report["dry_run"] is False
    assert report["rows"] == 3
    for key in ("manufacturers", "licences", "products"):
        assert set(report[key]) == COUNTS_KEYS
    assert report["licences"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert report["errors"] == [] and report["warnings"] == []


def test_json_errors_give_the_excel_row_the_header_and_chinese_text_unescaped(tmp_path, shandong):
    status, out, _err = import_licences(write(tmp_path, bad_file()), "--json")

    assert status == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert [set(error) for error in report["errors"]] == [{"row", "column", "message"}]
    assert report["errors"][0]["row"] == 4
    assert report["errors"][0]["column"] == "发证日期"
    assert "2016-02-30" in report["errors"][0]["message"]
    assert "发证日期" in out  # ensure_ascii=False: no \\u escapes


def test_json_of_an_unreadable_file_has_one_error_without_row_or_column(tmp_path, db):
    status, out, _err = import_licences(write(tmp_path, b""), "--json")

    assert status == 2
    report = json.loads(out)
    assert list(report) == TOP_KEYS
    assert report["ok"] is False
    assert len(report["errors"]) == 1
    assert report["errors"][0]["row"] is None
    assert report["errors"][0]["column"] is None


def test_json_with_dry_run_says_so(tmp_path, shandong):
    status, out, _err = import_licences(
        write(tmp_path, xlsx(canonical_rows())), "--json", "--dry-run"
    )

    assert status == 0
    assert json.loads(out)["dry_run"] is True
    assert Licence.objects.count() == 0


def test_an_unknown_province_code_exits_2(tmp_path, db):
    status, out, err = import_licences(write(tmp_path, xlsx(canonical_rows())), "--province", "99")

    assert status == 2
    assert "99" in err
    assert out == ""
    assert Licence.objects.count() == 0


def test_an_unknown_user_exits_2_and_json_still_prints_one_object(tmp_path, db):
    status, out, err = import_licences(
        write(tmp_path, xlsx(canonical_rows())), "--as-user", "nobody", "--json"
    )

    assert status == 2
    assert "nobody" in err
    assert json.loads(out)["errors"][0]["row"] is None


def test_the_province_option_makes_rows_of_another_province_errors(tmp_path, zhejiang):
    status, out, _err = import_licences(
        write(tmp_path, xlsx(canonical_rows())), "--province", "33", "--json"
    )

    assert status == 1
    report = json.loads(out)
    assert {(e["row"], e["column"]) for e in report["errors"]} == {
        (2, "许可证编号"),
        (3, "许可证编号"),
        (4, "许可证编号"),
    }
    assert Licence.objects.count() == 0


def test_as_user_applies_the_users_province_scope(tmp_path, zhejiang_clerk):
    status, out, _err = import_licences(
        write(tmp_path, xlsx(canonical_rows())), "--as-user", "zj_clerk", "--json"
    )

    assert status == 1
    assert len(json.loads(out)["errors"]) == 3
    assert Licence.objects.count() == 0


def test_as_user_records_the_user_as_author(tmp_path, shandong_clerk):
    status, _out, _err = import_licences(
        write(tmp_path, xlsx(canonical_rows())), "--as-user", "sd_clerk"
    )

    assert status == 0
    assert ImportBatch.objects.get().created_by == shandong_clerk
    assert {r.history_user for r in Licence.history.all()} == {shandong_clerk}


def test_as_user_without_the_import_permission_exits_2(tmp_path, reviewer):
    status, _out, err = import_licences(
        write(tmp_path, xlsx(canonical_rows())), "--as-user", "reviewer"
    )

    assert status == 2
    assert "reviewer" in err


def test_a_gb18030_csv_is_imported_from_the_command_line(tmp_path, shandong):
    status, out, _err = import_licences(
        write(tmp_path, csv_bytes(canonical_rows()), "名单.csv"), "--json"
    )

    assert status == 0
    assert json.loads(out)["products"]["created"] == 3


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_reimporting_exits_0_and_reports_everything_unchanged(tmp_path, shandong, flag):
    path = write(tmp_path, xlsx(canonical_rows()))
    import_licences(path)

    status, out, _err = import_licences(path, *flag)

    assert status == 0
    assert ImportBatch.objects.count() == 1
    if flag:
        assert json.loads(out)["products"] == {"created": 0, "updated": 0, "unchanged": 3}
