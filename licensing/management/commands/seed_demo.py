"""Seed a demo register for 山东 and 浙江, three demo logins and the 2016 campaign's returns.

Running it again changes nothing.

The data is planned in memory from a fixed random seed, so every run plans the same rows. Writing
is create-only, keyed on the identities the register itself uses (credit code, licence number,
type-approval certificate number, institution name): rows that already exist are left exactly as
they are, and a licence's products and announcements are written only with the licence. That also
keeps `--force` from overwriting real data that happens to share a number with the demo.

The register is well kept except for a few faults planted on purpose (plan_findings), so that
the special verification's findings show each of their rules on the demo. The returns
(verification/demo.py) put 山东's in draft for the demo's cycle and other provinces' in every state
of the workflow.
"""

import functools
import random
import unicodedata
from datetime import date, timedelta
from itertools import chain

from chinese_calendar import is_workday
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from accounts.roles import DATA_ENTRY, PROVINCIAL_ADMIN, REVIEWER
from licensing.factories import credit_code, licence_number
from licensing.models import (
    Announcement,
    AnnouncementKind,
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
    Province,
    PublicationMethod,
    TypeApproval,
    TypeEvaluationInstitution,
)
from licensing.statistics import register_counts_refresh
from verification.demo import seed_returns
from verification.models import ProvincialReturn

SEED = 2016

# user name, development password, role (group name), province code (None: national staff).
# Each demo province has its administrator, who alone submits the province's return.
DEMO_USERS = (
    ("shandong_admin", "demo-shandong-2016", PROVINCIAL_ADMIN, "37"),
    ("zhejiang_admin", "demo-zhejiang-admin-2016", PROVINCIAL_ADMIN, "33"),
    ("zhejiang_clerk", "demo-zhejiang-2016", DATA_ENTRY, "33"),
    ("reviewer", "demo-reviewer-2016", REVIEWER, None),
)
# Names (the administrators as Attachment 2 of the demo returns names them) and e-mail
# addresses (a reserved example domain), so that the workflow's e-mails
# reach someone, and show in the development server's console.
DEMO_PEOPLE = {
    "shandong_admin": ("张明", "shandong_admin@example.com"),
    "zhejiang_admin": ("吴海燕", "zhejiang_admin@example.com"),
    "zhejiang_clerk": ("李静", "zhejiang_clerk@example.com"),
    "reviewer": ("赵明", "reviewer@example.com"),
}

# Per province: prefecture-level cities (name, GB/T 2260 code, telephone area code, districts
# and county-level units), how many manufacturers of each main category, licences in total,
# and where the province publishes its licensing decisions.
PROVINCES = {
    "37": {
        "cities": (
            ("济南", "370100", "0531", ("历下区", "市中区", "天桥区", "历城区", "章丘市")),
            (
                "青岛",
                "370200",
                "0532",
                ("市南区", "市北区", "黄岛区", "城阳区", "即墨市", "胶州市"),
            ),
            ("淄博", "370300", "0533", ("张店区", "临淄区", "博山区", "周村区", "桓台县")),
            ("枣庄", "370400", "0632", ("市中区", "滕州市")),
            ("东营", "370500", "0546", ("东营区", "广饶县")),
            ("烟台", "370600", "0535", ("芝罘区", "莱山区", "福山区", "龙口市")),
            ("潍坊", "370700", "0536", ("奎文区", "潍城区", "寿光市", "诸城市")),
            ("济宁", "370800", "0537", ("任城区", "兖州区", "曲阜市")),
            ("泰安", "370900", "0538", ("泰山区", "岱岳区", "新泰市")),
            ("威海", "371000", "0631", ("环翠区", "文登区", "荣成市")),
            ("日照", "371100", "0633", ("东港区", "莒县")),
            ("临沂", "371300", "0539", ("兰山区", "罗庄区", "河东区", "沂水县")),
            ("德州", "371400", "0534", ("德城区", "禹城市", "乐陵市")),
            ("聊城", "371500", "0635", ("东昌府区", "临清市")),
            ("滨州", "371600", "0543", ("滨城区", "邹平县")),
            ("菏泽", "371700", "0530", ("牡丹区", "曹县")),
        ),
        "manufacturers": {
            "electricity-meter": 8,
            "water-meter": 8,
            "gas-meter": 6,
            "weighing-instrument": 16,
            "fuel-dispenser": 5,
            "taxi-meter": 4,
            "heat-meter": 5,
            "dust-meter": 4,
            "methane-detector": 4,
        },
        "licences": 150,
        "newspaper": "大众日报",
    },
    "33": {
        "cities": (
            ("杭州", "330100", "0571", ("西湖区", "滨江区", "余杭区", "萧山区", "富阳区")),
            (
                "宁波",
                "330200",
                "0574",
                ("鄞州区", "江北区", "北仑区", "余姚市", "慈溪市", "宁海县"),
            ),
            ("温州", "330300", "0577", ("鹿城区", "瓯海区", "乐清市", "瑞安市", "永嘉县")),
            ("嘉兴", "330400", "0573", ("南湖区", "海宁市", "桐乡市")),
            ("湖州", "330500", "0572", ("吴兴区", "长兴县", "德清县")),
            ("绍兴", "330600", "0575", ("越城区", "柯桥区", "诸暨市", "上虞区")),
            ("金华", "330700", "0579", ("婺城区", "义乌市", "永康市", "东阳市")),
            ("衢州", "330800", "0570", ("柯城区", "江山市")),
            ("舟山", "330900", "0580", ("定海区",)),
            ("台州", "331000", "0576", ("椒江区", "黄岩区", "路桥区", "温岭市", "玉环县")),
            ("丽水", "331100", "0578", ("莲都区", "缙云县")),
        ),
        "manufacturers": {
            "electricity-meter": 14,
            "water-meter": 10,
            "gas-meter": 8,
            "weighing-instrument": 10,
            "fuel-dispenser": 4,
            "taxi-meter": 4,
            "heat-meter": 5,
            "dust-meter": 2,
            "methane-detector": 3,
        },
        "licences": 150,
        "newspaper": "浙江日报",
    },
}

