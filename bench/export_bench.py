"""Benchmark of the register exports (issue 9) on the national register.

Each scenario runs in a fresh process on a copy of the benchmark register (never the register
itself: a background export writes its job row), through Django's test client as the user who
exports, with production settings:

- the export view (the changelist's Export button, no filter) as 浙江's clerk: the whole
  province, 41,637 licences with 125,000 products;
- the export action after "select all" across the pages, as 浙江's clerk, and as the reviewer
  on the list filtered to 浙江;
- the reviewer's national export (333,430 licences, 1,000,000 products): the request that
  creates the background job, then the job itself (`run_export_job`, run in-process here so
  that its queries and memory are measured).

Printed per scenario: HTTP status, seconds, peak RSS of the process (resource.getrusage),
queries executed, the seconds spent executing them, bytes and rows of the file. The exit
status is 0 whatever the figures (a benchmark, not a test).

    make bench-export BENCH_ARGS="…", or
    python bench/export_bench.py [--database-url URL] [--project DIR] [--only NAME,...]
                                 [--timeout SECONDS]

``--project`` runs the scenarios against another checkout (e.g. the code before the change).
"""

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/licences_bench_export"
ZHEJIANG, REVIEWER = "bench_zhejiang", "bench_reviewer"
ZHEJIANG_FILTER = "?province__id__exact={zhejiang_id}"

# name: (user, model, how, format, query string)
SCENARIOS = {
    "zj-view-csv": (ZHEJIANG, "licence", "view", "csv", ""),
    "zj-view-xlsx": (ZHEJIANG, "licence", "view", "xlsx", ""),
    "zj-action-csv": (ZHEJIANG, "licence", "select-all", "csv", ""),
    "zj-action-xlsx": (ZHEJIANG, "licence", "select-all", "xlsx", ""),
    "rv-zj-action-csv": (REVIEWER, "licence", "select-all", "csv", ZHEJIANG_FILTER),
    "zj-manufacturers-csv": (ZHEJIANG, "manufacturer", "view", "csv", ""),
    "national-csv": (REVIEWER, "licence", "view", "csv", ""),
    "national-xlsx": (REVIEWER, "licence", "view", "xlsx", ""),
    "national-manufacturers-xlsx": (REVIEWER, "manufacturer", "view", "xlsx", ""),
}

ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-not-a-secret",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "PUBLIC_RATE_LIMIT": "off",
}


class QueryMeter:
    """Counts the queries executed on the connection and the seconds their execution took."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _consume(response, path: Path) -> int:
    """Write the response's body to ``path`` as a browser would; its size in bytes."""
    size = 0
    with path.open("wb") as out:
        chunks = response.streaming_content if response.streaming else [response.content]
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
    response.close()
    return size


def _rows(path: Path, file_format: str) -> int:
    if file_format == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return sum(1 for _row in csv.reader(handle)) - 1
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    return sum(1 for _row in workbook.active.iter_rows(values_only=True)) - 1


def _form_data(model_admin, file_format: str) -> dict:
    from licensing.exports import SafeCSV, SafeXLSX

    formats = model_admin.get_export_formats()
    wanted = SafeCSV if file_format == "csv" else SafeXLSX
    (resource_class,) = model_admin.get_export_resource_classes(None)
    data = {"resource": "0", "format": str(formats.index(wanted))}
    for field in resource_class().get_export_order():
        data[f"{resource_class.__name__.lower()}_{field}"] = "on"
    return data


