"""The register's list screens: the right rows and the right numbers, on SQLite and PostgreSQL.

licensing/admin_lists.py and licensing/search.py make the lists cost what they show; these tests
hold them to showing what Django's own filters and search showed, and counting it right.
"""

import re
from datetime import date

import pytest
from django.urls import reverse

from licensing import admin_lists, search
from licensing.factories import credit_code, make_licence, make_manufacturer
from licensing.models import (
    Announcement,
    InstrumentCategory,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
    TypeApproval,
)
from licensing.statistics import register_counts_refresh

LICENCES = "admin:licensing_licence_changelist"
PRODUCTS = "admin:licensing_licensedproduct_changelist"
MANUFACTURERS = "admin:licensing_manufacturer_changelist"


def _list(client, name, query=""):
    response = client.get(reverse(name) + query)
    assert response.status_code == 200, response.status_code
    return response.context["cl"]


def _shown(client, name, query=""):
    """The rows the list shows and the count it gives."""
    changelist = _list(client, name, query)
    return {str(row) for row in changelist.result_list}, changelist.result_count


def _category(code):
    return InstrumentCategory.objects.get(code=code)


def _product(licence, code, name, model):
    return LicensedProduct.objects.create(
        licence=licence, category=_category(code), product_name=name, model_spec=model
    )


@pytest.fixture
def register(shandong, zhejiang):
    """A few licences of two provinces, with products of several categories."""
    hengxin = make_manufacturer(zhejiang, 8148, name="杭州恒信衡器有限公司")
    weighing = make_licence(hengxin, 10008148, products=0, number="浙制10008148号")
    _product(weighing, "weighing-instrument", "电子台秤", "TCS-150")
    _product(weighing, "weighing-instrument", "电子汽车衡", "SCS-60")
    for index in range(3):
        _product(weighing, "water-meter", "旋翼式水表", f"LXS-{index}")
    _product(weighing, "gas-meter", "膜式燃气表", "G2.5")
    water = make_manufacturer(zhejiang, 8149, name="宁波水表股份有限公司")
    water_licence = make_licence(water, 10008149, products=0, number="浙制10008149号")
    _product(water_licence, "water-meter", "旋翼式水表", "LXS-20")
    jinan = make_manufacturer(shandong, 8150, name="济南恒信仪表有限公司")
    jinan_licence = make_licence(
        jinan, 8150, products=0, status=LicenceStatus.EXPIRED, issued_on=date(2013, 5, 2)
    )
    _product(jinan_licence, "electricity-meter", "单相电能表", "DDS-150")
    return {"weighing": weighing, "water": water_licence, "jinan": jinan_licence}


# --- Counts ------------------------------------------------------------------------------------


def test_the_product_count_is_right_under_a_category_filter_and_a_search(
    client, reviewer, register
):
    # Django's Count("products") counted the joined rows: 6 products × 2 of the category ×
    # 2 matching the search showed 24 (on the register: 8 for 2).
    client.force_login(reviewer)
    weighing = _category("weighing-instrument")
    for query in (
        "",
        f"?products__category__id__exact={weighing.pk}",
        "?q=SCS",
        f"?products__category__id__exact={weighing.pk}&q=电子",
        f"?products__category__id__exact={weighing.pk}&q=恒信 电子",
    ):
        changelist = _list(client, LICENCES, query)
        shown = {row.number: row.product_total for row in changelist.result_list}
        assert shown["浙制10008148号"] == 6, query
        assert changelist.result_count == len(shown), query


def test_the_product_count_is_shown_in_its_column(client, reviewer, register):
    client.force_login(reviewer)
    html = client.get(reverse(LICENCES) + "?q=浙制10008148号").content.decode()
    assert re.search(r'<td class="field-product_count">6</td>', html)


def test_a_manufacturers_licence_count_counts_its_licences(client, reviewer, register):
    make_licence(register["weighing"].manufacturer, 10008150, products=3)
    client.force_login(reviewer)
    changelist = _list(client, MANUFACTURERS, "?q=恒信衡器")
    assert [row.licence_total for row in changelist.result_list] == [2]


