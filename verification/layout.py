"""The notice's own layouts: Attachment 1's columns and groups, its notes, Attachment 2, the summary.

One definition serves every screen that draws a return — the edit page asks the questions in the
columns' order, the review page and the print view show the answers under the same headings — so
a heading changes in one place. The headings are the notice's wording (质检量函〔2016〕27号); their
English source says what each column asks, and the translators' comments give the official text.
"""

from dataclasses import dataclass

from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from verification.fields import ChoiceListField
from verification.models import SUMMARY_FIELDS, ProvincialReturn, SystemAdministrator


@dataclass(frozen=True)
class Column:
    """One column of Attachment 1: the question it asks and the return's fields that answer it."""

    key: str  # the main field's name; also the anchor of the question on the pages
    heading: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ColumnGroup:
    """A merged heading over several columns."""

    heading: str
    columns: tuple[Column, ...]


# Translators: the official title of Attachment 1: 重点管理的计量器具型式批准和制造许可情况调查表
ATTACHMENT1_TITLE = pgettext_lazy(
    "attachment 1",
    "Survey of type approval and manufacturing licensing of key-managed measuring instruments",
)
# Translators: Attachment 1's first column: 省份
PROVINCE_HEADING = pgettext_lazy("attachment 1", "Province")

LICENSING_WORK = ColumnGroup(
    # Translators: Attachment 1's merged heading: 许可工作情况
    pgettext_lazy("attachment 1", "Licensing work"),
    (
        Column(
            "out_of_scope",
            # Translators: Attachment 1's column: 是否超范围许可
            pgettext_lazy("attachment 1", "Any out-of-scope licensing?"),
            ("out_of_scope",),
        ),
        Column(
            "institutions_authorised",
            # Translators: Attachment 1's column: 型式评价机构是否为总局统一授权的机构
            pgettext_lazy(
                "attachment 1",
                "Are the type-evaluation institutions uniformly authorised by the national "
                "authority?",
            ),
            ("institutions_authorised",),
        ),
        Column(
            "announcement_methods",
            # Translators: Attachment 1's column: 制造许可核准、变更、注销公告的方式
            pgettext_lazy(
                "attachment 1",
                "How approvals, changes and cancellations of manufacturing licences are announced",
            ),
            ("announcement_methods", "announcement_methods_other"),
        ),
        Column(
            "list_filed",
            # Translators: Attachment 1's column: 制造许可获证名单是否报总局备案
            pgettext_lazy(
                "attachment 1",
                "Is the list of licensed manufacturers filed with the national authority?",
            ),
            ("list_filed",),
        ),
    ),
)
REFORM = ColumnGroup(
    # Translators: Attachment 1's merged heading: 行政审批制度改革情况
    pgettext_lazy("attachment 1", "Reform of the administrative-approval system"),
    (
        Column(
            "online_approval",
            # Translators: Attachment 1's column: 是否开展网上审批
            pgettext_lazy("attachment 1", "Is approval carried out online?"),
            ("online_approval",),
        ),
        Column(
            "type_approval_department",
            # Translators: Attachment 1's column: 型式批准证书发证部门和层级
            pgettext_lazy(
                "attachment 1", "Department and level issuing type-approval certificates"
            ),
            ("type_approval_department", "type_approval_levels"),
        ),
        Column(
            "licence_department",
            # Translators: Attachment 1's column: 制造许可证发证部门和层级
            pgettext_lazy("attachment 1", "Department and level issuing manufacturing licences"),
            ("licence_department", "licence_levels"),
        ),
        Column(
            "reform_measures",
            # Translators: Attachment 1's column, worded as its group heading: 行政审批制度改革情况
            pgettext_lazy("attachment 1", "Reform of the administrative-approval system"),
            ("reform_measures", "reform_text"),
        ),
    ),
)
ATTACHMENT1_GROUPS = (LICENSING_WORK, REFORM)
REMARKS = Column(
    "remarks",
    # Translators: Attachment 1's last column: 备注
    pgettext_lazy("attachment 1", "Remarks"),
    ("remarks",),
)
# Every answered column of Attachment 1, in the table's order.
ATTACHMENT1_COLUMNS = (*LICENSING_WORK.columns, *REFORM.columns, REMARKS)