def run_scenario(name: str, out_dir: Path) -> dict:
    """One scenario in this process (Django set up on the benchmark database)."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib import admin
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from licensing.models import Licence, Manufacturer, Province

    override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()
    try:  # the code after the change: the background job is run below, in this process
        from licensing import export_jobs

        export_jobs.launch = lambda pk: None
    except ImportError:
        export_jobs = None

    username, model_name, how, file_format, query = SCENARIOS[name]
    model = {"licence": Licence, "manufacturer": Manufacturer}[model_name]
    model_admin = admin.site._registry[model]
    query = query.format(zhejiang_id=Province.objects.get(code="33").pk)
    user = model_admin.model._meta.apps.get_model(settings.AUTH_USER_MODEL).objects.get(
        username=username
    )
    client = Client()
    client.force_login(user)
    changelist = f"/admin/licensing/{model_name}/{query}"
    export_url = f"/admin/licensing/{model_name}/export/{query}"
    form = _form_data(model_admin, file_format)
    result = {"scenario": name, "baseline_mb": round(_peak_rss_mb())}
    meter = QueryMeter()
    started = time.perf_counter()
    with connection.execute_wrapper(meter):
        if how == "select-all":
            first_page = list(
                model_admin.get_queryset(_request(user)).values_list("pk", flat=True)[:50]
            )
            response = client.post(
                changelist,
                {
                    "action": "export_admin_action",
                    "select_across": "1",
                    "index": "0",
                    "_selected_action": [str(pk) for pk in first_page],
                },
            )
            if response.status_code == 302:  # to the export page, with the list's filters
                export_url = response["Location"]
                response = client.post(export_url, form)
            elif response.status_code == 200:  # the export page, every id a hidden field
                ids = re.findall(rb'name="export_items" value="(\d+)"', response.content)
                result["ids_posted"] = len(ids)
                response = client.post(
                    export_url, {**form, "export_items": [pk.decode() for pk in ids]}
                )
        else:
            response = client.post(export_url, form)
        result["status"] = response.status_code
        path = out_dir / f"{name}.{file_format}"
        if response.status_code == 200:
            result["bytes"] = _consume(response, path)
        elif response.status_code == 302 and export_jobs is not None:
            result["redirect"] = response["Location"]
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["queries"] = meter.count
    result["sql_seconds"] = round(meter.seconds, 2)
    result["peak_mb"] = round(_peak_rss_mb())
    if result.get("redirect") and export_jobs is not None:
        result.update(_run_job(user, out_dir, name, file_format))
    if path.exists():
        result["rows"] = _rows(path, file_format)
    return result


def _request(user):
    from django.http import HttpRequest

    request = HttpRequest()
    request.user = user
    return request


def _run_job(user, out_dir: Path, name: str, file_format: str) -> dict:
    """The background job the request created, run here: its own figures."""
    import shutil

    from django.core.management import call_command
    from django.db import connection

    from licensing.models import ExportJob

    job = ExportJob.objects.filter(created_by=user).latest("created_at")
    meter = QueryMeter()
    started = time.perf_counter()
    with connection.execute_wrapper(meter):
        call_command("run_export_job", str(job.pk))
    job.refresh_from_db()
    figures = {
        "job": job.pk,
        "job_status": job.status,
        "job_seconds": round(time.perf_counter() - started, 2),
        "job_queries": meter.count,
        "job_sql_seconds": round(meter.seconds, 2),
        "job_peak_mb": round(_peak_rss_mb()),
        "job_rows_done": job.rows_done,
        "job_rows_total": job.rows_total,
    }
    if job.file:
        with job.file.open("rb") as source, (out_dir / f"{name}.{file_format}").open("wb") as out:
            shutil.copyfileobj(source, out)
        figures["bytes"] = job.file.size
    job.file.delete(save=False)
    job.delete()
    return figures


def ensure_copy(url: str) -> None:
    """The copy at ``url`` of the national register (built or reused as for bench-reports),
    made with CREATE DATABASE … TEMPLATE if it does not exist yet."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import national_register

    source = national_register.default_url(national_register.DEFAULT_PRODUCTS)
    copy = national_register.database_name(url)
    with national_register._connect(source, "postgres") as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [copy]
        ).fetchone()
    if exists:
        return
    national_register.ensure_register(source, national_register.DEFAULT_PRODUCTS)
    print(f"Copying {national_register.database_name(source)} to {copy} …", flush=True)
    with national_register._connect(source, "postgres") as connection:
        connection.execute(
            f'CREATE DATABASE "{copy}" TEMPLATE "{national_register.database_name(source)}"'
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--project", default=str(ROOT), help="the checkout to measure")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per scenario")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.scenario:
        print(json.dumps(run_scenario(options.scenario, Path(options.out))))
        return
    if options.database_url == DEFAULT_URL:
        ensure_copy(options.database_url)
    names = options.only.split(",") if options.only else list(SCENARIOS)
    project = Path(options.project).resolve()
    out_dir = Path(tempfile.mkdtemp(prefix="export-bench-"))
    env = {
        **os.environ,
        **ENV,
        "DATABASE_URL": options.database_url,
        "PYTHONPATH": str(project),
        "PRIVATE_MEDIA_ROOT": str(out_dir / "private"),
    }
    print(f"Export benchmark: {project} on {options.database_url}, {os.cpu_count()} CPUs")
    for name in names:
        started = time.perf_counter()
        try:
            completed = subprocess.run(  # noqa: S603 (this interpreter, this script)
                [sys.executable, __file__, "--scenario", name, "--out", str(out_dir)],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=options.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(json.dumps({"scenario": name, "stopped_after_s": options.timeout}))
            continue
        lines = completed.stdout.strip().splitlines()
        if completed.returncode or not lines:
            tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
            print(json.dumps({"scenario": name, "error": tail}))
            continue
        figures = json.loads(lines[-1])
        figures["wall_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(figures, ensure_ascii=False))
        for path in out_dir.glob(f"{name}.*"):
            path.unlink()


if __name__ == "__main__":
    main()