# Main category -> (a second category such makers often also hold, words for company names).
SPECIALTIES = {
    "electricity-meter": (None, ("仪表", "电气", "电子科技", "智能电表")),
    "water-meter": ("heat-meter", ("水表", "仪表", "智能水表", "流体计量")),
    "gas-meter": (None, ("燃气表", "燃气计量", "仪表", "燃气设备")),
    "weighing-instrument": (None, ("衡器", "电子衡器", "称重系统", "电子秤")),
    "fuel-dispenser": (None, ("加油设备", "石油机械", "加油机", "能源设备")),
    "taxi-meter": (None, ("电子", "计价器", "车载电子")),
    "heat-meter": ("water-meter", ("热能仪表", "热计量", "仪表")),
    "dust-meter": ("methane-detector", ("安全仪器", "矿用仪器", "环境监测仪器")),
    "methane-detector": ("dust-meter", ("矿山安全设备", "安全仪器", "传感技术")),
}

# The product lines a manufacturer may hold: category, product name, accuracy class, model,
# measuring range. Text is NFKC-stable (m3, not m³) so that an export of the demo re-imports
# unchanged.
# fmt: off
PRODUCT_LINES = (
    ("electricity-meter", "单相电子式电能表", "2级", "DDS1024", "5(60)A"),
    ("electricity-meter", "单相电子式电能表", "2级", "DDS2111", "10(40)A"),
    ("electricity-meter", "单相费控智能电能表", "2级", "DDZY1024-Z", "5(60)A"),
    ("electricity-meter", "单相费控智能电能表", "2级", "DDZY71", "10(60)A"),
    ("electricity-meter", "单相电子式预付费电能表", "2级", "DDSY2868", "10(40)A"),
    ("electricity-meter", "三相四线电子式有功电能表", "0.5S级", "DTS634", "3×1.5(6)A 3×57.7/100V"),
    ("electricity-meter", "三相四线电子式有功电能表", "0.5S级", "DTSD341", "3×1.5(6)A 3×220/380V"),
    ("electricity-meter", "三相四线费控智能电能表", "1级", "DTZY341", "3×10(100)A 3×220/380V"),
    ("water-meter", "旋翼式冷水水表", "2级", "LXS-15E", "Q3=2.5m3/h R=100"),
    ("water-meter", "旋翼式冷水水表", "2级", "LXS-20E", "Q3=4m3/h R=100"),
    ("water-meter", "旋翼式冷水水表", "2级", "LXS-25E", "Q3=6.3m3/h R=100"),
    ("water-meter", "旋翼式热水水表", "2级", "LXR-20E", "Q3=4m3/h R=63"),
    ("water-meter", "IC卡智能冷水水表", "2级", "LXSK-15C", "Q3=2.5m3/h R=80"),
    ("water-meter", "IC卡智能冷水水表", "2级", "LXSK-20C", "Q3=4m3/h R=80"),
    ("water-meter", "水平螺翼式冷水水表", "2级", "LXLC-50", "Q3=40m3/h R=80"),
    ("water-meter", "水平螺翼式冷水水表", "2级", "LXLC-80", "Q3=100m3/h R=80"),
    ("gas-meter", "膜式燃气表", "1.5级", "G1.6", "0.016~2.5m3/h"),
    ("gas-meter", "膜式燃气表", "1.5级", "G2.5", "0.025~4m3/h"),
    ("gas-meter", "膜式燃气表", "1.5级", "G4", "0.04~6m3/h"),
    ("gas-meter", "IC卡智能燃气表", "1.5级", "IC-G2.5", "0.025~4m3/h"),
    ("gas-meter", "IC卡智能燃气表", "1.5级", "IC-G4", "0.04~6m3/h"),
    ("gas-meter", "工业用膜式燃气表", "1.5级", "G10", "0.1~16m3/h"),
    ("gas-meter", "工业用膜式燃气表", "1.5级", "G16", "0.16~25m3/h"),
    ("gas-meter", "气体涡轮流量计", "1.5级", "TBQM-80", "13~250m3/h"),
    ("gas-meter", "气体涡轮流量计", "1.5级", "TBQM-100", "20~400m3/h"),
    ("weighing-instrument", "电子计价秤", "中准确度级", "ACS-15", "Max 15kg, e=5g"),
    ("weighing-instrument", "电子计价秤", "中准确度级", "ACS-30", "Max 30kg, e=10g"),
    ("weighing-instrument", "电子台秤", "中准确度级", "TCS-150", "Max 150kg, e=50g"),
    ("weighing-instrument", "电子台秤", "中准确度级", "TCS-300", "Max 300kg, e=100g"),
    ("weighing-instrument", "电子汽车衡", "中准确度级", "SCS-60", "Max 60t, e=20kg"),
    ("weighing-instrument", "电子汽车衡", "中准确度级", "SCS-100", "Max 100t, e=50kg"),
    ("weighing-instrument", "称重显示控制器", "中准确度级", "XK3190-A9", "n≤3000"),
    ("weighing-instrument", "称重显示控制器", "中准确度级", "XK3190-A12", "n≤3000"),
    ("weighing-instrument", "电子吊秤", "中准确度级", "OCS-3T", "Max 3t, e=1kg"),
    ("weighing-instrument", "电子吊秤", "中准确度级", "OCS-5T", "Max 5t, e=2kg"),
    ("fuel-dispenser", "燃油加油机", "0.3级", "CS46", "5~50L/min"),
    ("fuel-dispenser", "燃油加油机", "0.3级", "CS52", "5~60L/min"),
    ("fuel-dispenser", "税控燃油加油机", "0.3级", "CS46-S", "5~50L/min"),
    ("fuel-dispenser", "税控燃油加油机", "0.3级", "JDK-50SK", "5~50L/min"),
    ("fuel-dispenser", "加油机税控装置", "", "JSTK-1", ""),
    ("fuel-dispenser", "加油机税控装置", "", "SK-2010", ""),
    ("taxi-meter", "出租汽车计价器", "", "JJ-2000", "0~9999.9km"),
    ("taxi-meter", "出租汽车计价器", "", "SJ-101", "0~9999.9km"),
    ("taxi-meter", "出租汽车税控计价器", "", "JJSK-2000", "0~9999.9km"),
    ("taxi-meter", "出租汽车税控计价器", "", "MK-60A", "0~9999.9km"),
    ("heat-meter", "超声波热量表", "2级", "RLS-15", "qp=1.5m3/h, Δθ 3~70K"),
    ("heat-meter", "超声波热量表", "2级", "RLS-20", "qp=2.5m3/h, Δθ 3~70K"),
    ("heat-meter", "机械式热量表", "3级", "RLM-20", "qp=2.5m3/h, Δθ 3~60K"),
    ("dust-meter", "粉尘采样器", "", "CCZ-20A", "5~30L/min"),
    ("dust-meter", "粉尘采样器", "", "AKFC-92A", "10~25L/min"),
    ("dust-meter", "直读式粉尘浓度测量仪", "", "CCD1000-FB", "0.1~1000mg/m3"),
    ("dust-meter", "直读式粉尘浓度测量仪", "", "CCHG1000", "0~1000mg/m3"),
    ("methane-detector", "便携式甲烷检测报警仪", "", "JCB4", "0.00~4.00%CH4"),
    ("methane-detector", "便携式甲烷检测报警仪", "", "JCB4(A)", "0.00~4.00%CH4"),
    ("methane-detector", "光干涉式甲烷测定器", "", "CJG10", "0~10%CH4"),
    ("methane-detector", "光干涉式甲烷测定器", "", "CJG100", "0~100%CH4"),
    ("methane-detector", "甲烷传感器", "", "GJC4", "0.00~4.00%CH4"),
)
# fmt: on