def test_counts_are_exact_up_to_the_cap_then_a_lower_bound(client, reviewer, register, monkeypatch):
    monkeypatch.setattr(admin_lists, "COUNT_CAP", 2)
    monkeypatch.setattr(admin_lists, "PAGES_AHEAD", 0)
    monkeypatch.setattr(admin_lists.RegisterListMixin, "list_per_page", 1)
    client.force_login(reviewer)
    changelist = _list(client, LICENCES, "?q=有限公司")
    assert changelist.paginator.count_is_lower_bound
    assert changelist.paginator.shown_count == 2
    html = client.get(reverse(LICENCES) + "?q=有限公司").content.decode()
    assert "more than 2" in html or "超过 2" in html
    assert len(changelist.result_list) == 1
    # Fewer than the cap: exact.
    changelist = _list(client, LICENCES, "?q=浙制10008148号")
    assert not changelist.paginator.count_is_lower_bound
    assert changelist.result_count == 1


def test_a_list_beyond_the_cap_never_shows_all_its_rows(client, reviewer, register, monkeypatch):
    monkeypatch.setattr(admin_lists, "COUNT_CAP", 1)
    monkeypatch.setattr(admin_lists, "PAGES_AHEAD", 0)
    monkeypatch.setattr(admin_lists.RegisterListMixin, "list_per_page", 1)
    client.force_login(reviewer)
    changelist = _list(client, LICENCES, "?q=有限公司&all=")
    assert changelist.paginator.count_is_lower_bound
    assert not changelist.can_show_all
    assert len(changelist.result_list) == 1


def test_the_reports_numbers_open_lists_that_count_them_beyond_the_cap(
    client, reviewer, zhejiang_clerk, register, zhejiang, monkeypatch
):
    """Above the cap, a list that is one of the register's cells shows RegisterCount's total:
    the number the report showed, the same as the rows it lists."""
    register_counts_refresh()
    monkeypatch.setattr(admin_lists, "COUNT_CAP", 1)
    monkeypatch.setattr(admin_lists, "PAGES_AHEAD", 0)
    monkeypatch.setattr(admin_lists.RegisterListMixin, "list_per_page", 1)
    water = _category("water-meter")
    cells = [
        (LICENCES, "?status__exact=valid"),
        (LICENCES, f"?status__exact=valid&province__id__exact={zhejiang.pk}"),
        (LICENCES, f"?status__exact=valid&products__category__id__exact={water.pk}"),
        (
            LICENCES,
            f"?status__exact=valid&province__id__exact={zhejiang.pk}"
            f"&products__category__id__exact={water.pk}",
        ),
        (LICENCES, ""),
        (LICENCES, f"?products__category__id__exact={water.pk}"),
        (PRODUCTS, "?licence__status__exact=valid"),
        (PRODUCTS, f"?licence__status__exact=valid&category__id__exact={water.pk}"),
        (
            PRODUCTS,
            f"?licence__status__exact=valid&licence__province__id__exact={zhejiang.pk}"
            f"&category__id__exact={water.pk}",
        ),
        (MANUFACTURERS, "?licensed_in=any"),
        (MANUFACTURERS, f"?licensed_in=water-meter&province__id__exact={zhejiang.pk}"),
    ]
    for user in (reviewer, zhejiang_clerk):
        client.force_login(user)
        for name, query in cells:
            changelist = _list(client, name, query)
            rows = changelist.queryset.count()
            assert rows > 0, (name, query)
            assert not changelist.paginator.count_is_lower_bound, (user, name, query)
            assert changelist.result_count == rows, (user, name, query)
    # Not a cell (another filter, a search): a lower bound, never RegisterCount's figure.
    client.force_login(reviewer)
    for query in ("?status__exact=valid&issuing_level__exact=provincial", "?q=有限公司"):
        assert _list(client, LICENCES, query).paginator.count_is_lower_bound, query


# --- Filters -----------------------------------------------------------------------------------


def test_the_category_filter_lists_each_licence_once(client, reviewer, register):
    client.force_login(reviewer)
    water = _category("water-meter")
    shown, count = _shown(client, LICENCES, f"?products__category__id__exact={water.pk}")
    assert shown == {"浙制10008148号", "浙制10008149号"}
    assert count == 2


