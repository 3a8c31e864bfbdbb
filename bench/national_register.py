"""A national register for benchmarks (issue 8): all 32 units, built by the project's own import.

Two halves, both reusable by later benchmarks and the load test:

- `generate(products)`: licence lists of all 32 reporting units, one row per licensed product
  with the template's 16 headers (bench/import_bench.py's HEADERS and PRODUCTS), a third of the
  rows in 浙江, 广东 and 江苏 together, about 3 products per licence and 2 licences per
  manufacturer; cached in bench-data/national-v<GENERATOR_VERSION>-<products>/ with a
  manifest.json, each province split into several files where it exceeds the importer's per-file
  row limit (MAX_DATA_ROWS) or the upload limit (IMPORT_MAX_UPLOAD_BYTES).
- `ensure_register(url, products)`: a PostgreSQL database holding that register: created if
  missing, migrated, each file imported by `manage.py import_licences FILE --province CODE --json`
  in a subprocess of its own (so memory stays bounded), the 2016 campaign's returns of the 32
  units put in varied states through verification.services, then VACUUM ANALYZE. What was built
  is recorded in a table of the benchmark's own, bench_register_meta (raw SQL, outside the app's
  models); a database already holding a register of the same size and generator version is
  reused (only `migrate` runs) unless `rebuild`.

    python bench/national_register.py [--products 1000000] [--database-url URL] [--rebuild]
                                      [--jobs 2] [--generate-only]

The database is --database-url, else BENCH_DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/licences_bench; for another size than the default, the latter
two get the size appended to the name (licences_bench_20000), so that a smoke run never replaces
the full register. The user needs CREATEDB. Only a database this module built (or one whose name
holds "bench") is ever dropped.
"""

import argparse
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(path) for path in (BENCH, ROOT) if str(path) not in sys.path]

from import_bench import DATA, HEADERS, PRODUCTS  # noqa: E402 (after the path is set)

GENERATOR_VERSION = 1  # bump when the generated rows change: cached files and registers rebuild
DEFAULT_PRODUCTS = 1_000_000
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/licences_bench"
META_TABLE = "bench_register_meta"
NOTICE_2016 = "质检量函〔2016〕27号"
# Who the benchmarks log in as (created by the build; unusable passwords: force_login only).
REVIEWER_USERNAME = "bench_reviewer"
ZHEJIANG_USERNAME = "bench_zhejiang"
# 浙江's licence with many products (ensure_big_licence): its number is outside the generator's
# (浙江's run from 浙制33000001号 to about 浙制33042000号).
BIG_LICENCE_NUMBER = "浙制33990150号"
BIG_LICENCE_PRODUCTS = 150

# The environment of every Django process of the benchmark: production settings (DEBUG on
# would keep every query in memory), no HTTPS redirect for the test client.
DJANGO_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}

# --- What the register looks like ---------------------------------------------------------