# The letter in a provincial type-approval number; plausible for the demo, not an official table.
TYPE_APPROVAL_LETTERS = {
    "electricity-meter": "E",
    "water-meter": "L",
    "gas-meter": "L",
    "weighing-instrument": "F",
    "fuel-dispenser": "L",
    "taxi-meter": "T",
    "heat-meter": "R",
    "dust-meter": "H",
    "methane-detector": "H",
}

ALL_CATEGORIES = tuple(dict.fromkeys(row[0] for row in PRODUCT_LINES))
# What a provincial institute of metrology typically evaluates: not the mining instruments.
INSTITUTE_CATEGORIES = tuple(
    code for code in ALL_CATEGORIES if code not in ("dust-meter", "methane-detector")
)
# name, province code, uniformly authorised by the national authority, authorised categories
INSTITUTIONS = (
    ("中国计量科学研究院", "11", True, ALL_CATEGORIES),
    ("中煤科工集团重庆研究院", "50", True, ("dust-meter", "methane-detector")),
    ("山东省计量科学研究院", "37", True, INSTITUTE_CATEGORIES),
    ("浙江省计量科学研究院", "33", True, INSTITUTE_CATEGORIES),
    ("青岛市计量技术研究院", "37", False, ("water-meter", "weighing-instrument")),
    ("淄博市计量技术研究院", "37", False, ("weighing-instrument",)),
    ("宁波市计量测试研究院", "33", False, ("water-meter", "gas-meter")),
    ("温州市计量技术研究院", "33", False, ("electricity-meter",)),
)
NATIONAL_INSTITUTION_PROVINCES = ("11", "50")