def test_the_category_filter_offers_every_category(client, reviewer, register):
    client.force_login(reviewer)
    html = client.get(reverse(LICENCES)).content.decode()
    for category in InstrumentCategory.objects.all():
        assert f"products__category__id__exact={category.pk}" in html


def test_a_malformed_filter_value_is_refused_as_django_refuses_one(client, reviewer, register):
    client.force_login(reviewer)
    for query in ("?products__category__id__exact=x", "?issued_on__year=x"):
        response = client.get(reverse(LICENCES) + query)
        assert response.status_code == 302 and "e=1" in response["Location"], query


def test_the_province_filter_is_the_reviewers_and_lists_every_unit(
    client, reviewer, zhejiang_clerk, register, shandong
):
    client.force_login(reviewer)
    html = client.get(reverse(LICENCES)).content.decode()
    assert html.count("province__id__exact=") >= 32
    shown, _count = _shown(client, LICENCES, f"?province__id__exact={shandong.pk}")
    assert shown == {str(register["jinan"])}
    client.force_login(zhejiang_clerk)
    html = client.get(reverse(LICENCES)).content.decode()
    assert "province__id__exact=" not in html
    # A provincial user's rows are all of its province: the parameter changes nothing (as
    # with Django's filter, which had one choice for it and so no output either).
    own = {"浙制10008148号", "浙制10008149号"}
    assert _shown(client, LICENCES, f"?province__id__exact={shandong.pk}") == (own, 2)


def test_the_year_filter_lists_the_years_of_the_users_rows_and_filters_by_one(
    client, reviewer, zhejiang_clerk, register
):
    client.force_login(reviewer)
    changelist = _list(client, LICENCES)
    years = {
        str(year)
        for spec in changelist.filter_specs
        if getattr(spec, "parameter_name", None) == "issued_on__year"
        for year, _label in spec.lookup_choices
    }
    first = min(licence.issued_on.year for licence in Licence.objects.all())
    last = max(licence.issued_on.year for licence in Licence.objects.all())
    assert years == {str(year) for year in range(first, last + 1)}
    shown, _count = _shown(client, LICENCES, "?issued_on__year=2013")
    assert shown == {str(register["jinan"])}
    client.force_login(zhejiang_clerk)
    shown, _count = _shown(client, LICENCES, "?issued_on__year=2013")
    assert shown == set()


def test_licensed_in_any_category_counts_a_valid_licence_without_products(
    client, reviewer, register, zhejiang
):
    """As the register's counts do (licensing/statistics.py), so that the number opens its list."""
    bare = make_manufacturer(zhejiang, 8160, name="温州无产品计量有限公司")
    make_licence(bare, 10008160, products=0)
    client.force_login(reviewer)
    shown, _count = _shown(client, MANUFACTURERS, "?licensed_in=any")
    assert shown == {"杭州恒信衡器有限公司", "宁波水表股份有限公司", "温州无产品计量有限公司"}
    shown, _count = _shown(client, MANUFACTURERS, "?licensed_in=water-meter")
    assert shown == {"杭州恒信衡器有限公司", "宁波水表股份有限公司"}


def test_product_count_and_licence_count_are_not_sort_columns(client, reviewer, register):
    client.force_login(reviewer)
    html = client.get(reverse(LICENCES)).content.decode()
    header = html.split('class="column-product_count"', 1)[1].split("</th>", 1)[0]
    assert "sortable" not in html.split('<th scope="col" class="column-product_count', 1)[1][:40]
    assert "?o=" not in header
    html = client.get(reverse(MANUFACTURERS)).content.decode()
    header = html.split('class="column-licence_count"', 1)[1].split("</th>", 1)[0]
    assert "?o=" not in header


