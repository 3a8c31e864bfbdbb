"""Reopening an accepted return and reminding units: every role, with forms posted back as the
page holds them and with forged keys (the other province's return, the other province's unit,
a unit that may not be reminded, an id that does not exist).

The forms are fetched as the reviewer (only reviewers may open the review page and the status
list) and posted by each role. Where the role may not write, nothing changes at all; where it
may, only the return or unit it named changes. tests/test_permission_matrix.py sends the plain
POSTs of both, and tests/test_permission_matrix_writes.py their refused GETs.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.dbstate import Writes
from tests.htmlforms import post_form
from tests.matrix import HOME, OTHER, Case, assert_refused, sign_in
from tests.test_permission_matrix import PERSONAS, PROVINCE_OF
from verification.models import ProvincialReturn, ReturnEvent, ReturnEventAction, ReturnStatus

REOPEN_CASES = [
    Case("verification:review_reopen", "POST", persona, "provincialreturn", owner, variant)
    for persona in PERSONAS
    for owner in ("37", "33")
    for variant in ("own", "forge:return")
]
REMIND_CASES = [
    Case("verification:campaign_remind", "POST", persona, variant=variant)
    for persona in PERSONAS
    for variant in ("own", "forge:province", "forge:submitted", "forge:unknown")
]


@pytest.fixture
def accepted_returns(matrix):
    """Both provinces' returns accepted (set directly: who may accept is tested elsewhere)."""
    returns = {code: matrix[code]["provincialreturn"] for code in ("37", "33")}
    ProvincialReturn.objects.filter(pk__in=[r.pk for r in returns.values()]).update(
        status=ReturnStatus.ACCEPTED
    )
    for provincial_return in returns.values():
        provincial_return.refresh_from_db()
    return returns


@pytest.mark.parametrize("case", REOPEN_CASES, ids=[case.id for case in REOPEN_CASES])
def test_reopen(client, request, matrix, accepted_returns, reviewer, case):
    source = accepted_returns[case.owner]
    # "forge:return": the form of the owner's return, posted to the other province's return.
    target = accepted_returns[OTHER[case.owner]] if case.variant != "own" else source
    client.force_login(reviewer)
    page = client.get(reverse("verification:return_review", args=[source.pk]))
    data = post_form(page.content, form_id="reopen-form").data(reason="矩阵测试：重新审核。")
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(reverse(case.url, args=[target.pk]), data)
    province = PROVINCE_OF.get(case.persona)
    if case.persona == "anonymous" or province is not None:
        # Provincial roles: their own province's return is refused (403), another's is
        # never confirmed (404).
        assert_refused(response, case, writes, 403 if province == target.province.code else 404)
        target.refresh_from_db()
        assert target.status == ReturnStatus.ACCEPTED, case
        return
    assert response.status_code == 302, case
    target.refresh_from_db()
    assert target.status == ReturnStatus.RETURNED, case
    other = accepted_returns[OTHER[target.province.code]]
    other.refresh_from_db()
    assert other.status == ReturnStatus.ACCEPTED, case
    tables = {row[0] for row in writes.all()}
    assert tables == {"verification.provincialreturn", "verification.returnevent"}, case
    assert {pk for label, pk in writes.all() if label == "verification.provincialreturn"} == {
        target.pk
    }, case


@pytest.mark.parametrize("case", REMIND_CASES, ids=[case.id for case in REMIND_CASES])
def test_remind(client, request, matrix, reviewer, shandong_admin, case):
    campaign = matrix["37"]["provincialreturn"].campaign
    home = HOME[case.persona]
    units = {code: matrix[code]["provincialreturn"].province_id for code in ("37", "33")}
    if case.variant == "forge:submitted":
        # A unit that submitted on time may not be reminded.
        ProvincialReturn.objects.filter(pk=matrix[home]["provincialreturn"].pk).update(
            status=ReturnStatus.SUBMITTED, first_submitted_at=timezone.now()
        )
    province = {
        "own": units[home],
        "forge:province": units[OTHER[home]],
        "forge:submitted": units[home],
        "forge:unknown": 999999,
    }[case.variant]
    client.force_login(reviewer)
    page = client.get(reverse("reports:status_list", args=[campaign.pk]))
    data = post_form(page.content, form_id="remind-form").data(province=[str(province)])
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(reverse(case.url, args=[campaign.pk]), data)
    if case.persona != "reviewer":
        assert_refused(response, case, writes, 403)
        return
    assert response.status_code == 302, case
    reminded = ReturnEvent.objects.filter(action=ReturnEventAction.REMINDED)
    if case.variant in ("own", "forge:province"):
        # A reviewer is national: either unit may be reminded, and only that one is.
        assert list(reminded.values_list("province_id", flat=True)) == [province], case
        assert {row[0] for row in writes.all()} == {"verification.returnevent"}, case
    else:
        assert writes.all() == set(), case


# What the coverage test (tests/test_permission_matrix_coverage.py) counts as requested here.
MATRIX_CASES = [*REOPEN_CASES, *REMIND_CASES]
