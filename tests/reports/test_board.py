"""The campaign board and the register statistics: numbers against a register built here."""

import re
from datetime import date, timedelta
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from licensing.factories import make_licence, make_manufacturer
from licensing.models import InstrumentCategory, LicenceStatus, LicensedProduct
from licensing.statistics import register_counts_refresh
from reports.selectors import expiring_by_month
from tests.verification.conftest import bring_to
from verification.factories import attach_scan, complete_answers, make_administrator
from verification.models import Campaign
from verification.services import return_save_draft, return_start, return_submit


@pytest.fixture
def campaign(db):
    return Campaign.objects.get(notice_number="质检量函〔2016〕27号")


def _product(licence, code, model):
    category = InstrumentCategory.objects.get(code=code)
    return LicensedProduct.objects.create(
        licence=licence, category=category, product_name=category.name, model_spec=model
    )


@pytest.fixture
def register(shandong, zhejiang):
    """山东: two valid licences (3 water meters, 1 scale) and a cancelled one; 浙江: one valid
    licence with a scale; every other unit: nothing."""
    first = make_manufacturer(shandong, 1)
    a = make_licence(first, 1, products=0)
    b = make_licence(make_manufacturer(shandong, 2), 2, products=0)
    cancelled = make_licence(first, 3, products=0, status=LicenceStatus.CANCELLED)
    _product(a, "water-meter", "W-1")
    _product(a, "weighing-instrument", "S-1")
    _product(b, "water-meter", "W-2")
    _product(b, "water-meter", "W-3")
    _product(cancelled, "water-meter", "W-4")
    c = make_licence(make_manufacturer(zhejiang, 3), 4, products=0)
    _product(c, "weighing-instrument", "S-2")
    register_counts_refresh()
    return {"37": [a, b, cancelled], "33": [c]}


def _row(html: str, province_code: str, table_id: str) -> str:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return table.split(f'data-province="{province_code}"', 1)[1].split("</tr>", 1)[0]


def _numbers(row_html: str) -> list[str]:
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


def _tile(html: str, province_code: str) -> tuple[str, str, str]:
    """(classes, status, inner HTML) of a unit's tile on the board."""
    match = re.search(
        rf'<li class="([^"]+)"[^>]*data-province="{province_code}" data-status="(\w+)">(.*?)</li>',
        html,
        re.S,
    )
    assert match, province_code
    return match.groups()


def _board(client, campaign, **params):
    return client.get(reverse("reports:board", args=[campaign.pk]), params)


def test_the_board_counts_each_units_register_by_category(client, reviewer, campaign, register):
    client.force_login(reviewer)
    html = _board(client, campaign).content.decode()
    # Categories in catalogue order: 电能表, 水表, 煤气表, 衡器, … then the unit's total.
    assert _numbers(_row(html, "37", "register-table"))[:5] == ["0", "2", "0", "1", "0"]
    assert _numbers(_row(html, "37", "register-table"))[-1] == "2"  # two valid licences
    assert _numbers(_row(html, "33", "register-table"))[3] == "1"
    products = _board(client, campaign, measure="products").content.decode()
    assert _numbers(_row(products, "37", "register-table"))[1] == "3"
    assert _numbers(_row(products, "37", "register-table"))[-1] == "4"
    makers = _board(client, campaign, measure="manufacturers").content.decode()
    assert _numbers(_row(makers, "37", "register-table"))[1] == "2"
    footer = html.split('id="register-table"', 1)[1].split("<tfoot>", 1)[1].split("</tfoot>")[0]
    assert _numbers(footer)[3] == "2" and _numbers(footer)[-1] == "3"  # column totals


def test_an_empty_register_says_so_instead_of_zero(client, reviewer, campaign, register):
    client.force_login(reviewer)
    html = _board(client, campaign).content.decode()
    assert "rp-no-data" in _row(html, "11", "register-table")  # 北京 has put nothing in
    assert "rp-no-data" in _row(html, "11", "findings-table")
    assert "rp-no-data" not in _row(html, "37", "findings-table")
    size = _tile(html, "11")[2].split("rp-tile-size", 1)[1]
    assert re.search(r"\d", size) is None  # no "0 licences"


