"""Demo returns of the 2016 campaign, written through the workflow's services (seed_demo).

山东's return is a draft with Attachment 2 filed, ready for the demo's cycle (answer, submit,
return, resubmit, accept). Other provinces' returns stand in every state of the workflow — a
draft, submitted on time, submitted late, returned with comments, resubmitted, accepted — at
plausible moments of autumn 2016 (Beijing time); the other reporting units have not started.

Create-only, like the rest of the demo: a province that already has a return for the campaign,
or a filed system administrator, is left exactly as it is.
"""

from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.roles import PROVINCIAL_ADMIN
from licensing.models import IssuingLevel, Province
from verification.factories import attach_scan, complete_answers
from verification.models import (
    AnnouncementMethod,
    Campaign,
    ProvincialReturn,
    ReformMeasure,
    SystemAdministrator,
)
from verification.services import (
    DEADLINE_ZONE,
    return_accept,
    return_save_draft,
    return_send_back,
    return_start,
    return_submit,
    system_administrator_add,
)

NOTICE_2016 = "质检量函〔2016〕27号"


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=DEADLINE_ZONE)


# Per province: its Attachment 2 (name, position, office telephone, mobile, effective from).
ADMINISTRATORS = {
    "11": ("王立新", "主任科员", "010-89152301", "13901011234", date(2016, 8, 10)),
    "12": ("赵春梅", "副调研员", "022-58102233", "13502021234", date(2016, 8, 12)),
    "13": ("刘建国", "科长", "0311-87021456", "13803111234", date(2016, 8, 15)),
    "31": ("陈静", "主任科员", "021-64181234", "13601211234", date(2016, 8, 9)),
    "32": ("周志强", "副处长", "025-83356789", "13905251234", date(2016, 8, 11)),
    "33": ("吴海燕", "主任科员", "0571-85112233", "13605711234", date(2016, 8, 16)),
    "34": ("孙磊", "科员", "0551-62871234", "13805511234", date(2016, 8, 22)),
    "37": ("张明", "科长", "0531-82345678", "13805311234", date(2016, 8, 1)),
    "44": ("黄伟", "主任科员", "020-83191234", "13902201234", date(2016, 8, 18)),
    "51": ("杨勇", "科长", "028-86651234", "13908281234", date(2016, 8, 17)),
}

# Answers that make each province's return its own (over verification.factories' complete ones).
ANSWERS = {
    "11": {
        "announcement_methods": [AnnouncementMethod.WEBSITE],
        "reform_measures": [ReformMeasure.ONLINE_APPROVAL, ReformMeasure.SHORTER_TIME_LIMITS],
        "reform_text": "全面推行网上受理，承诺办理时限由20个工作日压缩至15个工作日。",
    },
    "12": {
        "announcement_methods": [AnnouncementMethod.NEWSPAPER, AnnouncementMethod.WEBSITE],
        "reform_measures": [ReformMeasure.PARALLEL_APPROVAL],
        "reform_text": "型式批准与制造许可考核并联审批。",
    },
    "13": {
        "online_approval": False,
        "reform_measures": [ReformMeasure.ON_SITE_LICENSING],
        "reform_text": "对省内重点企业实行现场许可。",
    },
    "31": {
        "reform_measures": [ReformMeasure.ON_SITE_LICENSING, ReformMeasure.ONLINE_APPROVAL],
        "reform_text": "依托市政务服务网实行网上申请、现场许可。",
    },
    "32": {
        "institutions_authorised": False,
        "remarks": "部分出租车计价器型式评价委托市级计量技术机构承担，已于2016年9月停止委托。",
        "reform_measures": [ReformMeasure.DELEGATION],
        "reform_text": "部分审批权下放。",
    },
    "33": {
        "announcement_methods": [AnnouncementMethod.WEBSITE, AnnouncementMethod.NEWSPAPER],
        "licence_levels": [IssuingLevel.PROVINCIAL],
        "reform_measures": [ReformMeasure.ONLINE_APPROVAL, ReformMeasure.PARALLEL_APPROVAL],
        "reform_text": "“最多跑一次”改革，制造计量器具许可网上办理。",
    },
    "44": {
        "announcement_methods": [AnnouncementMethod.WEBSITE, AnnouncementMethod.BULLETIN_BOARD],
        "reform_measures": [ReformMeasure.ONLINE_APPROVAL],
        "reform_text": "广东省网上办事大厅受理。",
    },
    "51": {
        "reform_measures": [ReformMeasure.PARALLEL_APPROVAL, ReformMeasure.ONLINE_APPROVAL],
        "reform_text": "制造许可与型式批准并联办理。",
    },
}
# What a province changed after the reviewer returned its return.
REVISIONS = {
    "32": {
        "reform_text": (
            "将出租车计价器、衡器制造许可的现场考核委托设区市质量技术监督局承担，"
            "许可决定仍由省局作出；审批时限压缩至15个工作日。"
        ),
        "summary_problems": (
            "部分设区市考核人员不足，考核报告质量参差不齐；个别企业获证后未及时办理变更。"
        ),
    },
    "44": {"list_filed": True, "summary_problems": "个别许可公告未及时报总局备案，已于11月补报。"},
    "51": {"remarks": "2016年已撤销县级发证2张，详见总结。"},
}
# A draft's first answers: the departments and the basic situation; the rest is still to do.
DRAFT_ANSWERS = ("type_approval_department", "licence_department", "summary_basic")

