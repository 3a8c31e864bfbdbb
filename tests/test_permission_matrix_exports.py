"""The department's .xlsx exports in the permission matrix.

Reviewers download the national tables; a provincial user downloads its own unit's copy of
Attachments 1 and 2 and its own statistics, and the file names no other unit; the status list
is the department's alone. No export writes anything, and every one refuses POST.
"""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from licensing.models import Province
from licensing.statistics import register_counts_refresh
from tests.dbstate import Writes
from tests.matrix import Case, assert_refused, login_redirect, sign_in
from tests.test_permission_matrix import PERSONAS, PROVINCE_OF
from verification.models import Campaign

EXPECTED = {  # GET status per signed-in persona; POST is 405 for everyone
    "reports:attachment1_xlsx": {"shandong_admin": 200, "zhejiang_clerk": 200, "reviewer": 200},
    "reports:attachment2_xlsx": {"shandong_admin": 200, "zhejiang_clerk": 200, "reviewer": 200},
    "reports:status_list_xlsx": {"shandong_admin": 403, "zhejiang_clerk": 403, "reviewer": 200},
    "reports:statistics_xlsx": {"shandong_admin": 200, "zhejiang_clerk": 200, "reviewer": 200},
}
MATRIX_CASES = [
    Case(url, method, persona)
    for url in EXPECTED
    for method in ("GET", "POST")
    for persona in PERSONAS
]


def _text(content: bytes) -> str:
    workbook = load_workbook(BytesIO(content))
    return "\n".join(
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


@pytest.mark.parametrize("case", MATRIX_CASES, ids=[case.id for case in MATRIX_CASES])
def test_export(client, request, site_objects, case):
    register_counts_refresh()
    campaign = site_objects["37"][Campaign]
    url = reverse(case.url, args=[] if case.url == "reports:statistics_xlsx" else [campaign.pk])
    sign_in(client, request, case.persona)
    writes = Writes()
    if case.method == "POST":
        response = client.post(url, {"campaign": campaign.pk})
        assert response.status_code == 405, case  # refused before anything else
        assert writes.all() == set(), case
        return
    response = client.get(url)
    if case.persona == "anonymous":
        assert login_redirect(response), case
        assert writes.all() == set(), case
        return
    expected = EXPECTED[case.url][case.persona]
    if expected != 200:
        assert_refused(response, case, writes, expected)
        return
    assert response.status_code == 200, case
    assert writes.all() == set(), case
    text = _text(response.content)
    names = dict(Province.objects.values_list("code", "name"))
    own = PROVINCE_OF[case.persona]
    if own is None:
        # The national tables: both units of the world are there.
        assert names["37"] in text and names["33"] in text, case
    else:
        assert names[own] in text, case
        others = [name for code, name in names.items() if code != own and name in text]
        assert others == [], (case, others)
