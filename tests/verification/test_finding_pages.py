"""The return and review pages show the findings counted; each finding's own page lists what it
concerns a page at a time. Neither page's queries nor its size grow with the register.

Pages are requested in English, so assertions read the source messages.
"""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from licensing.factories import licence_number
from licensing.models import IssuingLevel, LicenceStatus, RegisterCount, TypeApproval
from licensing.statistics import register_counts_refresh
from tests.verification.conftest import ON_TIME
from tests.verification.test_findings import (
    ACCEPTED,
    make_clean_licence,
    make_institution,
    make_type_approval,
)
from tests.verification.test_views import complete_form
from verification.findings import compute_findings, count_by_rule
from verification.services import return_submit
from verification.workdays import add_working_days


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.LANGUAGES = [("en", "English")]
    yield
    translation.deactivate()


@pytest.fixture
def institution(shandong):
    return make_institution(shandong, "山东省计量科学研究院（测试）")


def troubled(province, institution, count, *, start=1):
    """`count` licences, each with four findings: issued at county level, 24 working days to
    the decision, cancelled without announcing it, its approval's announcement not filed."""
    for seed in range(start, start + count):
        licence = make_clean_licence(
            province,
            seed,
            institution=institution,
            issuing_level=IssuingLevel.COUNTY,
            issued_on=add_working_days(ACCEPTED, 24),
            status=LicenceStatus.CANCELLED,
        )
        licence.announcements.update(filed_on=None)


def detail_url(provincial_return):
    return reverse("verification:return_detail", args=[provincial_return.pk])


def review_url(provincial_return):
    return reverse("verification:return_review", args=[provincial_return.pk])


def findings_url(provincial_return, **query):
    url = reverse("verification:return_findings", args=[provincial_return.pk])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def text(response) -> str:
    return response.content.decode()


def register_changed(province):
    """Stamp the province's register changed, as every write path of the register does."""
    register_counts_refresh(province_ids=[province.pk])


def measured(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return response, [query["sql"] for query in captured]


def reads_the_register(queries) -> bool:
    return any("licensing_licensedproduct" in sql for sql in queries)


@pytest.fixture
def submitted_return(complete_return, shandong_admin):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True, at=ON_TIME)
    return complete_return


# --- queries and size do not grow with the register ---------------------------------------


@pytest.mark.parametrize("count", ["kept", "made", "no register count"])
@pytest.mark.parametrize("page", ["return", "review"])
def test_the_pages_make_as_many_queries_for_5_licences_with_findings_as_for_200(
    client, shandong, shandong_admin, reviewer, submitted_return, institution, page, count
):
    """ "kept": the count of the register as it is was made by an earlier view; "made": the
    register changed since; "no register count": nothing to key a kept count by."""
    user, url = {
        "return": (shandong_admin, detail_url(submitted_return)),
        "review": (reviewer, review_url(submitted_return)),
    }[page]
    client.force_login(user)

    def queries():
        if count == "no register count":
            RegisterCount.objects.filter(province=shandong).delete()
        else:
            register_changed(shandong)
        if count == "kept":
            client.get(url)
        response, queries = measured(client, url)
        assert reads_the_register(queries) is (count != "kept")
        return response, queries

    troubled(shandong, institution, 5)
    small, few = queries()
    troubled(shandong, institution, 195, start=6)
    large, many = queries()

    assert len(few) == len(many), many
    assert "5 licences issued at county level" in text(small)
    assert "200 licences issued at county level" in text(large)


def test_the_return_pages_size_does_not_grow_with_the_findings(
    client, shandong, shandong_admin, shandong_return, institution
):
    client.force_login(shandong_admin)
    troubled(shandong, institution, 3)
    register_changed(shandong)
    small = client.get(detail_url(shandong_return)).content
    troubled(shandong, institution, 297, start=4)
    register_changed(shandong)
    large = text(client.get(detail_url(shandong_return)))

    assert "300 licences issued at county level" in large
    # 1,200 findings items (four per licence), shown as counts: only the digits grew.
    assert len(large.encode()) - len(small) < 200
    assert len(large.encode()) < 150_000
    assert licence_number(shandong, 150) not in large
    assert "id__in" not in large