# Each step: (what, Beijing time, details). "save" writes the answers (ANSWERS, or REVISIONS
# after a send-back); "submit" attests and submits; the reviewer sends back or accepts.
TIMELINES = {
    # A draft, ready for the demo's cycle.
    "37": (("save", (2016, 10, 10, 9, 30), "draft"),),
    # Accepted, on time.
    "11": (
        ("save", (2016, 10, 12, 9, 40), "answers"),
        ("submit", (2016, 10, 24, 10, 12), None),
        ("accept", (2016, 10, 27, 15, 40), ""),
    ),
    # Submitted on time, awaiting review.
    "12": (
        ("save", (2016, 10, 18, 14, 5), "answers"),
        ("submit", (2016, 10, 28, 16, 5), None),
    ),
    # Submitted late, awaiting review.
    "13": (
        ("save", (2016, 10, 27, 10, 20), "answers"),
        ("submit", (2016, 11, 3, 9, 47), None),
    ),
    # Accepted, late.
    "31": (
        ("save", (2016, 10, 25, 11, 0), "answers"),
        ("submit", (2016, 11, 1, 11, 20), None),
        ("accept", (2016, 11, 8, 10, 30), "已收到，材料齐全。"),
    ),
    # Returned, revised and resubmitted on time: awaiting review of what changed.
    "32": (
        ("save", (2016, 10, 14, 15, 30), "answers"),
        ("submit", (2016, 10, 21, 17, 10), None),
        (
            "send_back",
            (2016, 10, 25, 9, 15),
            {
                "comment": "请补充说明审批权下放的具体事项和范围，并完善存在的问题部分。",
                "field_comments": {
                    "reform_measures": "“审批权下放”请写明下放的事项、层级和时间。",
                    "summary_problems": "请结合本省核查发现的问题具体填写。",
                },
            },
        ),
        ("save", (2016, 10, 27, 16, 40), "revision"),
        ("submit", (2016, 10, 28, 10, 5), None),
    ),
    # Returned with comments on fields: the province is revising it.
    "33": (
        ("save", (2016, 10, 17, 10, 15), "answers"),
        ("submit", (2016, 10, 26, 15, 30), None),
        (
            "send_back",
            (2016, 11, 1, 14, 20),
            {
                "comment": "登记系统的核查结果与附件1的回答不一致，请核实后重新报送。",
                "field_comments": {
                    "out_of_scope": "系统显示存在县级、市级发证的重点管理计量器具许可证，请核实并如实填写。",
                    "list_filed": "仍有公告未报总局备案，请核实。",
                },
            },
        ),
    ),
    # A draft.
    "34": (("save", (2016, 10, 20, 16, 0), "draft"),),
    # Submitted late, returned, resubmitted: still late, awaiting review.
    "44": (
        ("save", (2016, 10, 28, 9, 0), "answers"),
        ("submit", (2016, 11, 2, 18, 30), None),
        (
            "send_back",
            (2016, 11, 7, 10, 0),
            {"comment": "", "field_comments": {"list_filed": "请核实获证名单的备案情况。"}},
        ),
        ("save", (2016, 11, 9, 15, 0), "revision"),
        ("submit", (2016, 11, 10, 9, 30), None),
    ),
    # Returned once, resubmitted and accepted, all on time.
    "51": (
        ("save", (2016, 10, 11, 10, 0), "answers"),
        ("submit", (2016, 10, 19, 11, 45), None),
        (
            "send_back",
            (2016, 10, 21, 16, 10),
            {"comment": "请在备注中说明县级发证许可证的处理情况。", "field_comments": {}},
        ),
        ("save", (2016, 10, 24, 9, 30), "revision"),
        ("submit", (2016, 10, 25, 14, 0), None),
        ("accept", (2016, 10, 31, 11, 0), "同意。"),
    ),
}


