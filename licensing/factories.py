"""Build valid register objects: shared by seed_demo, the benchmark and the tests."""

from datetime import date, timedelta

from licensing.models import (
    InstrumentCategory,
    Licence,
    LicensedProduct,
    Manufacturer,
    Province,
)
from licensing.validators import credit_code_check_character


def credit_code(seed: int, region: str = "370100") -> str:
    """A valid 统一社会信用代码: 91 (enterprise) + 6-digit region + 9-digit body + check."""
    body = f"{seed:09d}"[-9:]
    first17 = f"91{region}{body}"
    return first17 + credit_code_check_character(first17)


def licence_number(province: Province, seed: int) -> str:
    return f"{province.abbreviation}制{seed:08d}号"


def make_manufacturer(province: Province, seed: int, **fields) -> Manufacturer:
    defaults = {
        "name": f"{province.name[:2]}测试计量仪器有限公司{seed}",
        "credit_code": credit_code(seed, region=f"{province.code}0100"),
        "province": province,
        "address": f"{province.name}某市某路{seed}号",
    }
    defaults.update(fields)
    return Manufacturer.objects.create(**defaults)


def make_licence(manufacturer: Manufacturer, seed: int, *, products: int = 1, **fields) -> Licence:
    issued = fields.pop("issued_on", date(2015, 3, 1) + timedelta(days=seed % 365))
    defaults = {
        "number": licence_number(manufacturer.province, seed),
        "manufacturer": manufacturer,
        "province": manufacturer.province,
        "issuing_authority": f"{manufacturer.province.name}质量技术监督局",
        "accepted_on": issued - timedelta(days=20),
        "issued_on": issued,
        "expires_on": issued + timedelta(days=3 * 365),
    }
    defaults.update(fields)
    licence = Licence.objects.create(**defaults)
    categories = list(InstrumentCategory.objects.order_by("sort_order"))
    for index in range(products):
        category = categories[(seed + index) % len(categories)]
        LicensedProduct.objects.create(
            licence=licence,
            category=category,
            product_name=category.name,
            model_spec=f"DT-{seed}-{index}",
        )
    return licence