# Share of the rows: 浙江, 广东 and 江苏 a third together; the others by weight (manufacturing
# output, roughly), normalised to the remaining two thirds.
BIG_THREE = {"33": 0.125, "44": 0.115, "32": 0.10}
WEIGHTS = {
    "37": 70, "13": 40, "41": 40, "31": 35, "35": 35, "11": 30, "34": 30, "42": 30, "51": 30,
    "12": 25, "21": 25, "43": 25, "50": 20, "61": 20, "14": 15, "36": 15, "45": 15, "22": 12,
    "23": 12, "53": 12, "15": 10, "52": 10, "62": 8, "65": 8, "46": 5, "64": 4, "63": 3,
    "54": 2, "66": 2,
}  # fmt: skip
MUNICIPALITIES = {"11", "12", "31", "50"}  # their "cities" are districts
CITIES = {
    "11": ("海淀", "朝阳", "丰台", "大兴", "昌平", "顺义", "通州"),
    "12": ("滨海", "西青", "津南", "北辰", "武清", "东丽"),
    "13": ("石家庄", "唐山", "保定", "邯郸", "沧州", "廊坊", "邢台"),
    "14": ("太原", "大同", "长治", "晋城", "临汾", "运城"),
    "15": ("呼和浩特", "包头", "鄂尔多斯", "赤峰", "通辽"),
    "21": ("沈阳", "大连", "鞍山", "抚顺", "营口", "锦州"),
    "22": ("长春", "吉林", "四平", "通化", "延吉"),
    "23": ("哈尔滨", "齐齐哈尔", "大庆", "牡丹江", "佳木斯"),
    "31": ("浦东", "闵行", "嘉定", "松江", "宝山", "青浦", "奉贤"),
    "32": ("南京", "无锡", "徐州", "常州", "苏州", "南通", "扬州", "镇江", "泰州", "盐城"),
    "33": ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "台州", "衢州", "丽水"),
    "34": ("合肥", "芜湖", "蚌埠", "淮南", "马鞍山", "安庆", "滁州"),
    "35": ("福州", "厦门", "泉州", "漳州", "莆田", "龙岩"),
    "36": ("南昌", "九江", "赣州", "上饶", "萍乡", "宜春"),
    "37": ("济南", "青岛", "淄博", "烟台", "潍坊", "济宁", "临沂", "德州"),
    "41": ("郑州", "洛阳", "开封", "新乡", "许昌", "南阳", "焦作", "平顶山"),
    "42": ("武汉", "宜昌", "襄阳", "荆州", "十堰", "孝感"),
    "43": ("长沙", "株洲", "湘潭", "衡阳", "岳阳", "常德"),
    "44": ("广州", "深圳", "佛山", "东莞", "中山", "珠海", "江门", "惠州", "汕头", "肇庆"),
    "45": ("南宁", "柳州", "桂林", "梧州", "玉林"),
    "46": ("海口", "三亚", "儋州"),
    "50": ("渝北", "江北", "九龙坡", "沙坪坝", "南岸", "璧山"),
    "51": ("成都", "绵阳", "德阳", "宜宾", "泸州", "南充"),
    "52": ("贵阳", "遵义", "六盘水", "安顺"),
    "53": ("昆明", "曲靖", "玉溪", "大理", "红河"),
    "54": ("拉萨", "日喀则", "林芝"),
    "61": ("西安", "宝鸡", "咸阳", "渭南", "榆林", "汉中"),
    "62": ("兰州", "天水", "白银", "酒泉"),
    "63": ("西宁", "海东", "格尔木"),
    "64": ("银川", "石嘴山", "吴忠"),
    "65": ("乌鲁木齐", "克拉玛依", "昌吉", "库尔勒", "伊宁"),
    "66": ("石河子", "五家渠", "阿拉尔", "图木舒克", "北屯"),
}
# Main-category weights, in PRODUCTS' order (电能表 水表 燃气表 衡器 加油机 出租车计价器 热能表
# 粉尘测量仪 甲烷测定器); heat meters weigh more in the north, dust and methane in coal country.
CATEGORY_WEIGHTS = (14, 14, 9, 30, 8, 4, 9, 5, 7)
NORTH = {"11", "12", "13", "14", "15", "21", "22", "23", "37", "41", "61", "62", "63", "64", "65", "66"}  # fmt: skip
COAL = {"14", "15", "34", "41", "52", "61", "65"}
MODEL_PREFIXES = (
    ("DDS", "DTZY", "DDSY"), ("LXS-", "LXLC-", "LXC-"), ("G", "JBD-G", "CG-"),
    ("TCS-", "ACS-", "SCS-"), ("CS46", "JKD", "SK"), ("JJ-", "JJY-", "TM"),
    ("RLB-", "DRL-", "HM"), ("CCZ", "CCF", "CCD"), ("GJC", "CJG", "JCB"),
)  # fmt: skip
APPROVAL_LETTERS = "CFGHJKLMN"  # one per category, as each province numbers them
# Two-character brands: 3,600 combinations, scattered over the manufacturers of a province.
BRAND_CHARACTERS = (
    "华海中金宏信达恒泰鑫源安瑞德盛新科天远合利通兴佳成明正宇联创"
    "威力博星光东南北永昌隆丰亿凯嘉诚鸿腾飞迅捷万方圆美思卓越精"
)
ROADS = ("科技", "创业", "工业", "新华", "人民", "建设", "解放", "中山", "长江", "文化", "兴业")
COMPANY_SUFFIXES = ("有限公司", "股份有限公司", "有限责任公司")
# Licence status, weight; valid ones leave the column empty one time in four (empty is 有效).
STATUSES = (("有效", 84), ("变更", 5), ("注销", 4), ("过期", 7))
TEXT_DATE_FORMATS = (
    lambda day: day.isoformat(),
    lambda day: f"{day.year}/{day.month}/{day.day}",
    lambda day: f"{day.year}.{day.month}.{day.day}",
    lambda day: f"{day.year}年{day.month}月{day.day}日",
    lambda day: f"{day:%Y%m%d}",
)
PRODUCTS_PER_LICENCE = (1, 2, 3, 3, 4, 5)  # mean 3
LICENCES_PER_MANUFACTURER = (1, 1, 2, 2, 2, 2, 3, 3)  # mean 2


def reference_data() -> tuple[dict, dict]:
    """Provinces {code: (name, abbreviation)} and {category name or alias: code}, from the
    licensing data migration, so that generating needs no database."""
    migration = importlib.import_module("licensing.migrations.0002_reference_data")
    provinces = {code: (name, abbreviation) for code, name, abbreviation, _ in migration.PROVINCES}
    categories = {}
    for code, name, _batch, _note, aliases in migration.CATEGORIES:
        for label in (name, *filter(None, aliases.split(","))):
            categories[label] = code
    return provinces, categories


def shares(products: int) -> dict[str, int]:
    """Rows per province, summing to `products` exactly (largest remainders)."""
    others = 1 - sum(BIG_THREE.values())
    total_weight = sum(WEIGHTS.values())
    fractions = {**BIG_THREE, **{code: others * w / total_weight for code, w in WEIGHTS.items()}}
    assert set(fractions) == set(CITIES), "every reporting unit needs a share and cities"
    exact = {code: products * fraction for code, fraction in fractions.items()}
    counts = {code: int(value) for code, value in exact.items()}
    remainder = products - sum(counts.values())
    for code in sorted(exact, key=lambda code: counts[code] - exact[code])[:remainder]:
        counts[code] += 1
    return dict(sorted(counts.items()))