def _province_user(province: Province, *, group: Group, administrators: dict):
    """Who submits for the province: its demo login if it has one, else a demo account.

    Those accounts only record who did what on the demo's returns: they cannot log in.
    """
    if province.code in administrators:
        return administrators[province.code]
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=f"demo_admin_{province.code}",
        defaults={
            "province": province,
            "first_name": ADMINISTRATORS[province.code][0],
            "is_staff": False,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.set([group])
    return user


def _file_administrator(province: Province, by) -> bool:
    if SystemAdministrator.objects.in_province(province).exists():
        return False
    name, title, office_phone, mobile, effective_from = ADMINISTRATORS[province.code]
    administrator = system_administrator_add(
        province=province,
        by=by,
        data={
            "name": name,
            "organisation": f"{province.name}质量技术监督局计量处",
            "title": title,
            "office_phone": office_phone,
            "mobile": mobile,
            "email": f"admin{province.code}@example.gov.cn",
            "effective_from": effective_from,
        },
    )
    # Filed when it took effect, not when the demo was seeded.
    SystemAdministrator.objects.filter(pk=administrator.pk).update(
        created_at=beijing(effective_from.year, effective_from.month, effective_from.day, 9)
    )
    return True


def _answers(province: Province, kind: str) -> dict:
    answers = complete_answers(province, **ANSWERS.get(province.code, {}))
    if kind == "draft":
        return {name: answers[name] for name in DRAFT_ANSWERS}
    if kind == "revision":
        return REVISIONS[province.code]
    return answers


def seed_returns(*, administrators: dict, editors: dict, reviewer) -> tuple[int, int]:
    """Write the demo's returns of the 2016 campaign; returns (created, left unchanged).

    `administrators` and `editors` map province codes to the demo logins that submit and that
    key in the answers (others get a demo account that submits and edits); `reviewer` decides.
    """
    campaign = Campaign.objects.get(notice_number=NOTICE_2016)
    provinces = Province.objects.in_bulk(list(TIMELINES), field_name="code")
    group = Group.objects.get(name=PROVINCIAL_ADMIN)
    created = 0
    for code, steps in TIMELINES.items():
        province = provinces[code]
        submitter = _province_user(province, group=group, administrators=administrators)
        editor = editors.get(code, submitter)
        _file_administrator(province, submitter)
        if ProvincialReturn.objects.filter(campaign=campaign, province=province).exists():
            continue
        started = beijing(*steps[0][1])
        provincial_return = return_start(campaign=campaign, by=editor, at=started)
        ProvincialReturn.objects.filter(pk=provincial_return.pk).update(
            created_at=started, updated_at=started
        )
        for action, moment, details in steps:
            at = beijing(*moment)
            if action == "save":
                return_save_draft(
                    provincial_return=provincial_return,
                    by=editor,
                    data=_answers(province, details),
                    at=at,
                )
            elif action == "submit":
                if not provincial_return.attachments.current().exists():
                    attach_scan(
                        provincial_return,
                        by=editor,
                        name=f"{province.name}核查总结（盖章）.pdf",
                        at=at,
                    )
                # The service counts the register's findings and keeps them with the submission.
                return_submit(provincial_return=provincial_return, by=submitter, attest=True, at=at)
            elif action == "send_back":
                return_send_back(provincial_return=provincial_return, by=reviewer, at=at, **details)
            elif action == "accept":
                return_accept(
                    provincial_return=provincial_return, by=reviewer, comment=details, at=at
                )
        created += 1
    return created, len(TIMELINES) - created