BRANDS = (
    "恒信", "华通", "金泰", "三友", "鑫源", "宏达", "正通", "海川", "东方", "新锐",
    "天诚", "瑞丰", "科林", "联创", "汇能", "德力", "利民", "永泰", "昌盛", "万和",
    "中正", "博远", "精诚", "信达", "百川", "泰和", "安达", "华宇", "金鼎", "众成",
    "宇航", "光明", "长城", "凯达", "盛世", "振华", "新华", "远东", "双龙", "富源",
)  # fmt: skip
COMPANY_SUFFIXES = (("有限公司", 70), ("有限责任公司", 15), ("股份有限公司", 15))
ROADS = (
    "工业路", "科技路", "创业大道", "兴业路", "科苑路", "环城路", "建设路", "振兴路",
    "纬二路", "开元路", "东方路", "人民路", "新华路", "长江路", "黄河路", "文化路",
)  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许沈曾彭吕苏卢蒋蔡丁魏叶潘杜夏钟汪田任姜范方石姚谭邹金陆孔崔毛邱秦江顾侯邵孟"
GIVEN_NAMES = (
    "建国", "志强", "海燕", "秀英", "立新", "伟", "静", "敏", "磊", "洋", "勇", "军",
    "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "红", "玲", "强", "斌", "波", "宁",
    "晓东", "建华", "玉兰", "国庆", "卫东", "春梅", "志刚", "金龙", "永明", "德胜",
)  # fmt: skip

# Licence statuses with their weights and the window their issue dates fall in: the demo is set
# in autumn 2016, so valid licences were issued in the last three years and expired ones before.
STATUSES = (
    (LicenceStatus.VALID, 76, date(2013, 10, 15), date(2016, 9, 30)),
    (LicenceStatus.EXPIRED, 10, date(2009, 1, 5), date(2013, 9, 30)),
    (LicenceStatus.CHANGED, 8, date(2009, 3, 1), date(2015, 12, 31)),
    (LicenceStatus.CANCELLED, 6, date(2009, 3, 1), date(2015, 12, 31)),
)
DEMO_AS_OF = date(2016, 10, 20)


@functools.cache
def workday(day: date) -> bool:
    # Cached: chinese_calendar checks each date against its whole table, which is slow.
    return is_workday(day)


def next_workday(day: date) -> date:
    while not workday(day):
        day += timedelta(days=1)
    return day


def workdays_before(day: date, count: int) -> date:
    while count:
        day -= timedelta(days=1)
        if workday(day):
            count -= 1
    return day


def random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def phone(rng: random.Random, area_code: str) -> str:
    if rng.random() < 0.3:
        return f"1{rng.choice('358')}{rng.randrange(10**9):09d}"
    return f"{area_code}-{rng.randrange(20_000_000, 90_000_000)}"


def unique(draw, used: set):
    """Draw values until one has not been used yet; deterministic because the rng is."""
    value = draw()
    while value in used:
        value = draw()
    used.add(value)
    return value


