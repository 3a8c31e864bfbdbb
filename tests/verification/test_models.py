"""Campaigns, returns and Attachment 2: the data, its constraints and its scoping."""

import importlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from licensing.models import InstrumentCategory, IssuingLevel
from tests.verification.conftest import NOTICE_2016
from verification.factories import make_administrator
from verification.fields import ChoiceListField
from verification.models import (
    ANSWER_FIELDS,
    Campaign,
    ProvincialReturn,
    ReformMeasure,
    ReturnStatus,
    SystemAdministrator,
)
from verification.storage import private_storage

# --- the 2016 campaign --------------------------------------------------------------------


def test_the_2016_campaign_is_loaded_by_migration(campaign):
    assert campaign.title == "关于开展重点管理计量器具专项核查的通知"
    assert campaign.issued_on == date(2016, 7, 27)
    assert campaign.data_deadline == date(2016, 10, 31)
    assert campaign.return_deadline == date(2016, 10, 31)
    assert campaign.is_open
    assert sorted(campaign.categories.values_list("name", flat=True)) == sorted(
        [
            "电能表",
            "水表",
            "煤气表",
            "衡器",
            "加油机",
            "出租车计价器",
            "热能表",
            "粉尘测量仪",
            "甲烷测定器",
        ]
    )


def test_loading_the_2016_campaign_again_changes_nothing(campaign):
    migration = importlib.import_module("verification.migrations.0002_campaign_2016")
    campaign.title = "edited"
    campaign.save()
    migration.load(apps, None)
    assert Campaign.objects.filter(notice_number=NOTICE_2016).count() == 1
    campaign.refresh_from_db()
    assert campaign.title == "关于开展重点管理计量器具专项核查的通知"
    assert campaign.categories.count() == 9


def test_a_later_campaign_is_a_row_not_code(db):
    later = Campaign.objects.create(
        notice_number="质检量函〔2017〕1号",
        title="第二次专项核查",
        issued_on=date(2017, 3, 1),
        data_deadline=date(2017, 6, 30),
        return_deadline=date(2017, 7, 15),
    )
    later.categories.set(InstrumentCategory.objects.filter(code="water-meter"))
    assert list(Campaign.objects.open()) == [later, Campaign.objects.get(notice_number=NOTICE_2016)]


def test_a_deadline_before_the_notice_is_refused_by_the_database(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(
            notice_number="x",
            title="x",
            issued_on=date(2016, 7, 27),
            data_deadline=date(2016, 10, 31),
            return_deadline=date(2016, 7, 1),
        )


# --- the return ---------------------------------------------------------------------------


def test_one_return_per_campaign_and_province(shandong_return):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProvincialReturn.objects.create(
            campaign=shandong_return.campaign, province=shandong_return.province
        )


def test_a_new_return_is_an_unanswered_draft(shandong_return):
    assert shandong_return.status == ReturnStatus.DRAFT
    assert shandong_return.version == 1
    for name in ("out_of_scope", "institutions_authorised", "list_filed", "online_approval"):
        assert getattr(shandong_return, name) is None, name
    for name in ("announcement_methods", "type_approval_levels", "licence_levels"):
        assert getattr(shandong_return, name) == [], name


def test_every_answer_field_has_a_verbose_name_of_its_own(db):
    names = [str(ProvincialReturn._meta.get_field(name).verbose_name) for name in ANSWER_FIELDS]
    assert len(set(names)) == len(names)


def test_institutions_not_authorised_needs_the_reason_in_the_remarks(shandong_return):
    shandong_return.institutions_authorised = False
    with pytest.raises(ValidationError) as caught:
        shandong_return.full_clean()
    assert [error.code for error in caught.value.error_dict["remarks"]] == [
        "institutions_reason_required"
    ]
    shandong_return.remarks = "部分型式评价由省计量院承担，正在申请统一授权。"
    shandong_return.full_clean()


def test_ticked_choices_are_kept_once_in_the_choices_order(shandong_return):
    shandong_return.reform_measures = [
        ReformMeasure.ONLINE_APPROVAL,
        ReformMeasure.ON_SITE_LICENSING,
        ReformMeasure.ONLINE_APPROVAL,
    ]
    shandong_return.full_clean()
    assert shandong_return.reform_measures == ["on_site_licensing", "online_approval"]


@pytest.mark.parametrize("value", [["provincial", "township"], "provincial", [1]])
def test_an_unknown_or_malformed_level_is_refused(shandong_return, value):
    shandong_return.licence_levels = value
    with pytest.raises(ValidationError) as caught:
        shandong_return.full_clean()
    assert "licence_levels" in caught.value.error_dict


def test_choice_lists_are_stored_and_read_back_on_any_database(shandong_return):
    ProvincialReturn.objects.filter(pk=shandong_return.pk).update(
        licence_levels=[IssuingLevel.PROVINCIAL, IssuingLevel.COUNTY]
    )
    shandong_return.refresh_from_db()
    assert shandong_return.licence_levels == ["provincial", "county"]


def test_a_choice_list_offers_checkboxes_in_forms(db):
    field = ProvincialReturn._meta.get_field("reform_measures")
    assert isinstance(field, ChoiceListField)
    form_field = field.formfield()
    assert [code for code, _label in form_field.choices] == ReformMeasure.values
    assert form_field.clean(["delegation"]) == ["delegation"]
    assert not form_field.required
    assert field.display(["parallel_approval", "delegation"]) == "、".join(
        [str(ReformMeasure.PARALLEL_APPROVAL.label), str(ReformMeasure.DELEGATION.label)]
    )


# --- Attachment 2 -------------------------------------------------------------------------


def _administrator(province, by, **fields):
    values = {
        "province": province,
        "name": "王强",
        "organisation": "山东省质量技术监督局计量处",
        "title": "副处长",
        "office_phone": "0531-82345678",
        "mobile": "13912345678",
        "email": "wangq@example.gov.cn",
        "effective_from": date(2016, 8, 1),
        "created_by": by,
    }
    values.update(fields)
    return SystemAdministrator(**values)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0531-82345678", "0531-82345678"),
        ("010-82261841", "010-82261841"),
        ("010-82261841-123", "010-82261841-123"),
        ("010-82261841转8", "010-82261841转8"),
        ("０５３１－８２３４５６７８", "0531-82345678"),
        (" 0571 - 87654321 ", "0571-87654321"),
    ],
)
def test_office_phone_formats_that_are_accepted(shandong, shandong_admin, typed, stored):
    administrator = _administrator(shandong, shandong_admin, office_phone=typed)
    administrator.full_clean()
    assert administrator.office_phone == stored


