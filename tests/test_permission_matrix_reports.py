"""The department's board and the register statistics in the permission matrix.

The board is the department's (reviewers only); the statistics show each provincial user its
own unit and reviewers all 32. Neither page writes, and both refuse POST. The status list is in
tests/test_permission_matrix.py with the verification pages.
"""

import pytest
from django.urls import reverse

from licensing.statistics import register_counts_refresh
from tests.dbstate import Writes
from tests.matrix import Case, assert_refused, login_redirect, sign_in
from tests.test_permission_matrix import PERSONAS, PROVINCE_OF

EXPECTED = {  # (URL, GET status per persona); POST is 405 for everyone
    "reports:board": {"shandong_admin": 403, "zhejiang_clerk": 403, "reviewer": 200},
    "reports:statistics": {"shandong_admin": 200, "zhejiang_clerk": 200, "reviewer": 200},
}
MATRIX_CASES = [
    Case(url, method, persona)
    for url in EXPECTED
    for method in ("GET", "POST")
    for persona in PERSONAS
]
NAMES = {"37": "山东", "33": "浙江"}


@pytest.mark.parametrize("case", MATRIX_CASES, ids=[case.id for case in MATRIX_CASES])
def test_reports_page(client, request, matrix, case):
    register_counts_refresh()
    campaign = matrix["national"]["campaign"]
    url = reverse(case.url, args=[campaign.pk] if case.url == "reports:board" else [])
    sign_in(client, request, case.persona)
    writes = Writes()
    if case.method == "POST":
        response = client.post(url, {"measure": "products"})
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
    html = response.content.decode()
    province = PROVINCE_OF[case.persona]
    table = html.split('id="register-table"', 1)[1].split("</table>", 1)[0]
    for code, name in NAMES.items():
        assert (f'data-province="{code}"' in table) is (province in (None, code)), (case, code)
        if province not in (None, code):
            assert name not in html, (case, name)
