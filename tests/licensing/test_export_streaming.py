"""The register exports streamed (issue 9): same file as before, any size, "select all" by filter.

tests/licensing/test_export.py is the spec of the file (columns, scope, formulae); here: the
streamed file is the library's export byte for byte, a constant number of queries whatever the
size, "select all" across pages without ids, and exports larger than a request should write
made by a background job that only its owner sees.
"""

import csv
import io
import os
from datetime import date, timedelta

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from licensing import export_jobs, exports
from licensing.exports import LicenceResource, ManufacturerResource, SafeCSV, SafeXLSX
from licensing.factories import credit_code, licence_number, make_licence, make_manufacturer
from licensing.models import (
    ExportJob,
    ExportJobStatus,
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
)
from tests.conftest import make_user
from tests.licensing.test_export import (
    FORMULAE,
    body,
    changelist_url,
    column,
    csv_rows,
    export_form_data,
    export_url,
    post_export,
    rows_of,
    verbose,
    xlsx_rows,
)

MODELS = {"licence": Licence, "manufacturer": Manufacturer}
RESOURCES = {"licence": LicenceResource, "manufacturer": ManufacturerResource}


def bulk_register(province, count, *, start=0, products=1, status=LicenceStatus.VALID):
    """``count`` licences of ``province``, each of its own manufacturer, written in bulk."""
    seeds = range(start, start + count)
    manufacturers = Manufacturer.objects.bulk_create(
        Manufacturer(
            name=f"{province.name[:2]}批量计量仪器有限公司{seed}",
            credit_code=credit_code(seed, region=f"{province.code}0100"),
            province=province,
            address=f"{province.name}某路{seed}号",
        )
        for seed in seeds
    )
    licences = Licence.objects.bulk_create(
        Licence(
            number=licence_number(province, seed),
            manufacturer=manufacturer,
            province=province,
            issuing_authority=f"{province.name}质量技术监督局",
            accepted_on=date(2015, 1, 1),
            issued_on=date(2015, 2, 1) + timedelta(days=seed % 300),
            expires_on=date(2018, 2, 1),
            status=status,
        )
        for seed, manufacturer in zip(seeds, manufacturers, strict=True)
    )
    categories = list(InstrumentCategory.objects.order_by("sort_order")[:products])
    LicensedProduct.objects.bulk_create(
        LicensedProduct(
            licence=licence,
            category=category,
            product_name=category.name,
            model_spec=f"BK-{licence.pk}",
        )
        for licence in licences
        for category in categories
    )
    return licences


def select_all(client, model_name, query="", page_ids=None):
    """The changelist's action form after "select all N" across the pages.

    The boxes of the page are ticked (the admin offers "select all" only then): by default
    the first rows of the table.
    """
    if page_ids is None:
        page_ids = MODELS[model_name].objects.order_by("pk").values_list("pk", flat=True)[:50]
    return client.post(
        changelist_url(model_name) + query,
        {
            "action": "export_admin_action",
            "select_across": "1",
            "index": "0",
            "_selected_action": [str(pk) for pk in page_ids],
        },
    )


