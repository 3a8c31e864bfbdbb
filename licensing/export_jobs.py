"""Background exports: a job per export too large for a request, written by its own process.

A gunicorn worker is killed when one request takes longer than its timeout, and recycled from
time to time; the national register takes longer than a request should. So the request only
records what to export (an ExportJob) and starts ``manage.py run_export_job`` in a new session,
which neither the worker's death nor its signals reach. The job reports its progress every
PROGRESS_ROWS rows; the file goes to PRIVATE_MEDIA_ROOT and is handed out, by a view, to the
user who asked for it only. ``manage.py purge_export_jobs`` deletes old jobs and their files.
"""

import logging
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.utils import timezone, translation

from licensing.models import ExportJob, ExportJobStatus

logger = logging.getLogger(__name__)

PROGRESS_ROWS = 5000
# A pending or running job whose progress has not moved for this long has died (its process
# was killed, or never started): its page says so, and the same export may be started again.
STALLED_AFTER = timedelta(minutes=10)
ACTIVE = (ExportJobStatus.PENDING, ExportJobStatus.RUNNING)
FOLDER = "exports"


def is_stalled(job: ExportJob, *, now: datetime | None = None) -> bool:
    return job.status in ACTIVE and job.updated_at < (now or timezone.now()) - STALLED_AFTER


def export_job_start(
    *,
    model_name: str,
    resource: str,
    fields: list[str],
    query_string: str,
    file_format: str,
    file_name: str,
    rows_total: int,
    by,
) -> ExportJob:
    """Record the export and start its process once the record is committed.

    The same export, asked for again while it runs (a second click), is that job.
    """
    wanted = {
        "model": model_name,
        "resource": resource,
        "fields": fields,
        "query_string": query_string,
        "file_format": file_format,
        "language": translation.get_language(),
    }
    for job in ExportJob.objects.owned_by(by).filter(status__in=ACTIVE, model=model_name):
        same = all(getattr(job, name) == value for name, value in wanted.items())
        if same and not is_stalled(job):
            return job
    job = ExportJob.objects.create(
        created_by=by, file_name=file_name, rows_total=rows_total, **wanted
    )
    # robust: a process that cannot be started is logged; the job then shows as stopped.
    transaction.on_commit(partial(launch, job.pk), robust=True)
    return job


def launch(job_pk: int) -> None:
    """Run ``manage.py run_export_job`` in a session of its own, outliving this process."""
    process = subprocess.Popen(  # noqa: S603 (this interpreter, our manage.py, an integer)
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "run_export_job", str(job_pk)],
        cwd=settings.BASE_DIR,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Reaps it when it ends; should this process end first, init does.
    threading.Thread(target=process.wait, daemon=True).start()


def job_request(job: ExportJob) -> HttpRequest:
    """A request as the job's owner on the list with the job's filters: what the admin reads."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(job.query_string)
    request.user = job.created_by
    request.LANGUAGE_CODE = job.language
    return request


class JobRefused(Exception):
    pass


def export_job_run(*, job_pk: int) -> ExportJob:
    """Write the job's file; every PROGRESS_ROWS rows, record how far it got.

    Only a pending job runs (claimed in one UPDATE, so it never runs twice). Whatever fails is
    recorded on the job, with no partial file left behind.
    """
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_pk, status=ExportJobStatus.PENDING).update(
        status=ExportJobStatus.RUNNING, started_at=now, updated_at=now
    )
    if not claimed:
        raise JobRefused(f"Export job {job_pk} is not waiting to start.")
    job = ExportJob.objects.select_related("created_by").get(pk=job_pk)
    name = f"{FOLDER}/{job.pk}.{job.file_format}"
    storage = job.file.storage
    path = Path(storage.path(name))
    partial_path = path.with_name(path.name + ".partial")
    rows_done = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with translation.override(job.language):
            request = job_request(job)
            model_admin = _model_admin(job.model)
            file_format, headers, rows = model_admin.export_job_parts(request, job)

            def counted(rows):
                nonlocal rows_done
                for row in rows:
                    yield row
                    rows_done += 1
                    if rows_done % PROGRESS_ROWS == 0:
                        ExportJob.objects.filter(pk=job.pk).update(
                            rows_done=rows_done, updated_at=timezone.now()
                        )

            with partial_path.open("wb") as target:
                file_format.write_rows(target, headers, counted(rows))
            os.replace(partial_path, path)
    except Exception as error:
        partial_path.unlink(missing_ok=True)
        logger.exception("Export job %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJobStatus.FAILED,
            error=str(error)[:2000],
            rows_done=rows_done,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    finished = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJobStatus.DONE,
        file=name,
        rows_done=rows_done,
        rows_total=rows_done,
        finished_at=finished,
        updated_at=finished,
    )
    job.refresh_from_db()
    return job


def _model_admin(model_name: str):
    for model, model_admin in admin.site._registry.items():
        if model._meta.model_name == model_name and hasattr(model_admin, "export_job_parts"):
            return model_admin
    raise JobRefused(f"No export of {model_name!r}.")


def export_jobs_purge(*, before: datetime) -> tuple[int, int]:
    """Delete the jobs created before ``before`` with their files, and files no job names.

    Returns the number of jobs and of files deleted.
    """
    jobs = list(ExportJob.objects.filter(created_at__lt=before))
    files = 0
    for job in jobs:
        if job.file:
            job.file.delete(save=False)
            files += 1
    ExportJob.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    # Files of a job deleted with its user, or of a process killed while writing.
    folder = Path(ExportJob._meta.get_field("file").storage.path(FOLDER))
    if folder.is_dir():
        named = set(ExportJob.objects.exclude(file="").values_list("file", flat=True))
        cutoff = before.timestamp()
        for path in folder.iterdir():
            if f"{FOLDER}/{path.name}" in named or not path.is_file():
                continue
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                files += 1
    return len(jobs), files