def plan_province(rng: random.Random, province: Province) -> dict:
    """The demo register of one province as plain data: no database access."""
    spec = PROVINCES[province.code]
    bureau = f"{province.name}质量技术监督局"

    manufacturers = []
    used_names, used_codes = set(), set()
    main_categories = chain.from_iterable(
        [category] * count for category, count in spec["manufacturers"].items()
    )
    for category in main_categories:
        city, region, area_code, districts = rng.choice(spec["cities"])
        district = rng.choice(districts)
        secondary, words = SPECIALTIES[category]
        suffixes, weights = zip(*COMPANY_SUFFIXES, strict=True)
        name = unique(
            lambda city=city, words=words, suffixes=suffixes, weights=weights: (
                city + rng.choice(BRANDS) + rng.choice(words) + rng.choices(suffixes, weights)[0]
            ),
            used_names,
        )
        code = unique(
            lambda region=region: credit_code(rng.randrange(10**8, 10**9), region=region),
            used_codes,
        )
        portfolio = pick_portfolio(rng, category, 2 + rng.randrange(3))
        if secondary and rng.random() < 0.3:
            portfolio += pick_portfolio(rng, secondary, 1 + rng.randrange(2))
        manufacturers.append(
            {
                "fields": {
                    "name": name,
                    "credit_code": code,
                    "address": (
                        f"{province.name}{city}市{district}{rng.choice(ROADS)}"
                        f"{rng.randrange(1, 300)}号"
                    ),
                    "legal_representative": person_name(rng),
                    "contact_person": person_name(rng),
                    "contact_phone": phone(rng, area_code),
                },
                "city": city,
                "district": district,
                "portfolio": portfolio,
            }
        )

    licences_per_manufacturer = [1] * len(manufacturers)
    for _extra in range(spec["licences"] - len(manufacturers)):
        licences_per_manufacturer[rng.randrange(len(manufacturers))] += 1

    licences = []
    used_numbers = set()
    statuses = [row[0] for row in STATUSES]
    status_weights = [row[1] for row in STATUSES]
    windows = {row[0]: row[2:] for row in STATUSES}
    for manufacturer, count in zip(manufacturers, licences_per_manufacturer, strict=True):
        for _index in range(count):
            status = rng.choices(statuses, status_weights)[0]
            issued = next_workday(random_date(rng, *windows[status]))
            portfolio = manufacturer["portfolio"]
            size = min(len(portfolio), rng.choices((1, 2, 3), (45, 35, 20))[0])
            products = rng.sample(portfolio, size)
            for item in products:
                item["first_used"] = min(item.get("first_used", issued), issued)
            licences.append(
                {
                    "fields": {
                        "number": unique(
                            lambda: licence_number(province, rng.randrange(10_000, 4_000_000)),
                            used_numbers,
                        ),
                        "issuing_authority": bureau,
                        "issuing_level": IssuingLevel.PROVINCIAL,
                        **processing(rng, issued),
                        "issued_on": issued,
                        "expires_on": add_years(issued, 3),
                        "status": status,
                    },
                    "manufacturer": manufacturer["fields"]["credit_code"],
                    "products": products,
                    "announcements": plan_announcements(rng, province, status, issued),
                }
            )

    type_approvals = []
    used_certificates = set()
    for manufacturer in manufacturers:
        for item in manufacturer["portfolio"]:
            before = item.get("first_used") or random_date(rng, date(2010, 1, 1), date(2016, 9, 30))
            approved = workdays_before(before, rng.randrange(10, 250))
            letter = TYPE_APPROVAL_LETTERS[item["category"]]
            item["certificate"] = unique(
                lambda approved=approved, letter=letter: (
                    f"{approved.year}{letter}{rng.randrange(1, 1000):03d}-{province.code}"
                ),
                used_certificates,
            )
            type_approvals.append(
                {
                    "fields": {
                        "certificate_number": item["certificate"],
                        "product_name": item["product_name"],
                        "model_spec": item["model_spec"],
                        "approved_on": approved,
                        "issuing_department": bureau,
                        "issuing_level": IssuingLevel.PROVINCIAL,
                        "followed_outline": rng.choices((True, None, False), (85, 10, 5))[0],
                    },
                    "manufacturer": manufacturer["fields"]["credit_code"],
                    "category": item["category"],
                    "institution": pick_institution(rng, province.code, item["category"]),
                }
            )
    return {"manufacturers": manufacturers, "licences": licences, "type_approvals": type_approvals}


def pick_portfolio(rng: random.Random, category: str, size: int) -> list[dict]:
    """Distinct product lines (product, model) of one category that a manufacturer makes."""
    lines = [row[1:] for row in PRODUCT_LINES if row[0] == category]
    return [
        {
            "category": category,
            "product_name": name,
            "accuracy_class": accuracy,
            "model_spec": model,
            "measuring_range": measuring_range,
        }
        for name, accuracy, model, measuring_range in rng.sample(lines, min(size, len(lines)))
    ]


def processing(rng: random.Random, issued: date) -> dict:
    """Acceptance date and what justifies the time taken: all within the statutory limit.

    Usually within 20 working days; some with the head's extension to 30; a few longer because
    type testing or assessment took time that is not counted. plan_findings adds the overdue ones.
    """
    roll = rng.random()
    days, excluded, extended = rng.randint(5, 20), 0, False
    if roll >= 0.95:
        days = rng.randint(31, 45)
        excluded = days - rng.randint(12, 20)
    elif roll >= 0.85:
        days, extended = rng.randint(21, 30), True
    return {
        "accepted_on": workdays_before(issued, days),
        "excluded_days": excluded,
        "extension_approved": extended,
    }


def plan_announcements(
    rng: random.Random, province: Province, status: str, issued: date
) -> list[dict]:
    """The approval's announcement, and the change's or cancellation's if there was one."""
    announcements = [
        announcement(
            rng, province, AnnouncementKind.APPROVAL, issued + timedelta(days=rng.randint(3, 20))
        )
    ]
    kind = {
        LicenceStatus.CHANGED: AnnouncementKind.CHANGE,
        LicenceStatus.CANCELLED: AnnouncementKind.CANCELLATION,
    }.get(status)
    if kind:
        start = issued + timedelta(days=60)
        announcements.append(
            announcement(rng, province, kind, random_date(rng, start, max(start, DEMO_AS_OF)))
        )
    return announcements