@pytest.fixture
def run_jobs_here(monkeypatch, settings, tmp_path, django_capture_on_commit_callbacks):
    """Background jobs run in this process, at once, with their files under tmp_path."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    monkeypatch.setattr(
        export_jobs,
        "launch",
        lambda pk: call_command("run_export_job", str(pk), stdout=io.StringIO()),
    )

    def request(send):
        with django_capture_on_commit_callbacks(execute=True):
            return send()

    return request


# --- The same file as the library wrote --------------------------------------------------


@pytest.fixture
def varied_register(shandong, zhejiang):
    """Licences with every kind of value: no products, several categories, dates missing,
    formula-like and carriage-return text, every status and level."""
    licences = []
    statuses, levels = list(LicenceStatus), list(IssuingLevel)
    for seed, text in enumerate(
        [*FORMULAE, "甲\x0b乙", "普通\r\n两行", "济南计量仪器厂"], start=800
    ):
        manufacturer = make_manufacturer(
            shandong, seed, name=text, address=text, contact_phone=text
        )
        licences.append(
            make_licence(
                manufacturer,
                seed,
                products=seed % 4,
                status=statuses[seed % len(statuses)],
                issuing_level=levels[seed % len(levels)],
                accepted_on=None if seed % 3 == 0 else date(2014, 12, 1),
                issuing_authority=text,
            )
        )
    make_licence(make_manufacturer(zhejiang, 890), 890, products=3)
    return licences


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
def test_streamed_rows_are_the_library_export_rows(varied_register, model_name):
    queryset = MODELS[model_name].objects.order_by("pk")
    resource = RESOURCES[model_name]()
    dataset = resource.export(queryset=queryset)
    assert list(resource.export_rows(queryset)) == [list(row) for row in dataset]
    assert resource.get_export_headers() == dataset.headers


def test_streamed_rows_of_chosen_columns_are_the_library_export_rows(varied_register):
    queryset = Licence.objects.order_by("-issued_on", "number")
    resource = LicenceResource()
    chosen = ["products", "status", "number"]
    dataset = resource.export(queryset=queryset, export_fields=chosen)
    assert list(resource.export_rows(queryset, chosen)) == [list(row) for row in dataset]


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
def test_csv_export_is_byte_for_byte_the_library_export(
    client, shandong_admin, varied_register, model_name
):
    client.force_login(shandong_admin)
    response = post_export(client, model_name, SafeCSV)
    ordering = {"licence": ["-issued_on", "number"], "manufacturer": ["name", "-pk"]}[model_name]
    queryset = MODELS[model_name].objects.for_user(shandong_admin).order_by(*ordering)
    dataset = RESOURCES[model_name]().export(queryset=queryset)
    assert body(response) == SafeCSV().export_data(dataset).encode("utf-8-sig")
    assert response.streaming


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
def test_xlsx_export_has_the_library_export_cells(
    client, shandong_admin, varied_register, model_name
):
    client.force_login(shandong_admin)
    rows = xlsx_rows(post_export(client, model_name, SafeXLSX))
    ordering = {"licence": ["-issued_on", "number"], "manufacturer": ["name", "-pk"]}[model_name]
    queryset = MODELS[model_name].objects.for_user(shandong_admin).order_by(*ordering)
    dataset = RESOURCES[model_name]().export(queryset=queryset)
    library = openpyxl.load_workbook(io.BytesIO(SafeXLSX().export_data(dataset))).active
    assert rows == [[cell.value for cell in row] for row in library.iter_rows()]
    assert "普通\r\n两行" in {value for row in rows for value in row}  # CR kept as written


def test_export_of_a_category_lists_every_product_of_each_licence(client, shandong_admin, shandong):
    licence = make_licence(make_manufacturer(shandong, 31), 31, products=3)
    category = licence.products.first().category
    client.force_login(shandong_admin)
    query = f"?products__category__id__exact={category.pk}"
    response = client.post(export_url("licence") + query, export_form_data("licence", SafeCSV))
    (row,) = csv_rows(response)[1:]
    assert len(row[10].split("；")) == 3


def test_sorting_the_list_by_product_count_exports_in_the_list_order(
    client, shandong_admin, shandong
):
    first = make_licence(make_manufacturer(shandong, 41), 41, products=1)
    second = make_licence(make_manufacturer(shandong, 42), 42, products=3)
    client.force_login(shandong_admin)
    # o=8: the products column (after the checkbox); the export leaves the count out.
    response = client.post(export_url("licence") + "?o=-8.2", export_form_data("licence", SafeCSV))
    numbers = column(csv_rows(response), verbose(Licence, "number"))
    assert sorted(numbers) == sorted([first.number, second.number])


def test_the_list_order_chosen_by_the_user_is_the_file_order(client, shandong_admin, shandong):
    licences = [make_licence(make_manufacturer(shandong, seed), seed) for seed in (51, 52, 53)]
    client.force_login(shandong_admin)
    response = client.post(export_url("licence") + "?o=1", export_form_data("licence", SafeCSV))
    numbers = column(csv_rows(response), verbose(Licence, "number"))
    assert numbers == sorted(licence.number for licence in licences)


# --- Constant queries ------------------------------------------------------------------------


def export_queries(client, model_name, format_class, how):
    """Queries of one export, its file read to the end (a stream queries while it is read)."""
    with CaptureQueriesContext(connection) as queries:
        if how == "select-all":
            page = select_all(client, model_name)
            assert page.status_code == 302
            response = client.post(page["Location"], export_form_data(model_name, format_class))
        else:
            response = client.post(
                export_url(model_name), export_form_data(model_name, format_class)
            )
        assert response.status_code == 200
        rows = rows_of(response, format_class)
    return len(queries), len(rows) - 1


@pytest.mark.parametrize("how", ["view", "select-all"])
@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_export_makes_as_many_queries_for_300_licences_as_for_5(
    client, shandong_admin, shandong, monkeypatch, model_name, format_class, how
):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 40)  # several chunks of the cursor
    bulk_register(shandong, 5, products=2)
    client.force_login(shandong_admin)
    few, rows = export_queries(client, model_name, format_class, how)
    assert rows == 5

    bulk_register(shandong, 295, start=5, products=3)
    many, rows = export_queries(client, model_name, format_class, how)
    assert rows == 300
    assert many == few


# --- "Select all" across the pages -------------------------------------------------------------


def test_select_all_leads_to_the_export_page_with_the_list_filters_and_no_ids(
    client, shandong_admin, shandong
):
    valid = bulk_register(shandong, 60)  # more than a page (50)
    cancelled = bulk_register(shandong, 3, start=100, status=LicenceStatus.CANCELLED)
    client.force_login(shandong_admin)
    query = "?status__exact=valid"
    response = select_all(client, "licence", query, page_ids=[licence.pk for licence in valid[:50]])
    assert response.status_code == 302
    assert response["Location"] == export_url("licence") + query

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'name="export_items"' not in page.content.decode()
    assert page.context["export_total"] == 60

    data = export_form_data("licence", SafeCSV)
    assert "export_items" not in data
    numbers = column(csv_rows(client.post(response["Location"], data)), verbose(Licence, "number"))
    assert sorted(numbers) == sorted(licence.number for licence in valid)
    assert not {licence.number for licence in cancelled} & set(numbers)


def test_select_all_of_more_than_1000_licences_exports_them_all(client, zhejiang_clerk, zhejiang):
    licences = bulk_register(zhejiang, 1050)
    client.force_login(zhejiang_clerk)
    response = select_all(client, "licence", page_ids=[licence.pk for licence in licences[:50]])
    assert response.status_code == 302  # not the page with 1,050 hidden ids, which posted back
    export = client.post(response["Location"], export_form_data("licence", SafeCSV))
    assert export.status_code == 200  # was HTTP 400: Django's 1,000-field limit
    assert len(csv_rows(export)) == 1051


def test_a_provincial_select_all_exports_only_its_province_whatever_the_filter(
    client, zhejiang_clerk, zhejiang, shandong
):
    own = bulk_register(zhejiang, 3)
    bulk_register(shandong, 3, start=10)
    client.force_login(zhejiang_clerk)
    exported = {}
    for query in ("", f"?province__id__exact={shandong.pk}"):
        response = select_all(client, "licence", query)
        export = client.post(response["Location"], export_form_data("licence", SafeCSV))
        exported[query] = set(column(csv_rows(export), verbose(Licence, "number")))
        assert exported[query] <= {licence.number for licence in own}, query
    assert exported[""] == {licence.number for licence in own}


def test_the_export_action_keeps_its_chinese_label(client, shandong_admin):
    client.force_login(shandong_admin)
    response = client.get(changelist_url("licence"))
    choices = dict(response.context["action_form"].fields["action"].choices)
    assert choices["export_admin_action"] == "导出选中的许可证"


def test_a_selection_on_one_page_still_posts_its_ids(client, shandong_admin, shandong):
    wanted, other = bulk_register(shandong, 2)
    client.force_login(shandong_admin)
    response = client.post(
        changelist_url("licence"),
        {"action": "export_admin_action", "index": "0", "_selected_action": [wanted.pk]},
    )
    assert response.status_code == 200
    assert f'name="export_items" value="{wanted.pk}"' in response.content.decode()
    export = post_export(client, "licence", SafeCSV, export_items=[wanted.pk])
    assert column(csv_rows(export), verbose(Licence, "number")) == [wanted.number]


# --- Background jobs ---------------------------------------------------------------------------


def job_url(model_name, job, kind="export_job"):
    return reverse(f"admin:licensing_{model_name}_{kind}", args=[job.pk])


@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_an_export_over_the_threshold_is_written_by_a_job_with_the_same_file(
    client, shandong_admin, shandong, settings, run_jobs_here, format_class
):
    bulk_register(shandong, 12, products=2)
    client.force_login(shandong_admin)
    inline = post_export(client, "licence", format_class)

    settings.EXPORT_BACKGROUND_ROWS = 10
    response = run_jobs_here(
        lambda: client.post(export_url("licence"), export_form_data("licence", format_class))
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url("licence", job)
    assert (job.created_by, job.status, job.rows_total, job.rows_done) == (
        shandong_admin,
        ExportJobStatus.DONE,
        12,
        12,
    )

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'http-equiv="refresh"' not in page.content.decode()
    download = client.get(job_url("licence", job, "export_job_download"))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert {"no-store", "private"} <= {
        part.strip() for part in download["Cache-Control"].split(",")
    }
    if format_class is SafeCSV:
        assert body(download) == body(inline)
    else:
        assert xlsx_rows(download) == xlsx_rows(inline)


def test_the_export_page_says_a_large_export_runs_in_the_background(
    client, reviewer, shandong, settings
):
    bulk_register(shandong, 3)
    settings.EXPORT_BACKGROUND_ROWS = 2
    client.force_login(reviewer)
    page = client.get(export_url("licence"))
    assert page.context["export_total"] == 3
    assert page.context["export_in_background"] is True


def test_a_job_keeps_the_list_filters_and_the_owners_province(
    client, zhejiang_clerk, zhejiang, shandong, settings, run_jobs_here
):
    own = bulk_register(zhejiang, 4)
    bulk_register(zhejiang, 2, start=20, status=LicenceStatus.CANCELLED)
    bulk_register(shandong, 5, start=40)
    settings.EXPORT_BACKGROUND_ROWS = 1
    client.force_login(zhejiang_clerk)
    page = select_all(client, "licence", "?status__exact=valid")
    response = run_jobs_here(
        lambda: client.post(page["Location"], export_form_data("licence", SafeCSV))
    )
    job = ExportJob.objects.get()
    assert response["Location"] == job_url("licence", job)
    assert job.query_string == "status__exact=valid"
    download = client.get(job_url("licence", job, "export_job_download"))
    numbers = column(csv_rows(download), verbose(Licence, "number"))
    assert sorted(numbers) == sorted(licence.number for licence in own)


def test_the_same_export_asked_again_while_it_runs_is_the_same_job(
    client, shandong_admin, shandong, settings, monkeypatch
):
    started = []
    monkeypatch.setattr(export_jobs, "launch", started.append)
    bulk_register(shandong, 3)
    settings.EXPORT_BACKGROUND_ROWS = 1
    client.force_login(shandong_admin)
    data = export_form_data("licence", SafeCSV)
    first = client.post(export_url("licence"), data)
    second = client.post(export_url("licence"), data)
    assert first["Location"] == second["Location"]
    assert ExportJob.objects.count() == 1
    job = ExportJob.objects.get()
    page = client.get(job_url("licence", job))
    assert page.context["running"] is True
    assert '<meta http-equiv="refresh"' in page.content.decode()
    assert client.get(job_url("licence", job, "export_job_download")).status_code == 404


def make_job(user, *, model="licence", status=ExportJobStatus.PENDING, **fields):
    defaults = {
        "model": model,
        "resource": RESOURCES[model].__name__,
        "file_format": "csv",
        "language": "zh-hans",
        "file_name": "Licence-2026-01-01.csv",
    }
    return ExportJob.objects.create(created_by=user, status=status, **{**defaults, **fields})


def test_a_running_job_shows_its_progress_and_refreshes(client, reviewer):
    job = make_job(reviewer, status=ExportJobStatus.RUNNING, rows_total=333430, rows_done=120000)
    client.force_login(reviewer)
    page = client.get(job_url("licence", job))
    html = page.content.decode()
    assert '<meta http-equiv="refresh" content="5">' in html
    assert '<progress max="333430" value="120000">' in html
    assert "120000" in html and "333430" in html and "35%" in html


def test_a_job_that_stopped_moving_says_it_stopped(client, reviewer):
    job = make_job(reviewer, status=ExportJobStatus.RUNNING, rows_total=10, rows_done=5)
    ExportJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - export_jobs.STALLED_AFTER - timedelta(minutes=1)
    )
    client.force_login(reviewer)
    page = client.get(job_url("licence", job))
    assert page.context["stalled"] is True
    assert 'http-equiv="refresh"' not in page.content.decode()
    assert 'data-status="stalled"' in page.content.decode()


def test_the_job_reports_its_progress_every_so_many_rows(
    shandong_admin, shandong, settings, tmp_path, monkeypatch
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    monkeypatch.setattr(export_jobs, "PROGRESS_ROWS", 2)
    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)  # progress written while the cursor is open
    bulk_register(shandong, 5)
    job = make_job(shandong_admin, rows_total=5)
    with CaptureQueriesContext(connection) as queries:
        call_command("run_export_job", str(job.pk), stdout=io.StringIO())
    progress = [
        query["sql"]
        for query in queries
        if query["sql"].startswith("UPDATE") and "rows_done" in query["sql"]
    ]
    assert len(progress) == 2 + 1  # after rows 2 and 4, then done
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (ExportJobStatus.DONE, 5)


def test_a_job_that_fails_says_so_and_leaves_no_file(client, shandong_admin, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    job = make_job(shandong_admin, file_format="pdf")
    with pytest.raises(CommandError):
        call_command("run_export_job", str(job.pk), stdout=io.StringIO())
    job.refresh_from_db()
    assert job.status == ExportJobStatus.FAILED
    assert not job.file
    assert list(tmp_path.rglob("*.*")) == []
    client.force_login(shandong_admin)
    page = client.get(job_url("licence", job))
    assert 'data-status="failed"' in page.content.decode()
    assert client.get(job_url("licence", job, "export_job_download")).status_code == 404


def test_a_job_runs_once(shandong_admin, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    job = make_job(shandong_admin)
    call_command("run_export_job", str(job.pk), stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("run_export_job", str(job.pk), stdout=io.StringIO())


def test_a_job_of_a_user_who_lost_the_export_permission_fails(shandong, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    viewer = make_user("sd_no_export", province=shandong)
    job = make_job(viewer)
    with pytest.raises(CommandError):
        call_command("run_export_job", str(job.pk), stdout=io.StringIO())
    job.refresh_from_db()
    assert job.status == ExportJobStatus.FAILED


@pytest.mark.parametrize("other", ["zhejiang_clerk", "reviewer"])
def test_another_users_job_and_file_are_404(
    client, request, shandong_admin, shandong, settings, tmp_path, other
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    bulk_register(shandong, 2)
    job = make_job(shandong_admin)
    call_command("run_export_job", str(job.pk), stdout=io.StringIO())
    client.force_login(request.getfixturevalue(other))
    assert client.get(job_url("licence", job)).status_code == 404
    assert client.get(job_url("licence", job, "export_job_download")).status_code == 404
    # Nor through the other list's URLs.
    client.force_login(shandong_admin)
    assert client.get(job_url("manufacturer", job)).status_code == 404
    assert client.get(job_url("licence", job, "export_job_download")).status_code == 200


def test_the_export_page_lists_the_users_own_recent_jobs(client, shandong_admin, reviewer):
    own = make_job(shandong_admin, file_name="mine.csv")
    make_job(reviewer, file_name="theirs.csv")
    client.force_login(shandong_admin)
    html = client.get(export_url("licence")).content.decode()
    assert job_url("licence", own) in html
    assert "mine.csv" in html and "theirs.csv" not in html


def test_launch_starts_the_command_in_a_session_of_its_own(monkeypatch):
    calls = []

    class FakeProcess:
        def __init__(self, args, **kwargs):
            calls.append((args, kwargs))

        def wait(self):
            return 0

    monkeypatch.setattr(export_jobs.subprocess, "Popen", FakeProcess)
    export_jobs.launch(42)
    ((args, kwargs),) = calls
    assert args[-2:] == ["run_export_job", "42"]
    assert args[1].endswith("manage.py")
    assert kwargs["start_new_session"] is True


def test_purge_deletes_old_jobs_with_their_files_and_keeps_recent_ones(
    shandong_admin, shandong, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.EXPORT_JOB_KEEP_DAYS = 7
    bulk_register(shandong, 2)
    old, recent = make_job(shandong_admin), make_job(shandong_admin)
    for job in (old, recent):
        call_command("run_export_job", str(job.pk), stdout=io.StringIO())
        job.refresh_from_db()
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    old_file, recent_file = tmp_path / old.file.name, tmp_path / recent.file.name
    orphan = tmp_path / export_jobs.FOLDER / "999.csv"
    orphan.write_bytes(b"x")
    stamp = (timezone.now() - timedelta(days=8)).timestamp()
    os.utime(orphan, (stamp, stamp))
    out = io.StringIO()
    call_command("purge_export_jobs", stdout=out)
    assert list(ExportJob.objects.all()) == [recent]
    assert not old_file.exists() and not orphan.exists()
    assert recent_file.exists()
    assert out.getvalue().strip() == "1 export jobs and 2 files deleted."


def test_export_admin_action_on_the_change_form_still_exports_that_licence(
    client, shandong_admin, shandong
):
    licence = make_licence(make_manufacturer(shandong, 61), 61)
    client.force_login(shandong_admin)
    change = reverse("admin:licensing_licence_change", args=[licence.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert page.context["show_change_form_export"] is True


def test_csv_pieces_are_cut_to_size_and_join_to_one_file(monkeypatch):
    monkeypatch.setattr(exports, "CSV_PIECE_BYTES", 3)
    rows = [["=1", "甲" * 5], ["b", None], ["c", "d"]]
    pieces = list(exports.csv_pieces(["h1", "h2"], rows))
    assert len(pieces) == 3  # the header with the first row, then a row each
    text = b"".join(pieces).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["h1", "h2"],
        ["'=1", "甲" * 5],
        ["b", ""],
        ["c", "d"],
    ]
