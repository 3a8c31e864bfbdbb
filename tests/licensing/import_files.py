"""Licence lists for the import screens' tests: rows as dicts keyed by the template's headers."""

import io
from datetime import date
from pathlib import Path

import openpyxl

from licensing.factories import credit_code

HEADERS = [
    "许可证编号", "企业名称", "统一社会信用代码", "企业地址", "计量器具类别", "产品名称",
    "型号规格", "准确度等级", "测量范围", "型式批准证书编号", "发证机关", "发证层级",
    "受理日期", "发证日期", "有效期至", "状态",
]  # fmt: skip
CATEGORIES = ["水表", "电能表", "衡器", "热能表"]


def licence_row(seed: int, product: int = 0) -> dict:
    """A valid 山东 row: licence and manufacturer ``seed``, its product number ``product``."""
    return {
        "许可证编号": f"鲁制{seed:08d}号",
        "企业名称": f"山东导入测试计量仪器有限公司{seed}",
        "统一社会信用代码": credit_code(700000 + seed, region="370100"),
        "企业地址": f"山东省济南市测试路{seed}号",
        "计量器具类别": CATEGORIES[product % len(CATEGORIES)],
        "产品名称": f"测试产品{product}",
        "型号规格": f"T-{seed}-{product}",
        "准确度等级": "2级",
        "测量范围": None,
        "型式批准证书编号": None,
        "发证机关": "山东省质量技术监督局",
        "发证层级": "省级",
        "受理日期": date(2016, 4, 20),
        "发证日期": date(2016, 5, 12),
        "有效期至": date(2019, 5, 11),
        "状态": "有效",
    }


def licence_rows(count: int, *, first: int = 1, products_per_licence: int = 2) -> list[dict]:
    """``count`` product rows, ``products_per_licence`` to a licence."""
    return [
        licence_row(first + index // products_per_licence, index % products_per_licence)
        for index in range(count)
    ]


def with_wrong_check_character(row: dict) -> dict:
    code = row["统一社会信用代码"]
    return {**row, "统一社会信用代码": code[:-1] + ("0" if code[-1] != "0" else "1")}


def with_expiry_before_issue(row: dict) -> dict:
    return {**row, "有效期至": date(2015, 1, 1)}


def xlsx(rows: list[dict], headers=HEADERS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header) for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsx(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(xlsx(rows))
    return path