def announcement(rng: random.Random, province: Province, kind: str, published: date) -> dict:
    method = rng.choices(
        (
            PublicationMethod.WEBSITE,
            PublicationMethod.NEWSPAPER,
            PublicationMethod.BULLETIN_BOARD,
            PublicationMethod.OTHER,
        ),
        (65, 20, 10, 5),
    )[0]
    detail = {
        PublicationMethod.WEBSITE: f"{province.name}质量技术监督局网站",
        PublicationMethod.NEWSPAPER: rng.choice(
            (PROVINCES[province.code]["newspaper"], "中国质量报")
        ),
        PublicationMethod.BULLETIN_BOARD: f"{province.name}政务服务中心公告栏",
        PublicationMethod.OTHER: "政务微博",
    }[method]
    return {
        "kind": kind,
        "method": method,
        "method_detail": detail,
        "published_on": published,
        "filed_on": published + timedelta(days=rng.randint(1, 30)),
    }


def pick_institution(rng: random.Random, province_code: str, category: str) -> str:
    """A uniformly authorised institution of the province or a national one, for the category.

    plan_findings hands a few type approvals to the local institutes that are not.
    """
    return rng.choice(
        [
            name
            for name, code, authorised, categories in INSTITUTIONS
            if authorised
            and category in categories
            and code in (province_code, *NATIONAL_INSTITUTION_PROVINCES)
        ]
    )


def plan_findings(plan: dict, province: Province) -> None:
    """Spoil a few planned rows on purpose, so that the demo shows every finding of the campaign.

    The random plan is a well-kept register; these are the same rows on every run. For each
    province, verification.findings.compute_findings then reports:
    - out of scope (超范围许可): three licences issued by county bureaus and one by a city bureau,
      and a product line licensed without any type approval;
    - a product citing a type-approval certificate that was never registered (cannot be checked);
    - overdue (办理超期): two licences decided 24 and 22 working days after acceptance;
    - a licence without its acceptance date (cannot be checked);
    - type evaluation (型式评价机构): a type approval evaluated by a city institute that is not
      uniformly authorised, one by the provincial institute outside its categories, and one with
      no institution recorded;
    - announcements (未公告/未备案): an approval, a change and two cancellations not announced, an
      approval announced 35 days after issue, and two announcements never filed.
    Nothing falls outside the official holiday calendar: the demo's dates (2009–2016) are covered.
    """
    manufacturers = {row["fields"]["credit_code"]: row for row in plan["manufacturers"]}
    # Licence numbers are random, so this order spreads the faults over makers and categories.
    licences = sorted(plan["licences"], key=lambda row: row["fields"]["number"])
    taken = set()

    def pick(count, status=LicenceStatus.VALID, issued_before=DEMO_AS_OF):
        rows = [
            row
            for row in licences
            if row["fields"]["number"] not in taken
            and row["fields"]["status"] == status
            and row["fields"]["issued_on"] < issued_before
        ][:count]
        if len(rows) < count:
            # Only a change to the random plan can get here; say so rather than seed less.
            raise CommandError(
                gettext_lazy(
                    "The demo plan of %(province)s has too few licences of status %(status)s "
                    "for its findings."
                )
                % {"province": province.name, "status": status}
            )
        taken.update(row["fields"]["number"] for row in rows)
        return rows

    # 超范围许可
    for row in pick(3):
        maker = manufacturers[row["manufacturer"]]
        district = maker["district"]
        row["fields"]["issuing_level"] = IssuingLevel.COUNTY
        row["fields"]["issuing_authority"] = (
            f"{district}质量技术监督局"
            if district.endswith(("市", "县"))
            else f"{maker['city']}市{district}质量技术监督局"
        )
    for row in pick(1):
        maker = manufacturers[row["manufacturer"]]
        row["fields"]["issuing_level"] = IssuingLevel.MUNICIPAL
        row["fields"]["issuing_authority"] = f"{maker['city']}市质量技术监督局"

    approvals = {row["fields"]["certificate_number"]: row for row in plan["type_approvals"]}

    def unapprove(row) -> tuple[str, dict]:
        """Drop the type approval of the licence's first approved product line."""
        item = next(item for item in row["products"] if "certificate" in item)
        del approvals[item["certificate"]]
        return item.pop("certificate"), item

    for row in pick(1):
        unapprove(row)
    for row in pick(1):
        number, item = unapprove(row)
        item["type_approval_number"] = number  # written on the licence, never registered

    # 办理超期
    for row, days in zip(pick(2), (24, 22), strict=True):
        row["fields"].update(
            accepted_on=workdays_before(row["fields"]["issued_on"], days),
            excluded_days=0,
            extension_approved=False,
        )
    for row in pick(1):
        row["fields"].update(accepted_on=None, excluded_days=0, extension_approved=False)

    # 型式评价机构: only type approvals that a licence cites, so the findings link to licences.
    cited = [
        approvals[item["certificate"]]
        for row in licences
        for item in row["products"]
        if item.get("certificate") in approvals
    ]
    cited = list({id(row): row for row in cited}.values())
    local_name, local_categories = next(
        (name, categories)
        for name, code, authorised, categories in INSTITUTIONS
        if code == province.code and not authorised
    )
    institute_name, institute_categories = next(
        (name, categories)
        for name, code, authorised, categories in INSTITUTIONS
        if code == province.code and authorised
    )
    local = next(row for row in cited if row["category"] in local_categories)
    local["institution"] = local_name
    outside = next(row for row in cited if row["category"] not in institute_categories)
    outside["institution"] = institute_name
    next(row for row in cited if row is not local and row is not outside)["institution"] = None
    plan["type_approvals"] = list(approvals.values())

    # 未公告 / 未备案
    for status, kind, count in (
        (LicenceStatus.VALID, AnnouncementKind.APPROVAL, 1),
        (LicenceStatus.CHANGED, AnnouncementKind.CHANGE, 1),
        (LicenceStatus.CANCELLED, AnnouncementKind.CANCELLATION, 2),
    ):
        for row in pick(count, status):
            row["announcements"] = [a for a in row["announcements"] if a["kind"] != kind]
    for row in pick(1, issued_before=date(2016, 6, 1)):
        approval = row["announcements"][0]
        approval["published_on"] = row["fields"]["issued_on"] + timedelta(days=35)
        approval["filed_on"] = approval["published_on"] + timedelta(days=7)
    for row in pick(2):
        row["announcements"][0]["filed_on"] = None