@pytest.mark.parametrize(
    "typed", ["82345678", "531-82345678", "0531-8234", "0531-82345678-", "tel"]
)
def test_office_phone_formats_that_are_refused(shandong, shandong_admin, typed):
    with pytest.raises(ValidationError) as caught:
        _administrator(shandong, shandong_admin, office_phone=typed).full_clean()
    assert [error.code for error in caught.value.error_dict["office_phone"]] == ["office_phone"]


@pytest.mark.parametrize(
    ("typed", "valid"),
    [
        ("13812345678", True),
        ("19912345678", True),
        ("１３８１２３４５６７８", True),
        ("12812345678", False),
        ("1381234567", False),
        ("138123456789", False),
    ],
)
def test_mobile_numbers(shandong, shandong_admin, typed, valid):
    administrator = _administrator(shandong, shandong_admin, mobile=typed)
    if valid:
        administrator.full_clean()
        return
    with pytest.raises(ValidationError) as caught:
        administrator.full_clean()
    assert "mobile" in caught.value.error_dict


def test_an_invalid_email_is_refused(shandong, shandong_admin):
    with pytest.raises(ValidationError) as caught:
        _administrator(shandong, shandong_admin, email="dengsq at aqsiq").full_clean()
    assert "email" in caught.value.error_dict


def test_current_administrator_is_the_latest_in_effect(shandong, shandong_admin):
    today = timezone.localdate()
    make_administrator(shandong, by=shandong_admin, name="甲", effective_from=date(2016, 1, 1))
    second = make_administrator(shandong, by=shandong_admin, name="乙", effective_from=today)
    make_administrator(
        shandong, by=shandong_admin, name="丙", effective_from=today + timedelta(days=30)
    )
    assert SystemAdministrator.objects.in_province(shandong).current() == second
    assert SystemAdministrator.objects.in_province(shandong).count() == 3  # history stays
    earlier = SystemAdministrator.objects.in_province(shandong).current(on=date(2016, 6, 1))
    assert earlier.name == "甲"


def test_current_administrator_falls_back_to_the_latest_row(shandong, shandong_admin):
    future = timezone.localdate() + timedelta(days=10)
    make_administrator(shandong, by=shandong_admin, effective_from=future)
    later = make_administrator(shandong, by=shandong_admin, effective_from=future + timedelta(1))
    assert SystemAdministrator.objects.in_province(shandong).current() == later


def test_no_administrator_filed_means_none(shandong_return):
    assert shandong_return.current_administrator() is None


