"""Fixtures and helpers of the verification tests: the 2016 campaign and 山东's return."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from verification.factories import attach_scan, complete_answers, make_administrator
from verification.models import Campaign, ProvincialReturn
from verification.services import (
    return_accept,
    return_save_draft,
    return_send_back,
    return_start,
    return_submit,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTICE_2016 = "质检量函〔2016〕27号"


def beijing(*args) -> datetime:
    """A moment given in Beijing time."""
    return datetime(*args, tzinfo=SHANGHAI)


# On time for the 2016 campaign (deadline 2016-10-31).
ON_TIME = beijing(2016, 10, 20, 10, 0)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Attachments of every test here go to a temporary folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def campaign(db):
    return Campaign.objects.get(notice_number=NOTICE_2016)


@pytest.fixture
def shandong_administrator(shandong, shandong_admin):
    return make_administrator(shandong, by=shandong_admin, effective_from=date(2016, 8, 1))


@pytest.fixture
def shandong_return(campaign, shandong_admin):
    return return_start(campaign=campaign, by=shandong_admin)


@pytest.fixture
def complete_return(shandong_return, shandong_admin, shandong_administrator):
    """山东's return with every answer given, Attachment 2 filed and the stamped scan attached:
    ready to submit."""
    attach_scan(shandong_return, by=shandong_admin)
    return return_save_draft(
        provincial_return=shandong_return,
        by=shandong_admin,
        data=complete_answers(shandong_return.province),
    )


@pytest.fixture
def zhejiang_return(campaign, zhejiang_clerk):
    return return_start(campaign=campaign, by=zhejiang_clerk)


def bring_to(provincial_return: ProvincialReturn, status: str, *, admin, reviewer):
    """Drive a complete draft into `status` through the services, as users would."""
    if status == "draft":
        return provincial_return
    if not provincial_return.attachments.current().exists():
        attach_scan(provincial_return, by=admin)
    return_submit(provincial_return=provincial_return, by=admin, attest=True, at=ON_TIME)
    if status == "returned":
        return_send_back(provincial_return=provincial_return, by=reviewer, comment="请补充。")
    elif status == "accepted":
        return_accept(provincial_return=provincial_return, by=reviewer)
    provincial_return.refresh_from_db()
    assert provincial_return.status == status
    return provincial_return
