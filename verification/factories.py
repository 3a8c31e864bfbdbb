"""Build valid verification objects: shared by seed data and the tests."""

from datetime import date

from licensing.models import IssuingLevel, Province
from verification.models import AnnouncementMethod, ReformMeasure, SystemAdministrator


def complete_answers(province: Province, **overrides) -> dict:
    """Answers to every question of Attachment 1 and the summary, ready to submit."""
    answers = {
        "out_of_scope": False,
        "institutions_authorised": True,
        "announcement_methods": [AnnouncementMethod.WEBSITE],
        "announcement_methods_other": "",
        "list_filed": True,
        "online_approval": True,
        "type_approval_department": f"{province.name}质量技术监督局计量处",
        "type_approval_levels": [IssuingLevel.PROVINCIAL],
        "licence_department": f"{province.name}质量技术监督局计量处",
        "licence_levels": [IssuingLevel.PROVINCIAL],
        "reform_measures": [ReformMeasure.ONLINE_APPROVAL],
        "reform_text": "制造计量器具许可实行网上受理。",
        "remarks": "",
        "summary_basic": f"{province.name}共核查重点管理计量器具制造许可证若干张。",
        "summary_experience": "建立许可信息专人管理制度。",
        "summary_problems": "部分企业信息更新不及时。",
        "summary_suggestions": "建议统一许可数据接口。",
    }
    answers.update(overrides)
    return answers


def make_administrator(
    province: Province, *, by, effective_from: date = date(2016, 8, 1), **fields
) -> SystemAdministrator:
    """A filed Attachment 2 for `province`."""
    defaults = {
        "name": "张明",
        "organisation": f"{province.name}质量技术监督局计量处",
        "title": "科长",
        "office_phone": "0531-82345678",
        "mobile": "13812345678",
        "email": f"admin{province.code}@example.gov.cn",
    }
    defaults.update(fields)
    return SystemAdministrator.objects.create(
        province=province, created_by=by, effective_from=effective_from, **defaults
    )


# The smallest file the attachment check accepts as a PDF: the demo's and the tests' "scan".
SCAN_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def attach_scan(provincial_return, *, by, name: str = "盖章扫描件.pdf", at=None):
    """Attach a stamped scan (a tiny PDF) to an editable return, as the province would."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from verification.services import return_attachment_add

    return return_attachment_add(
        provincial_return=provincial_return,
        by=by,
        file=SimpleUploadedFile(name, SCAN_PDF, content_type="application/pdf"),
        at=at,
    )