def test_a_finding_page_makes_as_many_queries_for_5_licences_as_for_200(
    client, shandong, shandong_admin, shandong_return, institution
):
    client.force_login(shandong_admin)
    url = findings_url(shandong_return, finding="overdue.statutory", page=2)
    troubled(shandong, institution, 5)
    register_changed(shandong)
    _small, few = measured(client, url)
    troubled(shandong, institution, 195, start=6)
    register_changed(shandong)
    large, many = measured(client, url)

    assert len(few) == len(many), many
    assert len(re.findall(r'<tr data-licence="', text(large))) == 50  # 51st to 100th


# --- the finding's page: named by its rule, exactly its licences, a page at a time ---------


def test_a_findings_link_names_the_rule_and_its_pages_list_exactly_its_licences(
    client, shandong, zhejiang, shandong_admin, shandong_return, institution
):
    county = [
        make_clean_licence(
            shandong, seed, institution=institution, issuing_level=IssuingLevel.COUNTY
        )
        for seed in range(1, 61)
    ]
    for seed in range(61, 71):
        make_clean_licence(shandong, seed, institution=institution)  # provincial: in scope
    zhejiang_institution = make_institution(zhejiang, "浙江省计量科学研究院（测试）")
    for seed in range(71, 76):
        make_clean_licence(
            zhejiang, seed, institution=zhejiang_institution, issuing_level=IssuingLevel.COUNTY
        )
    client.force_login(shandong_admin)

    page = text(client.get(detail_url(shandong_return)))
    links = re.findall(r'href="([^"]*finding=out_of_scope\.county_level[^"]*)"', page)
    assert links
    link = urlsplit(links[0])
    assert parse_qs(link.query) == {"finding": ["out_of_scope.county_level"]}  # no ids
    assert len(link.path) + len(link.query) < 80

    listed, url = [], f"{link.path}?{link.query}"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        markup = text(response)
        rows = [int(pk) for pk in re.findall(r'<tr data-licence="(\d+)"', markup)]
        assert len(rows) <= 50
        listed += rows
        following = re.search(r'<a href="([^"]+)" rel="next">', markup)
        # The pager's links keep the query but for the page: "?finding=…&page=2#licences".
        url = link.path + following.group(1).replace("&amp;", "&") if following else None
    assert listed == [licence.pk for licence in county]  # in licence-number order, each once
    assert "1–50 of 60" in text(client.get(f"{link.path}?{link.query}"))


def test_a_finding_page_gives_each_licence_its_notes(
    client, shandong, shandong_admin, shandong_return, institution
):
    licence = make_clean_licence(
        shandong, 1, institution=institution, issued_on=add_working_days(ACCEPTED, 24)
    )
    make_clean_licence(shandong, 2, institution=institution)
    client.force_login(shandong_admin)

    response = client.get(findings_url(shandong_return, finding="overdue.statutory"))

    markup = text(response)
    assert "1 licence took longer than the statutory time limit (24 working days &gt; 20)" in markup
    row = markup.split(f'<tr data-licence="{licence.pk}">', 1)[1].split("</tr>", 1)[0]
    assert licence.number in row
    assert "24 working days (limit 20)" in row
    assert reverse("admin:licensing_licence_change", args=[licence.pk]) in row


def test_an_institution_finding_lists_its_type_approvals_used_or_not(
    client, shandong, shandong_admin, shandong_return, institution
):
    local = make_institution(shandong, "青岛市计量技术研究院（测试）", uniform=False)
    licence = make_clean_licence(shandong, 1, institution=local)
    unused = make_type_approval(licence.manufacturer, "water-meter", 99, institution=local)
    client.force_login(shandong_admin)

    page = text(client.get(detail_url(shandong_return)))
    assert "List the 2 type approvals" in page
    response = client.get(
        findings_url(shandong_return, finding="unauthorised_institution.not_uniformly_authorised")
    )

    markup = text(response)
    listed = {int(pk) for pk in re.findall(r'<tr data-type-approval="(\d+)"', markup)}
    assert listed == set(
        TypeApproval.objects.filter(institution=local).values_list("pk", flat=True)
    )
    assert unused.pk in listed
    assert re.findall(r'<tr data-licence="(\d+)"', markup) == [str(licence.pk)]


