"""The public list of licensed manufacturers (/public/): what it shows, finds, hides and costs."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from licensing.factories import credit_code, licence_number, make_licence, make_manufacturer
from licensing.models import (
    InstrumentCategory,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
)
from licensing.validators import credit_code_check_character
from reports.public_views import PAGE_SIZE

LIST = reverse("public:licence_list")
PRIVATE = {
    "legal_representative": "欧阳法人甲",
    "contact_person": "司马联系乙",
    "contact_phone": "13912345678",
}


def detail(licence) -> str:
    return reverse("public:licence_detail", args=[licence.pk])


def numbers(response) -> list[str]:
    return [row.number for row in response.context["page"].rows]


@pytest.fixture
def register(world):
    """The world's two licences, their manufacturers carrying private contact data, plus a
    cancelled licence in 山东 and one whose decision date is tomorrow (not yet published)."""
    for key in ("37", "33"):
        Manufacturer.objects.filter(pk=world[key]["manufacturer"].pk).update(**PRIVATE)
        licence = world[key]["licence"]
        # Values of the internal fields that cannot appear by chance anywhere on the page.
        Licence.objects.filter(pk=licence.pk).update(
            accepted_on=licence.issued_on - timedelta(days=37), excluded_days=4321
        )
    shandong_maker = world["37"]["manufacturer"]
    cancelled = make_licence(shandong_maker, 30, status=LicenceStatus.CANCELLED)
    tomorrow = timezone.localdate() + timedelta(days=1)
    future = make_licence(
        make_manufacturer(shandong_maker.province, 31, name="明日计量器具有限公司"),
        31,
        issued_on=tomorrow,
        accepted_on=tomorrow,
    )
    return {
        "shandong": world["37"]["licence"],
        "zhejiang": world["33"]["licence"],
        "cancelled": cancelled,
        "future": future,
    }


def _bulk_register(province, start: int, count: int, **licence_fields) -> list[Licence]:
    """`count` manufacturers with a licence of two products each, in a few queries."""
    categories = list(InstrumentCategory.objects.order_by("sort_order"))
    manufacturers = Manufacturer.objects.bulk_create(
        Manufacturer(
            name=f"批量计量仪表有限公司{seed}",
            credit_code=credit_code(seed, region=f"{province.code}0100"),
            province=province,
            **PRIVATE,
        )
        for seed in range(start, start + count)
    )
    licences = Licence.objects.bulk_create(
        Licence(
            number=licence_number(province, seed),
            manufacturer=manufacturer,
            province=province,
            issuing_authority=f"{province.name}质量技术监督局",
            issued_on=date(2015, 1, 1) + timedelta(days=seed % 300),
            expires_on=date(2018, 1, 1) + timedelta(days=seed % 300),
            **licence_fields,
        )
        for seed, manufacturer in zip(range(start, start + count), manufacturers, strict=True)
    )
    LicensedProduct.objects.bulk_create(
        LicensedProduct(
            licence=licence,
            category=categories[(index + offset) % len(categories)],
            product_name=categories[(index + offset) % len(categories)].name,
            model_spec=f"BK-{index}-{offset}",
        )
        for index, licence in enumerate(licences)
        for offset in range(2)
    )
    return licences


# --- What is public -------------------------------------------------------------------------


def test_the_public_list_shows_no_private_fields_and_no_unpublished_rows(client, register):
    pages = [
        client.get(LIST, {"status": "all"}),
        client.get(detail(register["shandong"])),
        client.get(detail(register["zhejiang"])),
        client.get(detail(register["cancelled"])),
    ]
    for response in pages:
        assert response.status_code == 200
        html = response.content.decode()
        for value in PRIVATE.values():
            assert value not in html
        assert "4321" not in html  # excluded_days
        for key in ("shandong", "zhejiang"):
            assert str(register[key].issued_on - timedelta(days=37)) not in html  # accepted_on
        assert register["future"].number not in html
        assert "明日计量器具有限公司" not in html
    listed = numbers(pages[0])
    assert listed == sorted(licence.number for key, licence in register.items() if key != "future")
    assert client.get(detail(register["future"])).status_code == 404
    assert numbers(client.get(LIST, {"q": register["future"].number, "status": "all"})) == []


def test_a_licence_page_shows_status_validity_authority_and_products(client, register):
    licence = register["shandong"]
    response = client.get(detail(licence))
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    product = licence.products.get()
    for value in (
        licence.number,
        licence.manufacturer.name,
        licence.manufacturer.credit_code,
        licence.manufacturer.address,
        licence.issuing_authority,
        str(licence.issued_on),
        str(licence.expires_on),
        "有效",
        "省级",
        product.category.name,
        product.model_spec,
    ):
        assert value in html, value
    assert "有效期至" in html  # the page speaks Chinese


def test_an_individual_business_has_no_address_on_its_page(client, shandong):
    first17 = "92370100MA1234567"
    maker = make_manufacturer(
        shandong,
        40,
        name="张记衡器经营部",
        credit_code=first17 + credit_code_check_character(first17),
        address="济南市某小区5号楼2单元301室",
    )
    response = client.get(detail(make_licence(maker, 40)))
    html = response.content.decode()
    assert "张记衡器经营部" in html and maker.credit_code in html
    assert "济南市某小区" not in html


def test_an_unknown_licence_gets_the_public_not_found_page(client, db):
    response = client.get(reverse("public:licence_detail", args=[999999]))
    assert response.status_code == 404
    assert "public/not_found.html" in [template.name for template in response.templates]
    assert response["Content-Language"] == "zh-hans"


# --- Search, filters, pagination -------------------------------------------------------------


def test_by_default_only_valid_licences_are_listed(client, register):
    assert register["cancelled"].number not in numbers(client.get(LIST))
    assert numbers(client.get(LIST, {"status": "cancelled"})) == [register["cancelled"].number]
    assert register["cancelled"].number in numbers(client.get(LIST, {"status": "all"}))


def test_search_by_part_of_the_name(client, register):
    shandong = register["shandong"]
    part = shandong.manufacturer.name[:4]  # 山东测试…
    assert numbers(client.get(LIST, {"q": part})) == [shandong.number]
    assert numbers(client.get(LIST, {"q": "没有这家企业"})) == []


def test_search_by_credit_code_as_typed(client, register):
    zhejiang = register["zhejiang"]
    typed = " ".join(zhejiang.manufacturer.credit_code.lower())  # spaces, lower case
    assert numbers(client.get(LIST, {"q": typed})) == [zhejiang.number]


@pytest.mark.parametrize("typed", ["{number}", "{number_without_hao}", " {number_full_width} "])
def test_search_by_licence_number_with_or_without_hao(client, register, typed):
    number = register["shandong"].number
    query = typed.format(
        number=number,
        number_without_hao=number.removesuffix("号"),
        number_full_width=number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    )
    assert numbers(client.get(LIST, {"q": query})) == [number]


def test_filter_by_province_category_and_status(client, register):
    shandong, zhejiang = register["shandong"], register["zhejiang"]
    assert numbers(client.get(LIST, {"province": "33"})) == [zhejiang.number]
    category = shandong.products.get().category
    assert numbers(client.get(LIST, {"category": category.code, "status": "all"})) == sorted(
        licence.number
        for licence in (shandong, zhejiang, register["cancelled"])
        if licence.products.filter(category=category).exists()
    )
    assert numbers(client.get(LIST, {"province": "37", "status": "cancelled"})) == [
        register["cancelled"].number
    ]
    assert numbers(client.get(LIST, {"province": "11"})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"province": "99"}, "province"),
        ({"category": "no-such-category"}, "category"),
        ({"status": "draft"}, "status"),
        ({"q": "长" * 101}, "q"),
        ({"q": "水表\x00"}, "q"),
        ({"after": "not-a-number"}, "after"),
        ({"before": "'; DROP TABLE licensing_licence; --"}, "before"),
        ({"after": "鲁制00000001号", "before": "鲁制00000009号"}, "__all__"),
    ],
)
def test_bad_parameters_get_a_message_not_an_error(client, register, params, field):
    response = client.get(LIST, params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "<option" in html  # the form is still there, to correct the search


# How a page is read: off the number index; a name search's matches sorted here; a name more
# common than NAME_SEARCH_CAP read off the index.
READINGS = {
    "index": ({}, None),
    "name, sorted here": ({"q": "批量计量"}, None),
    "common name, index": ({"q": "批量计量"}, 0),
}


@pytest.mark.parametrize("reading", READINGS)
def test_pages_follow_the_licence_numbers_forwards_and_back(
    client, shandong, zhejiang, monkeypatch, reading
):
    params, cap = READINGS[reading]
    if cap is not None:
        monkeypatch.setattr("reports.public_views.NAME_SEARCH_CAP", cap)
    _bulk_register(shandong, 100, 2 * PAGE_SIZE)
    _bulk_register(zhejiang, 500, 7)
    everything = sorted(Licence.objects.values_list("number", flat=True))

    first = client.get(LIST, params)
    assert numbers(first) == everything[:PAGE_SIZE]
    assert first.context["page"].count == 2 * PAGE_SIZE + 7
    assert not first.context["previous_url"]
    second = client.get(first.context["next_url"])
    assert numbers(second) == everything[PAGE_SIZE : 2 * PAGE_SIZE]
    third = client.get(second.context["next_url"])
    assert numbers(third) == everything[2 * PAGE_SIZE :]
    assert not third.context["next_url"]
    back = client.get(third.context["previous_url"])
    assert numbers(back) == numbers(second)
    again = client.get(back.context["previous_url"])
    assert numbers(again) == numbers(first)
    assert not again.context["previous_url"]
    assert third.context["first_url"] == (
        LIST + "?q=%E6%89%B9%E9%87%8F%E8%AE%A1%E9%87%8F" if params else LIST
    )


def test_pages_keep_the_search_and_filters(client, shandong, zhejiang):
    _bulk_register(shandong, 100, PAGE_SIZE + 5)
    _bulk_register(zhejiang, 300, 10)
    first = client.get(LIST, {"q": "批量计量", "province": "37"})
    assert "q=" in first.context["next_url"] and "province=37" in first.context["next_url"]
    second = client.get(first.context["next_url"])
    assert len(numbers(second)) == 5
    assert all(number.startswith("鲁") for number in numbers(second))


def test_the_count_stops_at_its_cap(client, shandong, monkeypatch):
    monkeypatch.setattr("reports.public_views.COUNT_CAP", 20)
    _bulk_register(shandong, 100, 30)
    response = client.get(LIST)
    assert response.context["page"].count_capped
    assert len(numbers(response)) == 30


# --- Cost ------------------------------------------------------------------------------------

# The catalogue and the provinces (the filters), the capped count, the page's licences, and
# the categories of the licences shown. A name search reads the numbers of its matches instead
# of counting, then the page's licences by number; beyond NAME_SEARCH_CAP it counts as well.
LIST_QUERIES = 5
DETAIL_QUERIES = 2  # the licence, its products


@pytest.mark.parametrize(
    ("params", "cap", "queries"),
    [
        ({}, None, LIST_QUERIES),
        ({"province": "37", "category": "water-meter", "status": "all"}, None, LIST_QUERIES),
        ({"q": "批量计量"}, None, LIST_QUERIES),
        ({"q": "批量计量", "after": "鲁制00000101号"}, None, LIST_QUERIES),
        ({"q": "批量计量", "before": "鲁制00009999号"}, 0, LIST_QUERIES + 1),
        ({"q": credit_code(102, region="370100"), "status": "all"}, None, LIST_QUERIES),
    ],
)
def test_list_queries_do_not_grow_with_the_register(
    client, shandong, monkeypatch, params, cap, queries, django_assert_num_queries
):
    if cap is not None:
        monkeypatch.setattr("reports.public_views.NAME_SEARCH_CAP", cap)
    _bulk_register(shandong, 100, 5)
    with django_assert_num_queries(queries):
        few = client.get(LIST, params)
    _bulk_register(shandong, 1000, 495)
    Licence.objects.filter(pk__in=Licence.objects.order_by("pk").values("pk")[:40]).update(
        status=LicenceStatus.EXPIRED
    )
    with django_assert_num_queries(queries):
        many = client.get(LIST, {**params, "v": "2"})  # another URL: not from the cache
    assert few.status_code == many.status_code == 200
    assert numbers(few)
    assert len(numbers(many)) >= len(numbers(few))


def test_a_licence_page_costs_two_queries_whatever_its_size(
    client, shandong, django_assert_num_queries
):
    maker = make_manufacturer(shandong, 50)
    small, large = make_licence(maker, 50, products=1), make_licence(maker, 51, products=30)
    for licence in (small, large):
        with django_assert_num_queries(DETAIL_QUERIES):
            assert client.get(detail(licence)).status_code == 200


def test_a_page_asked_for_again_comes_from_the_cache(client, register, django_assert_num_queries):
    first = [client.get(LIST, {"province": "37"}), client.get(detail(register["shandong"]))]
    with django_assert_num_queries(0):
        again = [client.get(LIST, {"province": "37"}), client.get(detail(register["shandong"]))]
    for before, after in zip(first, again, strict=True):
        assert after.status_code == 200
        assert after.content == before.content
        assert "max-age=" in after["Cache-Control"]


def test_a_signed_in_user_gets_the_page_but_no_browser_may_store_it(client, register, reviewer):
    client.force_login(reviewer)
    response = client.get(detail(register["zhejiang"]))
    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


# --- Rate limit -------------------------------------------------------------------------------


def test_too_many_requests_from_one_address_get_429(client, register, settings):
    settings.PUBLIC_RATE_LIMIT = "3/m"
    for _ in range(3):  # the second and third from the cache: they count all the same
        assert client.get(LIST).status_code == 200
    refused = client.get(detail(register["shandong"]))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "no-store" in refused["Cache-Control"]
    assert "public/too_many_requests.html" in [template.name for template in refused.templates]
    assert client.get(LIST, REMOTE_ADDR="203.0.113.9").status_code == 200  # another address


def test_post_is_refused(client, register):
    assert client.post(LIST, {"q": "x"}).status_code == 405
    assert client.post(detail(register["shandong"])).status_code == 405