# --- Search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("浙制10008148号", {"浙制10008148号"}),  # a whole number: exact
        ("浙制10008148", {"浙制10008148号"}),  # without its 号
        ("10008149", {"浙制10008149号"}),  # a fragment of a number
        (credit_code(8149, region="330100"), {"浙制10008149号"}),  # a whole credit code
        (credit_code(8150, region="370100")[:12], {"鲁制00008150号"}),  # a fragment of one
        ("恒信", {"浙制10008148号", "鲁制00008150号"}),  # two characters of a name
        ("恒", {"浙制10008148号", "鲁制00008150号"}),  # one
        ("恒信衡器", {"浙制10008148号"}),  # more
        ("台秤", {"浙制10008148号"}),  # a product name
        ("lxs-20", {"浙制10008149号"}),  # a model, in any case
        ("LXS", {"浙制10008148号", "浙制10008149号"}),  # one licence once, whatever matches
        ("恒信 电能表", {"鲁制00008150号"}),  # every term, in any field
        ('"恒信 电能表"', set()),  # a quoted phrase as one term
        ("ｔｃｓ", {"浙制10008148号"}),  # full-width letters, as imports normalise them
        ("无此企业", set()),
        ("15", set()),  # too short a fragment for a number or model; in no name
    ],
)
def test_the_licence_search_finds_by_every_field(client, reviewer, register, term, expected):
    client.force_login(reviewer)
    shown, count = _shown(client, LICENCES, f"?q={term}")
    assert shown == expected
    assert count == len(expected)


def test_a_term_matching_more_rows_than_the_cap_finds_the_same_rows(
    client, reviewer, register, monkeypatch
):
    client.force_login(reviewer)
    terms = ["有限公司", "恒信", "LXS", "水表", "浙制"]
    below = {term: _shown(client, LICENCES, f"?q={term}")[0] for term in terms}
    monkeypatch.setattr(search, "SEARCH_CAP", 0)
    for term in terms:
        changelist = _list(client, LICENCES, f"?q={term}")
        assert {str(row) for row in changelist.result_list} == below[term], term
        assert changelist.paginator.count_is_lower_bound is False  # one page: all of them


def test_a_search_is_in_the_users_scope(client, zhejiang_clerk, register):
    client.force_login(zhejiang_clerk)
    shown, _count = _shown(client, LICENCES, "?q=恒信")
    assert shown == {"浙制10008148号"}


def test_the_product_search_finds_by_licence_number_and_manufacturer(client, reviewer, register):
    client.force_login(reviewer)
    shown, _count = _shown(client, PRODUCTS, "?q=浙制10008149号")
    assert shown == {"水表 旋翼式水表 LXS-20"}
    shown, _count = _shown(client, PRODUCTS, "?q=济南恒信")
    assert shown == {"电能表 单相电能表 DDS-150"}
    shown, _count = _shown(client, PRODUCTS, "?q=燃气")
    assert shown == {"煤气表 膜式燃气表 G2.5"}


def test_the_manufacturer_search_finds_by_name_and_credit_code(client, reviewer, register):
    client.force_login(reviewer)
    assert _shown(client, MANUFACTURERS, "?q=水表")[0] == {"宁波水表股份有限公司"}
    code = credit_code(8150, region="370100")
    assert _shown(client, MANUFACTURERS, f"?q={code.lower()}")[0] == {"济南恒信仪表有限公司"}


def test_the_type_approval_and_announcement_searches(client, reviewer, register, zhejiang):
    manufacturer = Manufacturer.objects.get(name="杭州恒信衡器有限公司")
    TypeApproval.objects.create(
        certificate_number="2015F101-33",
        province=zhejiang,
        manufacturer=manufacturer,
        category=_category("weighing-instrument"),
        product_name="电子台秤",
        model_spec="TCS-150",
        approved_on=date(2015, 1, 5),
        issuing_department="浙江省质量技术监督局",
    )
    Announcement.objects.create(
        licence=register["weighing"],
        kind="approval",
        method="website",
        method_detail="浙江省质监局网站",
        published_on=date(2015, 4, 1),
    )
    client.force_login(reviewer)
    for term in ("2015F101", "恒信", manufacturer.credit_code, "TCS"):
        shown, _count = _shown(client, "admin:licensing_typeapproval_changelist", f"?q={term}")
        assert shown == {"2015F101-33 电子台秤 TCS-150"}, term
    for term in ("浙制10008148号", "恒信衡器", "质监局"):
        shown, _count = _shown(client, "admin:licensing_announcement_changelist", f"?q={term}")
        assert len(shown) == 1, term


def test_autocomplete_uses_the_same_search(client, zhejiang_clerk, register):
    client.force_login(zhejiang_clerk)
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "term": "恒信",
            "app_label": "licensing",
            "model_name": "licence",
            "field_name": "manufacturer",
        },
    )
    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["杭州恒信衡器有限公司"]
