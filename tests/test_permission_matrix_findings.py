"""The findings' pages of a return in the permission matrix.

Whoever may open a return may open its findings' pages (a provincial user its own province's,
reviewers every one); another province's return is 404, as on the return page, and its
licences never appear. The pages only read: POST is refused with 405 before anything runs, and
nothing is written either way.
"""

import pytest
from django.urls import reverse

from tests.dbstate import Writes
from tests.matrix import Case, assert_refused, login_redirect, sign_in
from tests.test_permission_matrix import PERSONAS, PROVINCE_OF

# The page of every finding, and the page of one: "not_filed" (the world's announcements are
# not filed), which lists the return's licence.
VARIANTS = {"all": {}, "one": {"finding": "not_filed"}}
MATRIX_CASES = [
    Case("verification:return_findings", method, persona, owner=owner, variant=variant)
    for persona in PERSONAS
    for method in ("GET", "POST")
    for owner in ("37", "33")
    for variant in VARIANTS
]


@pytest.mark.parametrize("case", MATRIX_CASES, ids=[case.id for case in MATRIX_CASES])
def test_findings_page(client, request, world, case):
    provincial_return = world[case.owner]["provincialreturn"]
    url = reverse(case.url, args=[provincial_return.pk])
    query = VARIANTS[case.variant]
    sign_in(client, request, case.persona)
    writes = Writes()
    if case.method == "POST":
        response = client.post(url + ("?finding=not_filed" if query else ""), {"page": "2"})
        assert response.status_code == 405, case
        assert writes.all() == set(), case
        return
    response = client.get(url, query)
    if case.persona == "anonymous":
        assert login_redirect(response), case
        assert writes.all() == set(), case
        return
    if PROVINCE_OF[case.persona] not in (None, case.owner):
        assert_refused(response, case, writes, 404)
        return
    assert response.status_code == 200, case
    assert writes.all() == set(), case
    html = response.content.decode()
    other = "33" if case.owner == "37" else "37"
    assert world[other]["licence"].number not in html, case
    if query:
        assert world[case.owner]["licence"].number in html, case