def test_the_findings_page_lists_every_finding_with_its_link(
    client, shandong, reviewer, submitted_return, institution
):
    troubled(shandong, institution, 2)
    client.force_login(reviewer)

    markup = text(client.get(findings_url(submitted_return)))

    codes = re.findall(r'data-code="([^"]+)"', markup)
    expected = [
        finding.code
        for finding in compute_findings(province=shandong, campaign=submitted_return.campaign)
    ]
    assert codes == expected
    for code in expected:
        assert f"?finding={code}#licences" in markup
    assert f'href="{review_url(submitted_return)}"' in markup  # back to the reviewer's page
    review = text(client.get(review_url(submitted_return)))
    assert f'href="{findings_url(submitted_return)}" id="all-findings"' in review


def test_a_finding_the_register_no_longer_has_is_an_empty_list(
    client, shandong, shandong_admin, shandong_return, institution
):
    make_clean_licence(shandong, 1, institution=institution)
    client.force_login(shandong_admin)

    response = client.get(findings_url(shandong_return, finding="out_of_scope.county_level"))

    assert response.status_code == 200
    assert 'id="no-licences"' in text(response)


def test_an_unknown_finding_is_not_found(client, shandong_admin, shandong_return):
    client.force_login(shandong_admin)
    response = client.get(findings_url(shandong_return, finding="no_such_rule"))
    assert response.status_code == 404


@pytest.mark.parametrize("query", [{}, {"finding": "out_of_scope.county_level"}])
def test_another_provinces_user_gets_404_for_a_findings_page(
    client, shandong, zhejiang_clerk, shandong_return, institution, query
):
    make_clean_licence(shandong, 1, institution=institution, issuing_level=IssuingLevel.COUNTY)
    client.force_login(zhejiang_clerk)
    response = client.get(findings_url(shandong_return, **query))
    assert response.status_code == 404


# --- counted once per state of the register ------------------------------------------------


def test_a_register_change_is_counted_on_the_next_view(
    client, shandong, shandong_admin, shandong_return, institution
):
    troubled(shandong, institution, 2)
    register_changed(shandong)
    client.force_login(shandong_admin)
    assert "2 licences issued at county level" in text(client.get(detail_url(shandong_return)))

    troubled(shandong, institution, 1, start=3)
    # Not stamped yet: the kept count stands (every write path of the register stamps it).
    assert "2 licences issued at county level" in text(client.get(detail_url(shandong_return)))
    register_counts_refresh(province_ids=[shandong.pk], at=timezone.now() + timedelta(seconds=1))
    assert "3 licences issued at county level" in text(client.get(detail_url(shandong_return)))


def test_an_institutions_authorisation_is_counted_on_the_next_view(
    client, shandong, shandong_admin, shandong_return
):
    local = make_institution(shandong, "青岛市计量技术研究院（测试）", uniform=False)
    make_clean_licence(shandong, 1, institution=local)
    register_changed(shandong)
    client.force_login(shandong_admin)
    assert 'data-code="unauthorised_institution.not_uniformly_authorised"' in text(
        client.get(detail_url(shandong_return))
    )

    # National reference data: no province's register changes when it does.
    local.uniformly_authorised = True
    local.save()

    page = text(client.get(detail_url(shandong_return)))
    assert 'data-code="unauthorised_institution.not_uniformly_authorised"' not in page


def test_submitting_freezes_what_the_register_shows(
    client, shandong, shandong_admin, complete_return, institution
):
    troubled(shandong, institution, 3)
    make_clean_licence(shandong, 4, institution=institution, accepted_on=None)
    register_changed(shandong)
    client.force_login(shandong_admin)
    data = complete_form(complete_return, out_of_scope=True) | {"attest": "on", "_submit": "1"}

    response = client.post(detail_url(complete_return), data)

    assert response.status_code == 302
    snapshot = complete_return.snapshots.get()
    expected = count_by_rule(compute_findings(province=shandong, campaign=complete_return.campaign))
    assert snapshot.data["findings"] == expected
