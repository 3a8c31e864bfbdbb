"""The background exports' pages in the permission matrix: a job's progress page and its file.

A job and its file are its owner's alone: anyone else gets 404, as for an id that does not
exist, whatever their role (a reviewer included); a provincial user's file holds its own
province only. Both pages only read, and refuse POST (405).
"""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from licensing.models import ExportJob, ExportJobStatus
from tests.dbstate import Writes
from tests.matrix import OTHER, Case, login_redirect, sign_in
from tests.test_permission_matrix import PERSONAS, PROVINCE_OF

URLS = {  # URL name: the list it belongs to
    "admin:licensing_licence_export_job": "licence",
    "admin:licensing_licence_export_job_download": "licence",
    "admin:licensing_manufacturer_export_job": "manufacturer",
    "admin:licensing_manufacturer_export_job_download": "manufacturer",
}
# Whose job a persona asks for as "other": someone else's with the same rights.
OTHER_OWNER = {
    "shandong_admin": "zhejiang_clerk",
    "zhejiang_clerk": "shandong_admin",
    "reviewer": "shandong_admin",
    "anonymous": "shandong_admin",
}
MARKER = {"licence": lambda licence: licence.number, "manufacturer": lambda obj: obj.name}


def _cases() -> list[Case]:
    cases = []
    for url, model in URLS.items():
        for persona in PERSONAS:
            owners = ["own", "other"] if persona != "anonymous" else ["other"]
            for owner in owners:
                cases.append(Case(url, "GET", persona, model, None, owner))
            cases.append(Case(url, "POST", persona, model, None, owners[0]))
    return cases


MATRIX_CASES = _cases()


def _job(request, owner: str, model: str) -> ExportJob:
    """A finished export of ``model``'s whole list by ``owner``, written as the job writes it."""
    job = ExportJob.objects.create(
        created_by=request.getfixturevalue(owner),
        model=model,
        resource={"licence": "LicenceResource", "manufacturer": "ManufacturerResource"}[model],
        file_format="csv",
        language="zh-hans",
        file_name=f"{model}.csv",
    )
    call_command("run_export_job", str(job.pk), stdout=io.StringIO())
    job.refresh_from_db()
    assert job.status == ExportJobStatus.DONE
    return job


@pytest.mark.parametrize("case", MATRIX_CASES, ids=[case.id for case in MATRIX_CASES])
def test_export_job_url(client, request, matrix, settings, tmp_path, case):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    owner = case.persona if case.variant == "own" else OTHER_OWNER[case.persona]
    job = _job(request, owner, case.model)
    url = reverse(case.url, args=[job.pk])
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(url) if case.method == "POST" else client.get(url)
    assert writes.all() == set(), case
    if case.persona == "anonymous":
        assert login_redirect(response), case
        return
    if case.method == "POST":
        assert response.status_code == 405, case
        return
    if case.variant == "other":
        assert response.status_code == 404, case
        return
    assert response.status_code == 200, case
    if not case.url.endswith("_download"):
        assert job.file_name in response.content.decode(), case
        return
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    province = PROVINCE_OF[case.persona]
    own, other = (province, OTHER[province]) if province else ("37", "33")
    marker = MARKER[case.model]
    assert marker(matrix[own][case.model]) in text, case
    assert (marker(matrix[other][case.model]) in text) is (province is None), case