def create_missing(model, objects: list, key: str, change_reason: str) -> tuple[dict, list]:
    """Bulk-create the objects whose `key` is not in the database yet, each with its history.

    Returns every object by key (existing ones as stored) and the list of those created.
    """
    existing = model.objects.in_bulk([getattr(obj, key) for obj in objects], field_name=key)
    new = [obj for obj in objects if getattr(obj, key) not in existing]
    created = bulk_create_with_history(new, model, default_change_reason=change_reason)
    return {**existing, **{getattr(obj, key): obj for obj in created}}, created


def seed_register(plans: dict[Province, dict]) -> list[tuple[type, int, int]]:
    """Write the planned register; return (model, created, planned) per model."""
    change_reason = _("Demo data created by seed_demo")
    categories = InstrumentCategory.objects.in_bulk(field_name="code")
    missing = sorted(set(ALL_CATEGORIES) - set(categories))
    if missing:
        raise CommandError(
            gettext_lazy("Instrument categories %(codes)s are missing: run migrate first.")
            % {"codes": ", ".join(missing)}
        )

    institutions = {}
    institutions_created = 0
    provinces_by_code = Province.objects.in_bulk(
        [row[1] for row in INSTITUTIONS], field_name="code"
    )
    for name, code, authorised, category_codes in INSTITUTIONS:
        institution, created = TypeEvaluationInstitution.objects.get_or_create(
            name=name,
            defaults={"province": provinces_by_code[code], "uniformly_authorised": authorised},
        )
        if created:
            institution.categories.set([categories[c] for c in category_codes])
            institutions_created += 1
        institutions[name] = institution

    manufacturers, manufacturers_created = create_missing(
        Manufacturer,
        [
            Manufacturer(province=province, **row["fields"])
            for province, plan in plans.items()
            for row in plan["manufacturers"]
        ],
        "credit_code",
        change_reason,
    )
    type_approvals, type_approvals_created = create_missing(
        TypeApproval,
        [
            TypeApproval(
                province=province,
                manufacturer=manufacturers[row["manufacturer"]],
                category=categories[row["category"]],
                institution=institutions.get(row["institution"]),
                **row["fields"],
            )
            for province, plan in plans.items()
            for row in plan["type_approvals"]
        ],
        "certificate_number",
        change_reason,
    )
    planned_licences = {
        row["fields"]["number"]: row for plan in plans.values() for row in plan["licences"]
    }
    licences, licences_created = create_missing(
        Licence,
        [
            Licence(
                province=province, manufacturer=manufacturers[row["manufacturer"]], **row["fields"]
            )
            for province, plan in plans.items()
            for row in plan["licences"]
        ],
        "number",
        change_reason,
    )

    # A licence's products and announcements belong to it: written with a new licence only.
    products, announcements = [], []
    for licence in licences_created:
        row = planned_licences[licence.number]
        for item in row["products"]:
            products.append(
                LicensedProduct(
                    licence=licence,
                    category=categories[item["category"]],
                    product_name=item["product_name"],
                    model_spec=item["model_spec"],
                    accuracy_class=item["accuracy_class"],
                    measuring_range=item["measuring_range"],
                    type_approval=type_approvals.get(item.get("certificate")),
                    type_approval_number=item.get("type_approval_number", ""),
                )
            )
        announcements.extend(
            Announcement(licence=licence, **fields) for fields in row["announcements"]
        )
    bulk_create_with_history(products, LicensedProduct, default_change_reason=change_reason)
    bulk_create_with_history(announcements, Announcement, default_change_reason=change_reason)

    def planned(key):
        return sum(len(plan[key]) for plan in plans.values())

    planned_rows = list(planned_licences.values())
    return [
        (TypeEvaluationInstitution, institutions_created, len(INSTITUTIONS)),
        (Manufacturer, len(manufacturers_created), planned("manufacturers")),
        (TypeApproval, len(type_approvals_created), planned("type_approvals")),
        (Licence, len(licences_created), len(planned_rows)),
        (LicensedProduct, len(products), sum(len(row["products"]) for row in planned_rows)),
        (
            Announcement,
            len(announcements),
            sum(len(row["announcements"]) for row in planned_rows),
        ),
    ]