@pytest.mark.parametrize("measure", ["valid_licences", "products", "manufacturers"])
def test_every_number_opens_the_list_it_counts(client, reviewer, campaign, register, measure):
    client.force_login(reviewer)
    html = _board(client, campaign, measure=measure).content.decode()
    table = html.split('id="register-table"', 1)[1].split("</table>", 1)[0]
    links = re.findall(r'<a href="([^"]+)">([\d,]+)</a>', table)
    assert len(links) > 5
    for url, number in links:
        page = client.get(unescape(url))
        assert page.status_code == 200, url
        shown = page.context["cl"].result_count
        assert shown == int(number.replace(",", "")), (url, number, shown)


def test_tiles_show_status_lateness_and_size(
    client, reviewer, shandong_admin, zhejiang_clerk, campaign, register, shandong
):
    make_administrator(shandong, by=shandong_admin)
    shandong_return = return_start(campaign=campaign, by=shandong_admin)
    return_save_draft(
        provincial_return=shandong_return, by=shandong_admin, data=complete_answers(shandong)
    )
    bring_to(shandong_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    return_start(campaign=campaign, by=zhejiang_clerk)
    client.force_login(reviewer)
    html = _board(client, campaign).content.decode()
    classes, status, inner = _tile(html, "37")
    assert status == "accepted" and "rp-tile-accepted" in classes
    assert reverse("verification:return_review", args=[shandong_return.pk]) in inner
    assert "2 " in inner  # its valid licences
    assert _tile(html, "33")[1] == "draft"
    # The 2016 deadline has passed: units that never submitted are marked overdue.
    assert "rp-tile-late" in _tile(html, "11")[0]
    counts = html.split('id="status-counts"', 1)[1].split("</ul>", 1)[0]
    assert re.search(r'data-status="accepted"[^>]*>[^<]*<strong>1</strong>', counts)
    assert re.search(r'data-status="not_started"[^>]*>[^<]*<strong>30</strong>', counts)


def test_findings_show_what_was_submitted_and_the_live_count_after_a_change(
    client, reviewer, shandong_admin, campaign, register, shandong
):
    make_administrator(shandong, by=shandong_admin)
    shandong_return = return_start(campaign=campaign, by=shandong_admin)
    return_save_draft(
        provincial_return=shandong_return, by=shandong_admin, data=complete_answers(shandong)
    )
    attach_scan(shandong_return, by=shandong_admin)
    return_submit(
        provincial_return=shandong_return,
        by=shandong_admin,
        attest=True,
        findings_counts={"not_announced": 2},
    )
    client.force_login(reviewer)
    row = _row(_board(client, campaign).content.decode(), "37", "findings-table")
    assert "rp-changed" not in row and "rp-live" not in row  # nothing changed since
    # The register changed after the submission: the board says so, without examining it.
    register_counts_refresh(province_ids=[shandong.pk], at=timezone.now() + timedelta(seconds=1))
    with CaptureQueriesContext(connection) as queries:
        row = _row(_board(client, campaign).content.decode(), "37", "findings-table")
    assert "rp-changed" in row and "rp-live" not in row
    assert not any("licensing_licensedproduct" in query["sql"] for query in queries)
    # Opening the return counts the register as it is now; the board then shows the count.
    client.get(reverse("verification:return_review", args=[shandong_return.pk]))
    row = _row(_board(client, campaign).content.decode(), "37", "findings-table")
    assert "rp-live" in row  # 2 submitted, 0 now: the submitted counts were made up


def test_the_count_findings_command_counts_changed_registers(
    client, reviewer, shandong_admin, campaign, register, shandong
):
    make_administrator(shandong, by=shandong_admin)
    shandong_return = return_start(campaign=campaign, by=shandong_admin)
    return_save_draft(
        provincial_return=shandong_return, by=shandong_admin, data=complete_answers(shandong)
    )
    attach_scan(shandong_return, by=shandong_admin)
    return_submit(
        provincial_return=shandong_return,
        by=shandong_admin,
        attest=True,
        findings_counts={"not_announced": 2},
    )
    register_counts_refresh(province_ids=[shandong.pk], at=timezone.now() + timedelta(seconds=1))
    out = StringIO()
    call_command("count_findings", stdout=out)
    assert "1" in out.getvalue()
    client.force_login(reviewer)
    assert "rp-live" in _row(_board(client, campaign).content.decode(), "37", "findings-table")


def test_the_countdown_counts_days_to_the_deadline(client, reviewer, campaign, register):
    campaign.return_deadline = timezone.localdate() + timedelta(days=5)
    campaign.save()
    client.force_login(reviewer)
    html = _board(client, campaign).content.decode()
    assert 'data-days="5"' in html


def test_charts_are_inline_svg_without_scripts_or_remote_resources(
    client, reviewer, campaign, register
):
    client.force_login(reviewer)
    html = _board(client, campaign).content.decode()
    charts = re.findall(r'<figure class="rp-chart"[^>]*>(<svg.*?</svg>)</figure>', html, re.S)
    assert len(charts) == 3
    for svg in charts:
        assert "<script" not in svg
        assert re.findall(r"https?://(?!www\.w3\.org)", svg) == []
        assert 'role="img"' in svg
    assert "水表" in charts[1]  # the category chart's labels


def test_a_provincial_user_cannot_open_the_board(client, shandong_admin, campaign, register):
    client.force_login(shandong_admin)
    assert _board(client, campaign).status_code == 403


def test_a_provincial_user_sees_its_own_statistics_only(client, shandong_admin, register):
    client.force_login(shandong_admin)
    response = client.get(reverse("reports:statistics"))
    html = response.content.decode()
    assert response.status_code == 200
    table = html.split('id="register-table"', 1)[1].split("</table>", 1)[0]
    assert 'data-province="37"' in table
    assert table.count("data-province=") == 1
    assert "浙江" not in html


def test_a_reviewer_sees_every_units_statistics(client, reviewer, register):
    client.force_login(reviewer)
    html = client.get(reverse("reports:statistics")).content.decode()
    table = html.split('id="register-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("data-province=") == 32


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_boards_queries_do_not_grow_with_the_register(
    client, reviewer, campaign, shandong, zhejiang
):
    client.force_login(reviewer)
    board, statistics = (
        reverse("reports:board", args=[campaign.pk]),
        reverse("reports:statistics"),
    )
    for seed in range(3):
        make_licence(make_manufacturer(shandong, 100 + seed), 100 + seed, products=2)
    register_counts_refresh()
    few = (_queries(client, board), _queries(client, statistics))
    for seed in range(40):
        make_licence(make_manufacturer(zhejiang, 200 + seed), 200 + seed, products=3)
    register_counts_refresh()
    assert (_queries(client, board), _queries(client, statistics)) == few


def test_expiring_licences_are_counted_per_month(client, reviewer, shandong, campaign):
    manufacturer = make_manufacturer(shandong, 9)
    start = campaign.return_deadline.replace(day=1)
    make_licence(manufacturer, 91, issued_on=date(2015, 1, 1), expires_on=start + timedelta(days=3))
    make_licence(
        manufacturer, 92, issued_on=date(2015, 1, 1), expires_on=start + timedelta(days=40)
    )
    make_licence(manufacturer, 93, issued_on=date(2015, 1, 1), expires_on=start - timedelta(days=1))
    months = expiring_by_month(user=reviewer, start=campaign.return_deadline)
    assert months[0] == (start, 1)
    assert months[1][1] == 1
    assert sum(count for _month, count in months) == 2
    assert len(months) == 12