# Translators: the label of Attachment 1's notes: 备注
ATTACHMENT1_NOTES_LABEL = pgettext_lazy("attachment 1", "Notes:")
ATTACHMENT1_NOTES = (
    # Translators: Attachment 1, note 1: 型式评价机构如非总局统一授权的机构，请在备注中说明原因
    _(
        "If a type-evaluation institution is not uniformly authorised by the national "
        "authority, give the reason in the remarks."
    ),
    # Translators: Attachment 1, note 2: 型式批准、制造许可证发证部门请填写到处（科），发证层级填写省级、市级或县级
    _(
        "Give the departments issuing type approvals and manufacturing licences down to the "
        "division (section); give the issuing level as provincial, municipal or county."
    ),
    # Translators: Attachment 1, note 3: 行政审批制度改革情况一栏简要填写当地行政审批改革措施，如现场许可或并联审批等
    _(
        "In the reform column, briefly describe the local reform measures of administrative "
        "approval, such as on-site licensing or parallel approval."
    ),
)
# Translators: the line above Attachment 1's table: 报送单位
REPORTING_UNIT_LABEL = _("Reporting unit:")
# Translators: where the reporting unit stamps Attachment 1: （公章）
OFFICIAL_SEAL = _("(official seal)")

# Translators: the official title of Attachment 2: 计量器具许可证管理系统省局系统管理员信息表
ATTACHMENT2_TITLE = pgettext_lazy(
    "attachment 2",
    "System administrators of the provincial bureaus in the measuring-instrument licence "
    "management system",
)
ATTACHMENT2_FIELDS = ("name", "organisation", "title", "office_phone", "mobile", "email")
# Translators: Attachment 2's note: 若系统管理员发生变动，请再次填写此表，并及时上报总局计量司。
ATTACHMENT2_NOTE = _(
    "Notes: if the system administrator changes, fill in this form again and report it to the "
    "Metrology Department of the national authority without delay."
)


# Attachment 2's headings where the notice words them otherwise than the form's labels. The
# notice writes its last column "E-mail" in its Chinese table: the official text, not English
# interface text, so it is not translated.
ATTACHMENT2_HEADINGS = {"email": "E-mail"}


def attachment2_headings() -> list[str]:
    """姓名 单位 职务 办公电话 手机 E-mail, as in the notice."""
    return [
        str(
            ATTACHMENT2_HEADINGS.get(name)
            or capfirst(str(SystemAdministrator._meta.get_field(name).verbose_name))
        )
        for name in ATTACHMENT2_FIELDS
    ]


def field_label(name: str) -> str:
    # Lazy (capfirst keeps it so): SUMMARY_COLUMNS is built when the module is imported, before
    # any request has chosen the language.
    return capfirst(ProvincialReturn._meta.get_field(name).verbose_name)


# The written summary's four parts: each a one-field "column" with the field's own label.
SUMMARY_COLUMNS = tuple(Column(name, field_label(name), (name,)) for name in SUMMARY_FIELDS)


def display_value(name: str, value) -> str:
    """One answer as the notice's table shows it: 是/否, ticked labels joined by 、, or the text."""
    if value is None or value == "" or value == []:
        return ""
    field = ProvincialReturn._meta.get_field(name)
    if isinstance(field, ChoiceListField):
        return field.display(value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return str(value)


def column_display(column: Column, provincial_return) -> str:
    """The text of one Attachment 1 cell, from the return's answers."""
    values = {name: getattr(provincial_return, name) for name in column.fields}
    if column.key == "announcement_methods":
        parts = [display_value("announcement_methods", values["announcement_methods"])]
        other = values["announcement_methods_other"].strip()
        if other:
            parts.append(gettext("other: %(method)s") % {"method": other})
        return "、".join(part for part in parts if part)
    if column.key in ("type_approval_department", "licence_department"):
        department_name, levels_name = column.fields
        department = values[department_name].strip()
        levels = display_value(levels_name, values[levels_name])
        if department and levels:
            return gettext("%(department)s (%(levels)s)") % {
                "department": department,
                "levels": levels,
            }
        return department or levels
    if column.key == "reform_measures":
        parts = [
            display_value("reform_measures", values["reform_measures"]),
            values["reform_text"].strip(),
        ]
        return "；".join(part for part in parts if part)
    (name,) = column.fields
    return display_value(name, values[name])