def name_fragment(name: str, province_code: str) -> str | None:
    """The brand in a generated manufacturer name (city + brand + trade + suffix), or None."""
    for city in CITIES[province_code]:
        if name.startswith(city):
            return name[len(city) : len(city) + 2]
    return None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _category_weights(code: str) -> list[int]:
    weights = list(CATEGORY_WEIGHTS)
    if code in NORTH:
        weights[6] *= 3
    if code in COAL:
        weights[7] *= 3
        weights[8] *= 3
    return weights


def province_licences(code: str, target: int):
    """The licences of one province, each as its list of rows, `target` rows in all."""
    from licensing.factories import credit_code
    from licensing.management.commands.seed_demo import SPECIALTIES

    provinces, category_codes = reference_data()
    province_name, abbreviation = provinces[code]
    cities = CITIES[code]
    rng = random.Random(f"national-register-v{GENERATOR_VERSION}-{code}")
    weights = _category_weights(code)
    index_of = {category_codes[category]: i for i, (category, *_) in enumerate(PRODUCTS)}
    valid_from, valid_to = date(2013, 11, 1), date(2016, 10, 20)
    expired_from, expired_to = date(2010, 1, 4), date(2013, 9, 30)
    statuses, status_weights = zip(*STATUSES, strict=True)
    brands = len(BRAND_CHARACTERS) ** 2
    written = maker = licence = 0
    while written < target:
        # The manufacturer: its city, name, code, main (and perhaps second) category.
        city_index = maker % len(cities)
        city = cities[city_index]
        rest = maker // len(cities)
        suffix = COMPANY_SUFFIXES[rest % len(COMPANY_SUFFIXES)]
        brand_index = (rest // len(COMPANY_SUFFIXES) * 1543 + 7 * int(code)) % brands
        brand = (
            BRAND_CHARACTERS[brand_index // len(BRAND_CHARACTERS)]
            + BRAND_CHARACTERS[brand_index % len(BRAND_CHARACTERS)]
        )
        main = rng.choices(range(len(PRODUCTS)), weights)[0]
        main_code = category_codes[PRODUCTS[main][0]]
        second_code, trades = SPECIALTIES[main_code]
        second = index_of[second_code] if second_code and rng.random() < 0.4 else None
        region = f"6590{city_index + 1:02d}" if code == "66" else f"{code}{city_index + 1:02d}00"
        maker += 1
        maker_cells = [
            f"{city}{brand}{trades[maker % len(trades)]}{suffix}",
            credit_code(maker, region=region),
            f"{province_name}{city}{'区' if code in MUNICIPALITIES else '市'}"
            f"{'高新' if maker % 2 else '经济开发'}区{ROADS[maker % len(ROADS)]}"
            f"{'路' if maker % 3 else '大道'}{maker % 800 + 1}号",
        ]
        for _licence in range(rng.choice(LICENCES_PER_MANUFACTURER)):
            if written >= target:
                break
            licence += 1
            status = rng.choices(statuses, status_weights)[0]
            if status == "过期":
                start, end = expired_from, expired_to
            else:
                start, end = valid_from, valid_to
            issued = start + timedelta(days=rng.randrange((end - start).days))
            expires = _add_years(issued, 3) - timedelta(days=1)
            accepted = None
            if rng.random() < 0.75:  # one in fifty took well beyond the statutory limit
                accepted = issued - timedelta(
                    days=rng.randint(60, 90) if rng.random() < 0.02 else rng.randint(12, 40)
                )
            municipal = code != "66" and rng.random() < (0.1 if code in MUNICIPALITIES else 0.2)
            if municipal:
                authority = (
                    f"{province_name}{city}区质量技术监督局"
                    if code in MUNICIPALITIES
                    else f"{city}市质量技术监督局"
                )
            else:
                authority = f"{province_name}质量技术监督局"
            dates = [accepted, issued, expires]
            if licence % 10 == 3:  # some lists hold dates typed as text, in every accepted form
                text = TEXT_DATE_FORMATS[licence // 10 % len(TEXT_DATE_FORMATS)]
                dates = [None if day is None else text(day) for day in dates]
            licence_cells = [
                authority,
                "市级" if municipal else ("" if licence % 5 == 0 else "省级"),
                *dates,
                "" if status == "有效" and licence % 4 == 0 else status,
            ]
            number = f"{abbreviation}制{int(code):02d}{licence:06d}号"
            rows = []
            count = min(rng.choice(PRODUCTS_PER_LICENCE), target - written)
            for product in range(count):
                category = second if second is not None and product % 3 == 2 else main
                name, names, classes, measuring_range = PRODUCTS[category]
                prefix = MODEL_PREFIXES[category][product % 3]
                draw = rng.random()
                if draw < 0.6:
                    year = max(2008, issued.year - rng.randint(0, 3))
                    approval = (
                        f"{year}{APPROVAL_LETTERS[category]}{rng.randint(100, 2999):03d}-{code}"
                    )
                elif draw < 0.65:
                    approval = f"CPA {rng.randint(1, 7):02d}-{APPROVAL_LETTERS[category]}{rng.randint(100, 999)}"
                else:
                    approval = ""
                rows.append(
                    [
                        number,
                        *maker_cells,
                        name,
                        names[(licence + product) % len(names)],
                        f"{prefix}{(licence * 13 + product * 7) % 900 + 100}",
                        classes[(licence + product) % len(classes)],
                        measuring_range,
                        approval,
                        *licence_cells,
                    ]
                )
            written += len(rows)
            yield rows


# Generated rows follow HEADERS' order; a few provinces write the headers as people do (marks,
# notes), or put a title row above them.
REQUIRED = {"许可证编号", "企业名称", "统一社会信用代码", "计量器具类别", "产品名称", "型号规格"}
NOTES = {"受理日期": "（年-月-日）", "发证日期": "（年-月-日）", "有效期至": "（年-月-日）"}


def _header_and_title(code: str, province_name: str) -> tuple[list[str], list[str] | None]:
    style = int(code) % 3
    if style == 1:
        headers = [f"*{h}" if h in REQUIRED else f"{h}{NOTES.get(h, '')}" for h in HEADERS]
    else:
        headers = list(HEADERS)
    title = [f"{province_name}重点管理计量器具制造许可证获证名单"] if style == 2 else None
    return headers, title


class TooLarge(Exception):
    """A file came out over the upload limit: write the province again in smaller files."""

    def __init__(self, size: int, rows: int):
        super().__init__(size, rows)
        self.size, self.rows = size, rows


def _write_province(code: str, target: int, directory: Path, max_rows: int, max_bytes: int):
    from openpyxl import Workbook

    provinces, _ = reference_data()
    headers, title = _header_and_title(code, provinces[code][0])
    files = []

    def open_file():
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("许可证名单")
        if title:
            sheet.append(title)
        sheet.append(headers)
        return workbook, sheet

    def close_file(workbook, rows):
        path = directory / f"{code}-{len(files) + 1:02d}.xlsx"
        workbook.save(path)
        size = path.stat().st_size
        if size > max_bytes:
            raise TooLarge(size, rows)
        files.append({"province": code, "file": path.name, "rows": rows, "bytes": size})

    workbook, sheet = open_file()
    rows_in_file = 0
    for licence_rows in province_licences(code, target):
        if rows_in_file + len(licence_rows) > max_rows:  # a licence's rows stay in one file
            close_file(workbook, rows_in_file)
            workbook, sheet = open_file()
            rows_in_file = 0
        for row in licence_rows:
            sheet.append(row)
        rows_in_file += len(licence_rows)
    close_file(workbook, rows_in_file)
    return files


def generate_province(code: str, target: int, directory: Path) -> dict:
    """Write one province's files; returns its figures. Runs in a worker process."""
    setup_django()
    from django.conf import settings

    from licensing.importing.readers import MAX_DATA_ROWS

    max_bytes = getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
    started = time.perf_counter()
    max_rows = MAX_DATA_ROWS
    while True:
        for stale in directory.glob(f"{code}-*.xlsx"):
            stale.unlink()
        try:
            files = _write_province(code, target, directory, max_rows, max_bytes)
            break
        except TooLarge as too_large:  # aim at 90 % of the limit at the rate just measured
            max_rows = int(too_large.rows * max_bytes * 0.9 / too_large.size)
    return {"province": code, "files": files, "seconds": time.perf_counter() - started}


def data_directory(products: int) -> Path:
    return DATA / f"national-v{GENERATOR_VERSION}-{products}"


def generate(products: int, jobs: int = 2) -> dict:
    """The generated files of a register of `products` rows (from the cache when there)."""
    directory = data_directory(products)
    manifest_path = directory / "manifest.json"
    if manifest_path.exists():
        return json.loads(manifest_path.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    targets = shares(products)
    print(
        f"Generating {products:,} rows for {len(targets)} units into "
        f"{directory.relative_to(ROOT)}/ ({jobs} processes) …",
        flush=True,
    )
    started = time.perf_counter()
    results = []
    biggest_first = sorted(targets, key=targets.get, reverse=True)
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(generate_province, c, targets[c], directory) for c in biggest_first]
        for future in futures:
            result = future.result()
            rows = sum(file["rows"] for file in result["files"])
            print(
                f"  {result['province']}: {rows:,} rows in {len(result['files'])} file(s), "
                f"{result['seconds']:.1f} s",
                flush=True,
            )
            results.append(result)
    files = sorted((file for result in results for file in result["files"]), key=_file_key)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "products": products,
        "files": files,
        "seconds": time.perf_counter() - started,
        "created": datetime.now().isoformat(timespec="seconds"),
    }
    assert sum(file["rows"] for file in files) == products
    temporary = manifest_path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=1))
    temporary.replace(manifest_path)  # written last: its presence means the files are complete
    print(f"  generated in {manifest['seconds']:.0f} s", flush=True)
    return manifest