def test_current_administrators_of_all_provinces_in_one_query(
    shandong, zhejiang, shandong_admin, django_assert_num_queries
):
    make_administrator(shandong, by=shandong_admin, name="旧", effective_from=date(2016, 1, 1))
    sd = make_administrator(shandong, by=shandong_admin, name="新", effective_from=date(2016, 9, 1))
    zj = make_administrator(zhejiang, by=shandong_admin, name="浙", effective_from=date(2016, 8, 1))
    with django_assert_num_queries(1):
        assert list(SystemAdministrator.objects.current_per_province()) == [zj, sd]


def test_the_return_shows_the_current_administrator(shandong_return, shandong_administrator):
    assert shandong_return.current_administrator() == shandong_administrator


# --- scoping ------------------------------------------------------------------------------


def test_returns_are_scoped_by_province(
    shandong_return, zhejiang_return, shandong_clerk, zhejiang_clerk, reviewer
):
    assert list(ProvincialReturn.objects.for_user(shandong_clerk)) == [shandong_return]
    assert list(ProvincialReturn.objects.for_user(zhejiang_clerk)) == [zhejiang_return]
    assert set(ProvincialReturn.objects.for_user(reviewer)) == {shandong_return, zhejiang_return}


def test_a_user_with_neither_province_nor_national_rights_sees_no_return(shandong_return):
    stranger = User.objects.create_user("stranger", password="x")  # noqa: S106
    assert not ProvincialReturn.objects.for_user(stranger).exists()


def test_administrators_are_scoped_by_province(
    shandong, zhejiang, shandong_admin, zhejiang_clerk, reviewer
):
    sd = make_administrator(shandong, by=shandong_admin)
    zj = make_administrator(zhejiang, by=zhejiang_clerk)
    assert list(SystemAdministrator.objects.for_user(shandong_admin)) == [sd]
    assert list(SystemAdministrator.objects.for_user(zhejiang_clerk)) == [zj]
    assert set(SystemAdministrator.objects.for_user(reviewer)) == {sd, zj}


# --- private storage ----------------------------------------------------------------------


def test_attachments_are_stored_outside_every_public_url_space():
    private = Path(private_storage.location).resolve()
    assert private == Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    for public in (settings.STATIC_ROOT, *settings.STATICFILES_DIRS):
        public = Path(public).resolve()
        assert not private.is_relative_to(public)
        assert not public.is_relative_to(private)
    with pytest.raises(ValueError):
        private_storage.url("returns/1/37/x.pdf")


def test_private_storage_follows_the_setting(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "elsewhere"
    assert Path(private_storage.location) == tmp_path / "elsewhere"


# --- admin pages --------------------------------------------------------------------------


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_return_and_campaign_lists_make_as_many_queries_for_64_returns_as_for_2(
    client, campaign, reviewer, shandong, zhejiang
):
    from django.urls import reverse

    from licensing.models import Province

    client.force_login(reviewer)
    ProvincialReturn.objects.create(campaign=campaign, province=shandong)
    ProvincialReturn.objects.create(campaign=campaign, province=zhejiang)
    urls = [
        reverse("admin:verification_provincialreturn_changelist"),
        reverse("admin:verification_campaign_changelist"),
    ]
    few = [_queries(client, url) for url in urls]
    later = Campaign.objects.create(
        notice_number="later",
        title="later",
        issued_on=date(2017, 1, 1),
        data_deadline=date(2017, 2, 1),
        return_deadline=date(2017, 2, 1),
    )
    for province in Province.objects.all():
        ProvincialReturn.objects.get_or_create(campaign=campaign, province=province)
        ProvincialReturn.objects.create(campaign=later, province=province)
    assert ProvincialReturn.objects.count() == 64
    assert [_queries(client, url) for url in urls] == few


def test_a_reviewer_creates_a_campaign_in_the_admin(client, reviewer):
    from django.urls import reverse

    client.force_login(reviewer)
    categories = InstrumentCategory.objects.filter(code__in=["water-meter", "heat-meter"])
    response = client.post(
        reverse("admin:verification_campaign_add"),
        {
            "notice_number": "质检量函〔2017〕12号",
            "title": "关于开展水表和热能表专项核查的通知",
            "issued_on": "2017-03-01",
            "categories": [category.pk for category in categories],
            "data_deadline": "2017-05-31",
            "return_deadline": "2017-06-30",
            "is_open": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Campaign.objects.get(notice_number="质检量函〔2017〕12号")
    assert set(created.categories.all()) == set(categories)


def test_a_provincial_user_only_reads_campaigns_in_the_admin(client, shandong_admin, campaign):
    from django.urls import reverse

    client.force_login(shandong_admin)
    url = reverse("admin:verification_campaign_change", args=[campaign.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"notice_number": "x", "title": "x"})
    campaign.refresh_from_db()
    assert campaign.title == "关于开展重点管理计量器具专项核查的通知"
