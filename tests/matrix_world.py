"""The world the permission matrix and the URL walks act on: one object of every model in
山东 and in 浙江, and the national reference rows. Imported by the test modules that use it."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from accounts.roles import REVIEWER
from licensing.factories import make_licence, make_manufacturer
from licensing.models import (
    Announcement,
    ImportBatch,
    InstrumentCategory,
    Licence,
    LicensedProduct,
    Manufacturer,
    Province,
    TypeApproval,
    TypeEvaluationInstitution,
)
from tests.conftest import make_user
from tests.licensing.import_files import licence_row, xlsx
from verification.factories import complete_answers, make_administrator
from verification.models import Campaign, ProvincialReturn, ReturnAttachment
from verification.services import return_attachment_add, return_save_draft, return_submit

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(shandong, zhejiang):
    """One object of every province-owned model in 山东 and in 浙江."""
    objects = {}
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    for key, province, seed in [("37", shandong, 10), ("33", zhejiang, 20)]:
        manufacturer = make_manufacturer(province, seed)
        licence = make_licence(manufacturer, seed, products=1)
        type_approval = TypeApproval.objects.create(
            certificate_number=f"2015F{seed:03d}-{province.code}",
            province=province,
            manufacturer=manufacturer,
            category=InstrumentCategory.objects.get(code="water-meter"),
            product_name="水表",
            model_spec=f"LXS-{seed}",
            approved_on=date(2014, 5, 1),
            issuing_department=f"{province.name}质量技术监督局计量处",
        )
        announcement = Announcement.objects.create(
            licence=licence, kind="approval", method="website", published_on=date(2015, 6, 1)
        )
        objects[key] = {
            "manufacturer": manufacturer,
            "licence": licence,
            "licensedproduct": licence.products.get(),
            "typeapproval": type_approval,
            "announcement": announcement,
            "user": make_user(f"user_{province.code}", province=province),
            "provincialreturn": ProvincialReturn.objects.create(
                campaign=campaign, province=province
            ),
        }
    institution = TypeEvaluationInstitution.objects.create(name="中国计量科学研究院", province_id=1)
    objects["national"] = {
        "province": shandong,
        "instrumentcategory": InstrumentCategory.objects.first(),
        "typeevaluationinstitution": institution,
        "campaign": campaign,
    }
    return objects


@pytest.fixture
def matrix(world):
    """The world, with each product linked to its type approval, an import batch per province,
    a group, and a superuser whose forms stand in where a role may not open one."""
    for key in ("37", "33"):
        objects = world[key]
        product = objects["licensedproduct"]
        product.type_approval = objects["typeapproval"]
        product.type_approval_number = objects["typeapproval"].certificate_number
        product.save()
        objects["importbatch"] = ImportBatch.objects.create(
            created_by=objects["user"],
            province=objects["licence"].province,
            file_name=f"list-{key}.xlsx",
            sha256="0" * 64,
            errors=[{"row": 2, "column": "有效期至", "message": "x"}],
            content=xlsx([licence_row(90 + int(key))]),
        )
    world["national"]["group"] = Group.objects.get(name=REVIEWER)
    world["superuser"] = make_user("root", is_superuser=True)
    return world


# The world's keys by model, for walks that fill URL arguments by model.
MODELS = {
    "manufacturer": Manufacturer,
    "licence": Licence,
    "licensedproduct": LicensedProduct,
    "typeapproval": TypeApproval,
    "announcement": Announcement,
    "user": User,
    "provincialreturn": ProvincialReturn,
    "importbatch": ImportBatch,
    "province": Province,
    "instrumentcategory": InstrumentCategory,
    "typeevaluationinstitution": TypeEvaluationInstitution,
    "campaign": Campaign,
    "group": Group,
}


@pytest.fixture
def site_objects(matrix, shandong_admin, zhejiang_clerk, settings, tmp_path):
    """Per province, one object of each model by model class; each return has Attachment 2 and
    an attachment, and 山东's is submitted, so that every page has something to show."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    objects = {}
    for code, user in (("37", shandong_admin), ("33", zhejiang_clerk)):
        provincial_return = matrix[code]["provincialreturn"]
        make_administrator(provincial_return.province, by=user)
        attachment = return_attachment_add(
            provincial_return=provincial_return,
            by=user,
            file=SimpleUploadedFile("核查总结.pdf", PDF, content_type="application/pdf"),
        )
        objects[code] = {
            model: matrix[code].get(key, matrix["national"].get(key))
            for key, model in MODELS.items()
        }
        objects[code][User] = user
        objects[code][ReturnAttachment] = attachment
    shandong_return = matrix["37"]["provincialreturn"]
    return_save_draft(
        provincial_return=shandong_return,
        by=shandong_admin,
        data=complete_answers(shandong_return.province),
    )
    return_submit(provincial_return=shandong_return, by=shandong_admin, attest=True)
    return objects