def _file_key(file: dict):
    return file["province"], file["file"]


# --- The database -------------------------------------------------------------------------


def default_url(products: int) -> str:
    """BENCH_DATABASE_URL, else DEFAULT_URL; its name suffixed with the size unless the default."""
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if products != DEFAULT_PRODUCTS:
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path=f"{parts.path}_{products}"))
    return url


def _libpq(url: str, database: str | None = None) -> str:
    parts = urlsplit(url)
    if database is not None:
        parts = parts._replace(path=f"/{database}")
    return urlunsplit(parts._replace(scheme="postgresql"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _connect(url: str, database: str | None = None):
    import psycopg

    return psycopg.connect(_libpq(url, database), autocommit=True)


def django_env(url: str, root: Path = ROOT) -> dict:
    """The environment of a Django process on `url` running the code of the tree at `root`."""
    env = {**os.environ, **DJANGO_ENV, "DATABASE_URL": url, "PYTHONPATH": str(root)}
    return env


def setup_django(url: str | None = None) -> None:
    """Set Django up in this process, on `url` if given (before the first setup only)."""
    import django
    from django.apps import apps

    if url is not None:
        if apps.ready and os.environ.get("DATABASE_URL") != url:
            raise RuntimeError("Django is already set up on another database")
        os.environ["DATABASE_URL"] = url
    for name, value in DJANGO_ENV.items():
        os.environ.setdefault(name, value)
    if not apps.ready:
        django.setup()


def register_meta(url: str) -> dict | None:
    """What bench_register_meta says of the database's register, or None (no such database,
    table or finished build)."""
    import psycopg

    name = database_name(url)
    with _connect(url, "postgres") as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    if not exists:
        return None
    with _connect(url) as connection:
        try:
            row = connection.execute(
                f"SELECT generator_version, products, finished_at, figures FROM {META_TABLE}"  # noqa: S608 (a constant)
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return {"bench": False}
    if row is None:
        return {"bench": True, "finished": False}
    version, products, finished_at, figures = row
    return {
        "bench": True,
        "generator_version": version,
        "products": products,
        "finished": finished_at is not None,
        "figures": figures or {},
    }


def _recreate_database(url: str, meta: dict | None) -> None:
    from psycopg import sql

    name = database_name(url)
    if meta is not None and not meta["bench"] and "bench" not in name:
        raise SystemExit(
            f"Database {name} exists and was not built by this benchmark (no {META_TABLE} "
            "table): refusing to drop it. Name another one with --database-url."
        )
    with _connect(url, "postgres") as connection:
        if meta is not None:
            print(f"  dropping database {name} …", flush=True)
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with _connect(url) as connection:
        connection.execute(
            f"CREATE TABLE {META_TABLE} (id integer PRIMARY KEY CHECK (id = 1), "
            "generator_version integer NOT NULL, products integer NOT NULL, "
            "started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, "
            "figures jsonb)"
        )


def migrate(url: str, root: Path = ROOT) -> float:
    """`manage.py migrate` of the tree at `root` (another tree: a benchmark of older code)."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, str(root / "manage.py"), "migrate", "--noinput", "-v", "0"],
        env=django_env(url, root),
        cwd=root,
        check=True,
    )
    return time.perf_counter() - started


def import_file(path: Path, province: str, url: str) -> dict:
    """`manage.py import_licences PATH --province CODE --json` in a process of its own."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "import_licences",
                str(path),
                "--province",
                province,
                "--json",
            ],
            env=django_env(url),
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
        # wait4, not wait: the child's own peak memory (RUSAGE_CHILDREN keeps only the highest).
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read().decode(), stderr.read().decode(errors="replace")
    try:
        result = json.loads(output.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        sys.stderr.write(errors)
        raise SystemExit(
            f"import of {path.name} failed (exit status {process.returncode})"
        ) from None
    if process.returncode != 0 or not result.get("ok"):
        for problem in result.get("errors", [])[:10]:
            print(f"    error: {problem}", file=sys.stderr)
        raise SystemExit(f"import of {path.name} failed (exit status {process.returncode})")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "result": result}


def ensure_users() -> dict:
    """The benchmark's logins (a reviewer and a 浙江 data-entry clerk), created if missing."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import DATA_ENTRY, REVIEWER
    from licensing.models import Province

    User = get_user_model()
    users = {}
    for username, role, province_code in (
        (REVIEWER_USERNAME, REVIEWER, None),
        (ZHEJIANG_USERNAME, DATA_ENTRY, "33"),
    ):
        province = Province.objects.get(code=province_code) if province_code else None
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "province": province}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.set([Group.objects.get(name=role)])
        users[username] = user
    return users


def ensure_big_licence():
    """浙江's licence of BIG_LICENCE_PRODUCTS products (generated ones list 1 to 5), found by its
    number and created once: the change page's worst case."""
    from django.db import transaction

    from licensing.models import InstrumentCategory, Licence, LicensedProduct, Manufacturer
    from licensing.statistics import register_counts_refresh

    licence = Licence.objects.filter(number=BIG_LICENCE_NUMBER).first()
    if licence is not None:
        return licence
    _, category_codes = reference_data()
    categories = InstrumentCategory.objects.in_bulk(field_name="code")
    manufacturer = Manufacturer.objects.filter(province__code="33").order_by("credit_code").first()
    with transaction.atomic():
        licence = Licence.objects.create(
            number=BIG_LICENCE_NUMBER,
            manufacturer=manufacturer,
            province=manufacturer.province,
            issuing_authority=f"{manufacturer.province.name}质量技术监督局",
            accepted_on=date(2016, 3, 1),
            issued_on=date(2016, 3, 18),
            expires_on=date(2019, 3, 17),
        )
        products = []
        for index in range(BIG_LICENCE_PRODUCTS):
            category = index % len(PRODUCTS)
            name, names, classes, measuring_range = PRODUCTS[category]
            products.append(
                LicensedProduct(
                    licence=licence,
                    category=categories[category_codes[name]],
                    product_name=names[index // len(PRODUCTS) % len(names)],
                    model_spec=f"{MODEL_PREFIXES[category][index % 3]}{index + 100}",
                    accuracy_class=classes[index % len(classes)],
                    measuring_range=measuring_range,
                )
            )
        LicensedProduct.objects.bulk_create(products)
        register_counts_refresh(province_ids={licence.province_id})
    return licence


# The 2016 campaign's returns of the units verification/demo.py leaves alone, in states cycling
# through the workflow (None: not started). Steps as in verification/demo.py's TIMELINES.
BACK = {
    "comment": "请补充说明许可证公告和备案情况。",
    "field_comments": {"list_filed": "请核实获证名单的备案情况。"},
}
REVISION = {"summary_problems": "个别许可公告未及时报总局备案，已按审核意见补报。"}
STATES = {
    "draft": (("save", (2016, 10, 20, 10, 0), "draft"),),
    "submitted": (
        ("save", (2016, 10, 18, 9, 30), "answers"),
        ("submit", (2016, 10, 27, 15, 0), None),
    ),
    "late": (("save", (2016, 10, 30, 9, 0), "answers"), ("submit", (2016, 11, 4, 10, 0), None)),
    "returned": (
        ("save", (2016, 10, 19, 14, 0), "answers"),
        ("submit", (2016, 10, 25, 16, 0), None),
        ("send_back", (2016, 10, 31, 11, 0), BACK),
    ),
    "accepted": (
        ("save", (2016, 10, 14, 10, 0), "answers"),
        ("submit", (2016, 10, 21, 11, 0), None),
        ("accept", (2016, 10, 28, 15, 0), "同意。"),
    ),
    "accepted late": (
        ("save", (2016, 10, 28, 10, 0), "answers"),
        ("submit", (2016, 11, 2, 9, 0), None),
        ("accept", (2016, 11, 9, 10, 0), ""),
    ),
    "resubmitted": (
        ("save", (2016, 10, 12, 10, 0), "answers"),
        ("submit", (2016, 10, 20, 11, 0), None),
        ("send_back", (2016, 10, 24, 9, 0), BACK),
        ("save", (2016, 10, 26, 15, 0), "revision"),
        ("submit", (2016, 10, 27, 10, 0), None),
    ),
}
STATE_CYCLE = (
    "accepted", "submitted", "draft", "returned", "late", None, "accepted late", "resubmitted",
)  # fmt: skip
ADMINISTRATOR_NAMES = (
    "李华",
    "王芳",
    "张伟",
    "刘洋",
    "陈晨",
    "杨帆",
    "赵磊",
    "黄丽",
    "周杰",
    "吴敏",
)


def seed_returns(reviewer) -> dict:
    """Returns of the 2016 campaign for the 32 units: the demo's ten, then the others."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import PROVINCIAL_ADMIN
    from licensing.models import Province
    from verification import demo
    from verification.factories import attach_scan, complete_answers
    from verification.findings import compute_findings, count_by_rule
    from verification.models import Campaign, ProvincialReturn
    from verification.services import (
        return_accept,
        return_save_draft,
        return_send_back,
        return_start,
        return_submit,
        system_administrator_add,
    )

    findings_seconds = []

    def findings_counts(province, campaign):
        started = time.perf_counter()
        counts = count_by_rule(compute_findings(province=province, campaign=campaign))
        findings_seconds.append((province.code, time.perf_counter() - started))
        return counts

    # The demo's ten, exactly as seed_demo writes them (it computes findings itself).
    started = time.perf_counter()
    demo.seed_returns(administrators={}, editors={}, reviewer=reviewer)
    demo_seconds = time.perf_counter() - started

    campaign = Campaign.objects.get(notice_number=NOTICE_2016)
    group = Group.objects.get(name=PROVINCIAL_ADMIN)
    User = get_user_model()
    others = Province.objects.exclude(code__in=list(demo.TIMELINES)).order_by("code")
    states = {}
    for position, province in enumerate(others):
        state = STATE_CYCLE[position % len(STATE_CYCLE)]
        states[province.code] = state
        if state is None:
            continue
        user, created = User.objects.get_or_create(
            username=f"bench_admin_{province.code}", defaults={"province": province}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.set([group])
        steps = STATES[state]
        name = ADMINISTRATOR_NAMES[position % len(ADMINISTRATOR_NAMES)]
        system_administrator_add(
            province=province,
            by=user,
            data={
                "name": name,
                "organisation": f"{province.name}质量技术监督局计量处",
                "title": "主任科员",
                "office_phone": f"0{position + 10}-8{position:03d}1234",
                "mobile": f"139{position:04d}1234",
                "email": f"admin{province.code}@example.gov.cn",
                "effective_from": date(2016, 8, 1),
            },
        )
        first = demo.beijing(*steps[0][1])
        provincial_return = return_start(campaign=campaign, by=user, at=first)
        ProvincialReturn.objects.filter(pk=provincial_return.pk).update(
            created_at=first, updated_at=first
        )
        for action, moment, details in steps:
            at = demo.beijing(*moment)
            if action == "save":
                answers = complete_answers(province)
                if details == "draft":
                    answers = {key: answers[key] for key in demo.DRAFT_ANSWERS}
                elif details == "revision":
                    answers = REVISION
                return_save_draft(provincial_return=provincial_return, by=user, data=answers, at=at)
            elif action == "submit":
                if not provincial_return.attachments.current().exists():
                    attach_scan(provincial_return, by=user, at=at)  # submitting needs the scan
                return_submit(
                    provincial_return=provincial_return,
                    by=user,
                    attest=True,
                    findings_counts=findings_counts(province, campaign),
                    at=at,
                )
            elif action == "send_back":
                return_send_back(provincial_return=provincial_return, by=reviewer, at=at, **details)
            elif action == "accept":
                return_accept(
                    provincial_return=provincial_return, by=reviewer, comment=details, at=at
                )
    by_status = {}
    for status in ProvincialReturn.objects.filter(campaign=campaign).values_list(
        "status", flat=True
    ):
        by_status[status] = by_status.get(status, 0) + 1
    return {
        "demo_seconds": demo_seconds,
        "findings_seconds": findings_seconds,
        "by_status": by_status,
        "not_started": 32 - sum(by_status.values()),
    }


def _vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with _connect(url) as connection:
        connection.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def register_counts(url: str) -> dict:
    """Manufacturers, licences (valid ones too) and products per province, and the size."""
    with _connect(url) as connection:
        rows = connection.execute(
            """
            SELECT p.code, p.name,
                   (SELECT count(*) FROM licensing_manufacturer m WHERE m.province_id = p.id),
                   (SELECT count(*) FROM licensing_licence l WHERE l.province_id = p.id),
                   (SELECT count(*) FROM licensing_licence l
                     WHERE l.province_id = p.id AND l.status = 'valid'),
                   (SELECT count(*) FROM licensing_licensedproduct lp
                      JOIN licensing_licence l ON l.id = lp.licence_id
                     WHERE l.province_id = p.id)
              FROM licensing_province p ORDER BY p.code
            """
        ).fetchall()
        size = connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    provinces = {
        code: {
            "name": name,
            "manufacturers": makers,
            "licences": licences,
            "valid": valid,
            "products": products,
        }
        for code, name, makers, licences, valid, products in rows
    }
    return {"provinces": provinces, "bytes": size}


def build(url: str, products: int, manifest: dict, meta: dict | None) -> dict:
    """Create the database afresh and build the register into it; returns the figures."""
    started = time.perf_counter()
    _recreate_database(url, meta)
    with _connect(url) as connection:
        connection.execute(
            f"INSERT INTO {META_TABLE} (id, generator_version, products) VALUES (1, %s, %s)",  # noqa: S608 (a constant)
            [GENERATOR_VERSION, products],
        )
    figures = {"migrate_seconds": migrate(url)}
    print(f"  migrated in {figures['migrate_seconds']:.1f} s", flush=True)

    directory = data_directory(products)
    files = manifest["files"]
    imports = []
    import_started = time.perf_counter()
    done = 0
    for position, file in enumerate(files, start=1):
        measured = import_file(directory / file["file"], file["province"], url)
        done += file["rows"]
        elapsed = time.perf_counter() - import_started
        counts = measured["result"]
        print(
            f"  [{position:>2}/{len(files)}] {file['file']:<10} {file['rows']:>8,} rows "
            f"{measured['seconds']:7.1f} s {file['rows'] / measured['seconds']:>8,.0f} rows/s "
            f"(created {counts['manufacturers']['created']:,} manufacturers, "
            f"{counts['licences']['created']:,} licences, {counts['products']['created']:,} "
            f"products), peak {measured['peak_mb']:.0f} MB; {done:,}/{products:,} rows in "
            f"{elapsed:.0f} s",
            flush=True,
        )
        imports.append(
            {
                **file,
                "seconds": measured["seconds"],
                "peak_mb": measured["peak_mb"],
                "created": {
                    name: counts[name]["created"]
                    for name in ("manufacturers", "licences", "products")
                },
            }
        )
    figures["import_seconds"] = time.perf_counter() - import_started
    figures["imports"] = imports
    figures["peak_mb"] = max(item["peak_mb"] for item in imports)

    setup_django(url)
    from django.db import connections

    started_returns = time.perf_counter()
    users = ensure_users()
    figures["returns"] = seed_returns(users[REVIEWER_USERNAME])
    figures["returns"]["seconds"] = time.perf_counter() - started_returns
    connections.close_all()
    print(
        f"  returns of the 2016 campaign: {figures['returns']['by_status']}, "
        f"{figures['returns']['not_started']} not started "
        f"({figures['returns']['seconds']:.1f} s)",
        flush=True,
    )
    figures["vacuum_analyze_seconds"] = _vacuum_analyze(url)
    print(f"  VACUUM (ANALYZE) in {figures['vacuum_analyze_seconds']:.1f} s", flush=True)
    figures["counts"] = register_counts(url)
    figures["total_seconds"] = time.perf_counter() - started
    with _connect(url) as connection:
        connection.execute(
            f"UPDATE {META_TABLE} SET finished_at = now(), figures = %s WHERE id = 1",  # noqa: S608 (a constant)
            [json.dumps(figures)],
        )
    return figures


def ensure_register(
    url: str, products: int = DEFAULT_PRODUCTS, *, rebuild: bool = False, jobs: int = 2
) -> dict:
    """The database at `url` holding the register of `products` rows; returns its figures."""
    manifest = generate(products, jobs=jobs)
    meta = register_meta(url)
    name = database_name(url)
    if (
        not rebuild
        and meta is not None
        and meta.get("finished")
        and meta["generator_version"] == GENERATOR_VERSION
        and meta["products"] == products
    ):
        print(
            f"Reusing the register in {name} ({products:,} products, generator "
            f"v{GENERATOR_VERSION}; --rebuild to build it again); migrating …",
            flush=True,
        )
        migrate(url)
        print_build(meta["figures"], products)
        return meta["figures"]
    print(f"Building the register of {products:,} products in {name} …", flush=True)
    figures = build(url, products, manifest, meta)
    print_build(figures, products)
    return figures


def print_build(figures: dict, products: int) -> None:
    """The build's figures: time, rows/s per province, counts, database size."""
    provinces, _ = reference_data()
    counts = figures["counts"]["provinces"]
    per_province = {}
    for item in figures["imports"]:
        entry = per_province.setdefault(item["province"], {"files": 0, "rows": 0, "seconds": 0.0})
        entry["files"] += 1
        entry["rows"] += item["rows"]
        entry["seconds"] += item["seconds"]
    line = "{:<4} {} {:>5} {:>9} {:>8} {:>8} {:>13} {:>9} {:>9}"
    print()
    print(
        line.format(
            "code",
            pad("unit", 16),
            "files",
            "rows",
            "seconds",
            "rows/s",
            "manufacturers",
            "licences",
            "products",
        )
    )
    print("-" * 86)
    for code, entry in sorted(per_province.items()):
        stored = counts[code]
        print(
            line.format(
                code,
                pad(provinces[code][0], 16),
                entry["files"],
                f"{entry['rows']:,}",
                f"{entry['seconds']:.1f}",
                f"{entry['rows'] / entry['seconds']:,.0f}",
                f"{stored['manufacturers']:,}",
                f"{stored['licences']:,}",
                f"{stored['products']:,}",
            )
        )
    print("-" * 86)
    total = {
        name: sum(c[name] for c in counts.values())
        for name in ("manufacturers", "licences", "valid", "products")
    }
    big = {name: sum(counts[c][name] for c in BIG_THREE) for name in total}
    rows = sum(entry["rows"] for entry in per_province.values())
    seconds = sum(entry["seconds"] for entry in per_province.values())
    print(
        line.format(
            "", pad("all", 16), len(figures["imports"]), f"{rows:,}", f"{seconds:.1f}",
            f"{rows / seconds:,.0f}", f"{total['manufacturers']:,}", f"{total['licences']:,}",
            f"{total['products']:,}",
        )
    )  # fmt: skip
    rates = [entry["rows"] / entry["seconds"] for entry in per_province.values()]
    print(
        f"浙江+广东+江苏: {big['products']:,} products ({big['products'] / total['products']:.1%}), "
        f"{big['licences']:,} licences, {big['manufacturers']:,} manufacturers. "
        f"Valid licences: {total['valid']:,}."
    )
    print(
        f"Build: {figures['total_seconds']:.0f} s in all (migrate {figures['migrate_seconds']:.0f} s, "
        f"imports {figures['import_seconds']:.0f} s = {products / figures['import_seconds']:,.0f} "
        f"rows/s overall, median province {statistics.median(rates):,.0f} rows/s; returns "
        f"{figures['returns']['seconds']:.0f} s; VACUUM ANALYZE "
        f"{figures['vacuum_analyze_seconds']:.0f} s); highest import peak "
        f"{figures['peak_mb']:.0f} MB; database {figures['counts']['bytes'] / 2**20:,.0f} MB."
    )


def pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (CJK characters take two)."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(0, width - used)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS)
    parser.add_argument("--database-url", help="default: BENCH_DATABASE_URL, else " + DEFAULT_URL)
    parser.add_argument("--rebuild", action="store_true", help="build even if already built")
    parser.add_argument(
        "--jobs", type=int, default=2, help="processes generating files (default 2)"
    )
    parser.add_argument("--generate-only", action="store_true", help="write the files only")
    options = parser.parse_args(argv)
    if options.generate_only:
        generate(options.products, jobs=options.jobs)
        return
    url = options.database_url or default_url(options.products)
    ensure_register(url, options.products, rebuild=options.rebuild, jobs=options.jobs)


if __name__ == "__main__":
    main()
