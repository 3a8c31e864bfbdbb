"""The public list (/public/) in the permission matrix: every role reads it, no role writes.

DESIGN.md §2: the public, without a login, sees the published list of valid licences and may
change nothing. Signed-in roles see the same pages (a provincial user sees every province's
published licences there, as anyone may); POST is refused with 405 before anything runs, and
nothing is written either way.
"""

import pytest
from django.urls import reverse

from tests.dbstate import Writes
from tests.matrix import Case, sign_in
from tests.test_permission_matrix import PERSONAS

MATRIX_CASES = [
    Case("public:licence_list", method, persona)
    for persona in PERSONAS
    for method in ("GET", "POST")
] + [
    Case("public:licence_detail", method, persona, model="licence", owner=owner)
    for persona in PERSONAS
    for method in ("GET", "POST")
    for owner in ("37", "33")
]


@pytest.mark.parametrize("case", MATRIX_CASES, ids=[case.id for case in MATRIX_CASES])
def test_public_url(client, request, world, case):
    if case.owner:
        url = reverse(case.url, args=[world[case.owner]["licence"].pk])
    else:
        url = reverse(case.url)
    sign_in(client, request, case.persona)
    writes = Writes()
    if case.method == "GET":
        response = client.get(url)
        assert response.status_code == 200, case
        if case.owner:
            assert world[case.owner]["licence"].number in response.content.decode(), case
    else:
        response = client.post(url, {"q": "x", "status": "all"})
        assert response.status_code == 405, case
    assert writes.all() == set(), case