def seed_users(provinces: dict[str, Province]) -> list[tuple[str, ...]]:
    """Create or reset the demo logins; a user already as wanted is not written at all."""
    User = get_user_model()
    groups = Group.objects.in_bulk([row[2] for row in DEMO_USERS], field_name="name")
    missing = sorted({row[2] for row in DEMO_USERS} - set(groups))
    if missing:
        raise CommandError(
            gettext_lazy("Role groups %(names)s are missing: run migrate first.")
            % {"names": ", ".join(missing)}
        )
    rows = []
    for username, password, role, province_code in DEMO_USERS:
        province = provinces[province_code] if province_code else None
        user, created = User.objects.get_or_create(username=username)
        full_name, email = DEMO_PEOPLE[username]
        wanted = {
            "is_staff": True,
            "is_active": True,
            "is_superuser": False,
            "province": province,
            "first_name": full_name,
            "last_name": "",
            "email": email,
        }
        changed = [name for name, value in wanted.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, wanted[name])
        # check_password rather than set_password every time: a new salt would change the row.
        if created or not user.check_password(password):
            user.set_password(password)
            changed.append("password")
        if changed:
            user.save(update_fields=changed)
        if list(user.groups.all()) != [groups[role]]:
            user.groups.set([groups[role]])
        rows.append(
            (
                username,
                password,
                role,
                province.name if province else _("All provinces"),
                full_name,
                email,
            )
        )
    return rows


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def format_table(header: tuple, rows: list[tuple]) -> list[str]:
    widths = [
        max(display_width(str(row[i])) for row in [header, *rows]) for i in range(len(header))
    ]
    return [
        "  ".join(
            str(cell) + " " * (width - display_width(str(cell)))
            for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in [header, *rows]
    ]


class Command(BaseCommand):
    # Translated when asked for: argparse cannot format a lazy string.
    @property
    def help(self):
        return _(
            "Create a demo register for Shandong and Zhejiang, three demo logins and demo "
            "returns of the 2016 campaign. Running it again creates and changes nothing, except "
            "that it resets the demo logins."
        )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help=_("Run even though DEBUG is off."))

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                gettext_lazy(
                    "DEBUG is off, so this may be a production database: refusing to add demo "
                    "data and demo logins. Use --force if you really want them here."
                )
            )
        provinces = Province.objects.in_bulk(list(PROVINCES), field_name="code")
        if set(provinces) != set(PROVINCES):
            raise CommandError(gettext_lazy("Provinces are missing: run migrate first."))

        rng = random.Random(SEED)
        plans = {}
        for code in PROVINCES:
            plans[provinces[code]] = plan = plan_province(rng, provinces[code])
            plan_findings(plan, provinces[code])
        with transaction.atomic():
            counts = seed_register(plans)
            if any(created for _model, created, _planned in counts):
                # Only when something was added: a recount stamps the registers as changed,
                # and the seeded returns' findings would then all look out of date.
                register_counts_refresh()
            users = seed_users(provinces)
            logins = get_user_model().objects.in_bulk(
                [row[0] for row in DEMO_USERS], field_name="username"
            )
            returns_created, returns_kept = seed_returns(
                administrators={"37": logins["shandong_admin"], "33": logins["zhejiang_admin"]},
                editors={"33": logins["zhejiang_clerk"]},
                reviewer=logins["reviewer"],
            )

        for model, created, planned in counts:
            self.stdout.write(
                _("%(model)s: %(created)d created, %(kept)d already there and left unchanged.")
                % {
                    "model": model._meta.verbose_name_plural,
                    "created": created,
                    "kept": planned - created,
                }
            )
        self.stdout.write(
            _("%(model)s: %(created)d created, %(kept)d already there and left unchanged.")
            % {
                "model": ProvincialReturn._meta.verbose_name_plural,
                "created": returns_created,
                "kept": returns_kept,
            }
        )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("Demo logins (development passwords only):")))
        header = (_("User name"), _("Password"), _("Role"), _("Province"), _("Name"), _("E-mail"))
        for line in format_table(header, users):
            self.stdout.write(f"  {line}")
