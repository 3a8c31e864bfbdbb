"""Benchmark of the licence-list import (issue 3, item 8): `make bench`.

Generates licence lists of 5,000 and 100,000 rows (cached in bench-data/), then, each step in a
fresh Python process so that its peak memory is its own:

- python-calamine merely reading the file (the yardstick: every ratio is to this time), three
  times before each of the steps below, so that its median spans the same stretch of time;
- `read_rows`: the pre-parse defences, calamine and the reader's cell conversion;
- the import into a freshly migrated, empty database, then the same file re-imported unchanged,
  each `--runs` times (3; the median is shown, with the highest peak);
- the same rows through a plain django-import-export ModelResource for one model (Manufacturer),
  fed by tablib/openpyxl: what a Django developer would otherwise reach for; on the larger file
  only if the rate measured on the smaller one predicts at most `--reference-limit` seconds,
  else that prediction is printed, marked as an estimate.

Prints a table and PASS/MISS for each target of issue 3; the exit status is 0 whatever the
figures (a benchmark, not a test). SQLite by default, in a temporary file per run; set
BENCH_DATABASE_URL=postgres://USER@HOST/DB to run on PostgreSQL instead (the user needs CREATEDB:
each run gets a database of its own, created from a migrated template and dropped afterwards).

    python bench/import_bench.py [--sizes 5000,100000] [--runs 3] [--no-reference]
                                 [--reference-limit 180]
"""

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
GENERATOR_VERSION = 1  # bump when the generated rows change, so cached files are rebuilt
CALAMINE_REPEATS = 3

# Targets of issue 3, item 8 (SQLite, 2 cores).
IMPORT_RATIO = 6.0
REIMPORT_RATIO = 3.0
PEAK_MB = 600
SMALL_ROWS, SMALL_SECONDS = 5_000, 1.0
LARGE_ROWS = 100_000

HEADERS = [
    "许可证编号", "企业名称", "统一社会信用代码", "企业地址", "计量器具类别", "产品名称",
    "型号规格", "准确度等级", "测量范围", "型式批准证书编号", "发证机关", "发证层级",
    "受理日期", "发证日期", "有效期至", "状态",
]  # fmt: skip
# 山东's 16 prefecture-level cities, with their GB/T 2260 codes.
CITIES = [
    ("济南", "3701"), ("青岛", "3702"), ("淄博", "3703"), ("枣庄", "3704"), ("东营", "3705"),
    ("烟台", "3706"), ("潍坊", "3707"), ("济宁", "3708"), ("泰安", "3709"), ("威海", "3710"),
    ("日照", "3711"), ("临沂", "3713"), ("德州", "3714"), ("聊城", "3715"), ("滨州", "3716"),
    ("菏泽", "3717"),
]  # fmt: skip
TRADES = ["精准电子", "海润仪表", "鲁信计量", "华达衡器", "泰山智能", "齐鲁电气", "金宏科技"]
# The nine catalogue categories (one written as an alias), with products, classes and ranges.
PRODUCTS = [
    ("电能表", ["单相电子式电能表", "三相智能电能表", "预付费电能表"], ["1级", "2级"], "5(60)A"),
    ("水表", ["旋翼式水表", "螺翼式水表", "超声波水表"], ["2级"], "Q3=2.5m³/h"),
    ("燃气表", ["膜式燃气表", "IC卡燃气表", "超声波燃气表"], ["1.5级"], "(0.016~2.5)m³/h"),
    ("衡器", ["电子台秤", "电子计价秤", "电子汽车衡"], ["Ⅲ", "Ⅱ"], "(0~150)kg"),
    ("加油机", ["燃油加油机", "税控燃油加油机", "液化石油气加气机"], ["0.3级"], "(5~50)L/min"),
    ("出租车计价器", ["出租汽车计价器", "网约车计价器", "多功能计价器"], ["2%"], "(0~999.9)km"),
    ("热能表", ["超声波热能表", "机械式热能表", "户用热能表"], ["2级"], "(4~95)℃"),
    ("粉尘测量仪", ["粉尘浓度测量仪", "呼吸性粉尘测量仪", "直读式粉尘仪"], ["±15%"], "(0~1000)mg/m³"),
    ("甲烷测定器", ["光学甲烷测定器", "便携式甲烷检测报警仪", "甲烷传感器"], ["±0.1%"], "(0~4)%CH4"),
]  # fmt: skip


# --- Generating the licence lists ---------------------------------------------------------


def file_for(rows: int) -> Path:
    return DATA / f"licences-v{GENERATOR_VERSION}-{rows}.xlsx"


def generated_rows(count: int):
    """`count` rows: 3 products per licence, 2 licences per manufacturer, all valid, all 山东."""
    from licensing.factories import credit_code

    for index in range(count):
        licence, product = divmod(index, 3)
        maker = licence // 2
        city, region = CITIES[maker % len(CITIES)]
        category, names, classes, measuring_range = PRODUCTS[(licence + product) % len(PRODUCTS)]
        issued = date(2012, 1, 1) + timedelta(days=(licence * 7) % 2500)
        expires = issued + timedelta(days=5 * 365 - 1)
        accepted = issued - timedelta(days=15 + licence % 20)
        municipal = licence % 5 == 0
        if licence % 10 == 3:  # some lists hold dates typed as text
            issued_cell, expires_cell = (
                issued.isoformat(),
                f"{expires:%Y}年{expires.month}月{expires.day}日",
            )
        else:
            issued_cell, expires_cell = issued, expires
        yield [
            f"鲁制{37_000_000 + licence:08d}号",
            f"{city}{TRADES[maker % len(TRADES)]}计量器具有限公司{maker + 1}",
            credit_code(maker + 1, region=f"{region}00"),
            f"山东省{city}市高新区科技路{maker % 500 + 1}号",
            category,
            names[product],
            f"{'ABCDEFGH'[licence % 8]}{licence:05d}-{product + 1}",
            classes[licence % len(classes)],
            measuring_range,
            f"{2010 + licence % 10}F{100 + licence % 900}-37",
            f"{city}市质量技术监督局" if municipal else "山东省质量技术监督局",
            "市级" if municipal else "省级",
            accepted if licence % 4 else None,
            issued_cell,
            expires_cell,
            "有效" if licence % 3 else None,
        ]


def step_generate(rows: int) -> dict:
    from licensing.exports import write_xlsx

    path = file_for(rows)
    started = time.perf_counter()
    content = write_xlsx(HEADERS, generated_rows(rows), title="许可证名单")
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
    return {"seconds": time.perf_counter() - started, "bytes": len(content)}


# --- The steps, each run in its own process --------------------------------------------------


def step_calamine(path: Path) -> dict:
    """The yardstick: python-calamine reading the file into Python lists, nothing else."""
    from python_calamine import CalamineWorkbook

    times = []
    for _repeat in range(CALAMINE_REPEATS):
        started = time.perf_counter()
        grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        times.append(time.perf_counter() - started)
        del grid
    return {"seconds": statistics.median(times), "all": times}


def step_read_rows(path: Path) -> dict:
    from licensing.importing.readers import read_rows

    data = path.read_bytes()
    times = []
    for _repeat in range(CALAMINE_REPEATS):
        started = time.perf_counter()
        rows = read_rows(data)
        times.append(time.perf_counter() - started)
        count = len(rows)
        del rows
    return {"seconds": statistics.median(times), "all": times, "rows": count - 1}


def step_import(path: Path) -> dict:
    from licensing.importing.service import licence_import
    from licensing.models import Province

    data = path.read_bytes()
    province = Province.objects.get(code="37")
    started = time.perf_counter()
    result = licence_import(data=data, file_name=path.name, province=province)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "ok": result.ok,
        "rows": result.rows,
        "counts": result.counts_dict(),
        "errors": [problem.as_dict() for problem in result.errors[:5]],
        "stored": _stored(),
    }


def _stored() -> dict:
    from licensing.models import Licence, LicensedProduct, Manufacturer

    return {
        model.__name__: [model.objects.count(), model.history.count()]
        for model in (Manufacturer, Licence, LicensedProduct)
    }


def step_reference(path: Path) -> dict:
    """The same rows through a plain django-import-export resource, as its docs show it."""
    import tablib
    from import_export import fields, resources, widgets

    from licensing.models import Manufacturer, Province

    class ManufacturerResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="企业名称")
        credit_code = fields.Field(attribute="credit_code", column_name="统一社会信用代码")
        address = fields.Field(attribute="address", column_name="企业地址")
        province = fields.Field(
            attribute="province",
            column_name="省份",
            widget=widgets.ForeignKeyWidget(Province, field="code"),
        )

        class Meta:
            model = Manufacturer
            fields = ("name", "credit_code", "address", "province")
            import_id_fields = ("credit_code",)
            skip_unchanged = True

    started = time.perf_counter()
    with path.open("rb") as file:
        dataset = tablib.Dataset().load(file, format="xlsx")
    # The licence list has no province column: every row is 山东's.
    dataset.append_col(["37"] * len(dataset), header="省份")
    loaded = time.perf_counter()
    result = ManufacturerResource().import_data(dataset, dry_run=False, raise_errors=False)
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "load_seconds": loaded - started,
        "import_seconds": finished - loaded,
        "rows": len(dataset),
        "errors": result.has_errors() or result.has_validation_errors(),
        "totals": dict(result.totals),
        "stored": _stored(),
    }


STEPS = {
    "calamine": step_calamine,
    "read_rows": step_read_rows,
    "import": step_import,
    "reimport": step_import,
    "reference": step_reference,
}
NEEDS_DJANGO = {"read_rows", "import", "reimport", "reference", "generate"}


def child(step: str, argument: str) -> None:
    """Run one step in this fresh process and print its figures as the last line of output."""
    if step in NEEDS_DJANGO:
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
    baseline = _rss_mb()
    figures = step_generate(int(argument)) if step == "generate" else STEPS[step](Path(argument))
    figures["baseline_mb"] = baseline
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures, default=str))


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# --- Orchestration ----------------------------------------------------------------------------


class Databases:
    """Fresh, migrated, empty databases: SQLite files, or PostgreSQL databases from a template."""

    def __init__(self, base_env: dict):
        self.env = base_env
        self.url = os.environ.get("BENCH_DATABASE_URL", "")
        self.directory = Path(tempfile.mkdtemp(prefix="licence-bench-"))
        self.made: list[str] = []
        if self.url:
            self.vendor = "PostgreSQL"
            self.template = f"licence_bench_template_{os.getpid()}"
            self._postgres(f'CREATE DATABASE "{self.template}"')
            self.made.append(self.template)
            template_url = self._url_for(self.template)
        else:
            self.vendor = "SQLite"
            self.template = self.directory / "template.sqlite3"
            template_url = f"sqlite:///{self.template}"
        subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env={**self.env, "DATABASE_URL": template_url},
            check=True,
            cwd=ROOT,
        )
        self.count = 0

    def fresh(self) -> str:
        """The URL of a new database holding the migrations' reference data and nothing else."""
        self.count += 1
        if self.url:
            name = f"licence_bench_{os.getpid()}_{self.count}"
            self._postgres(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            self.made.append(name)
            return self._url_for(name)
        path = self.directory / f"run{self.count}.sqlite3"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def close(self) -> None:
        for name in reversed(self.made):
            self._postgres(f'DROP DATABASE IF EXISTS "{name}"')
        shutil.rmtree(self.directory, ignore_errors=True)

    def _url_for(self, name: str) -> str:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def _postgres(self, sql: str) -> None:
        import psycopg

        url = self.url.replace("postgresql://", "postgres://", 1).replace(
            "postgres://", "postgresql://", 1
        )
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(sql)


def run_step(step: str, argument, env: dict) -> dict:
    completed = subprocess.run(  # noqa: S603 (this interpreter, this script)
        [sys.executable, __file__, "--step", step, str(argument)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"bench step {step} failed (exit status {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=f"{SMALL_ROWS},{LARGE_ROWS}")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="imports and re-imports of each file, of which the median is shown (default 3)",
    )
    parser.add_argument(
        "--reference-limit",
        type=float,
        default=180,
        help="run the django-import-export reference on a file only if the rate measured on "
        "the smaller one predicts at most this many seconds (default 180)",
    )
    parser.add_argument("--step", nargs=2, metavar=("STEP", "ARGUMENT"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        child(*options.step)
        return

    sizes = sorted(int(size) for size in options.sizes.split(","))
    env = {
        **os.environ,
        # Production settings: DEBUG on would log every query and slow the writes.
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    DATA.mkdir(exist_ok=True)
    started = time.perf_counter()
    databases = Databases(env)
    print(
        f"Licence-list import benchmark, {datetime.now():%Y-%m-%d %H:%M}: {databases.vendor}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.machine()}"
    )
    results = {}
    try:
        for rows in sizes:
            path = file_for(rows)
            if not path.exists():
                print(f"  generating {path.relative_to(ROOT)} …", flush=True)
                run_step("generate", rows, env)  # no query: any database will do
            print(f"  {rows:,} rows: {path.name}, {path.stat().st_size / 1e6:.1f} MB", flush=True)
            results[rows] = _measure(path, databases, env, options.runs)
        if not options.no_reference:
            _reference(results, sizes, databases, env, options.reference_limit)
    finally:
        databases.close()
    print()
    _report(results, databases.vendor)
    print(f"\n(the whole benchmark took {time.perf_counter() - started:.0f} s)")


def _measure(path: Path, databases, env: dict, runs: int) -> dict:
    """calamine, read_rows, then `runs` imports (each into a fresh database) and `runs`
    re-imports of the first one: the median of each, the highest peak.

    The yardstick is read (three times) before each measured step, so that its median covers
    the same stretch of time as the steps it is compared with, on a machine whose speed drifts
    (other work, a shared host).
    """
    reads = [run_step("calamine", path, env)]
    figures = {"read_rows": run_step("read_rows", path, env)}
    imports, reimports = [], []
    first = {**env, "DATABASE_URL": databases.fresh()}
    for run in range(runs):
        database = first if run == 0 else {**env, "DATABASE_URL": databases.fresh()}
        reads.append(run_step("calamine", path, env))
        imports.append(run_step("import", path, database))
    for _run in range(runs):
        reads.append(run_step("calamine", path, env))
        reimports.append(run_step("reimport", path, first))
    figures["import"] = _median(imports)
    figures["reimport"] = _median(reimports)
    figures["calamine"] = _median(reads, key="all")
    return figures


def _median(steps: list[dict], key: str = "seconds") -> dict:
    """The first step's figures, with the median time and the highest peak of them all."""
    times = [seconds for step in steps for seconds in _as_list(step[key])]
    return {
        **steps[0],
        "seconds": statistics.median(times),
        "all": times,
        "peak_mb": max(step["peak_mb"] for step in steps),
    }


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _reference(results, sizes, databases, env, limit) -> None:
    """django-import-export on each file its rate on the smaller ones predicts within `limit`."""
    rate = None
    for rows in sizes:
        path = file_for(rows)
        if rate is not None and rows / rate > limit:
            results[rows]["reference_estimate"] = rows / rate
            continue
        print(f"  django-import-export, {rows:,} rows …", flush=True)
        database = {**env, "DATABASE_URL": databases.fresh()}
        figures = run_step("reference", path, database)
        results[rows]["reference"] = figures
        rate = figures["rows"] / figures["seconds"]
        if figures["seconds"] * 2 <= limit:
            results[rows]["reference_again"] = run_step("reference", path, database)


LINE = "{:<50} {:>8} {:>8} {:>8} {:>8} {:>10}"
RULE = "-" * 97


def _row(label, rows, seconds, ratio, peak=None, prefix="") -> str:
    return LINE.format(
        label,
        f"{rows:,}",
        f"{prefix}{seconds:.2f}",
        f"{prefix}{rows / seconds:,.0f}",
        "" if peak is None else f"{peak:.0f}",
        f"{prefix}{ratio:.2f}×",
    )


def _report(results: dict, vendor: str) -> None:
    print(LINE.format("step", "rows", "seconds", "rows/s", "peak MB", "× calamine"))
    print(RULE)
    for rows, figures in results.items():
        yardstick = figures["calamine"]["seconds"]
        steps = [
            ("python-calamine read only", "calamine"),
            ("read_rows: checks + calamine", "read_rows"),
            ("import into an empty database", "import"),
            ("re-import, unchanged", "reimport"),
            ("django-import-export, Manufacturer only", "reference"),
            ("django-import-export, again, unchanged", "reference_again"),
        ]
        for label, step in steps:
            if step in figures:
                measured = figures[step]
                if len(measured.get("all", ())) > 1:
                    label += f" (median of {len(measured['all'])})"
                ratio = measured["seconds"] / yardstick
                print(_row(label, rows, measured["seconds"], ratio, measured["peak_mb"]))
        if "reference_estimate" in figures:
            label = "django-import-export: ESTIMATED, not run"
            estimate = figures["reference_estimate"]
            print(_row(label, rows, estimate, estimate / yardstick, prefix="~"))
        _notes(figures)
        print(RULE)
    _targets(results, vendor)


def _notes(figures: dict) -> None:
    imported, again = figures["import"], figures["reimport"]
    counts, stored = imported["counts"], imported["stored"]
    print(
        f"    import: ok={imported['ok']}; created "
        + ", ".join(f"{counts[name]['created']:,} {name}" for name in counts)
        + "; stored rows/history records: "
        + ", ".join(f"{name} {rows:,}/{history:,}" for name, (rows, history) in stored.items())
    )
    if imported["errors"]:
        print(f"    errors: {imported['errors']}")
    counts = again["counts"]
    changed = sum(counts[name]["created"] + counts[name]["updated"] for name in counts)
    print(
        f"    re-import: ok={again['ok']}; unchanged "
        + ", ".join(f"{counts[name]['unchanged']:,} {name}" for name in counts)
        + ("" if not changed else f"; {changed:,} CREATED OR UPDATED (expected none)")
    )
    for step in ("reference", "reference_again"):
        if step in figures:
            reference = figures[step]
            print(
                f"    {step.replace('_', ' ')}: tablib/openpyxl load {reference['load_seconds']:.1f}"
                f" s + import_data {reference['import_seconds']:.1f} s; {reference['totals']}"
            )
    if "reference_estimate" in figures:
        print("    (the estimate is this file's rows at the rate measured on the smaller file)")
    print(
        f"    peak MB: the process's RSS high-water mark, Django's own "
        f"{imported['baseline_mb']:.0f} MB included"
    )


def _targets(results: dict, vendor: str) -> None:
    print(f"Targets (issue 3, item 8, set for SQLite on 2 cores; this run: {vendor}):")
    checks = []
    large = results.get(LARGE_ROWS)
    if large:
        yardstick = large["calamine"]["seconds"]
        for step, label, limit in (
            ("import", "imported", IMPORT_RATIO),
            ("reimport", "re-imported unchanged", REIMPORT_RATIO),
        ):
            ratio = large[step]["seconds"] / yardstick
            checks.append(
                (
                    f"{LARGE_ROWS:,} rows {label} in ≤ {limit:g}× calamine",
                    ratio <= limit,
                    f"{ratio:.2f}×",
                )
            )
        peak = max(large[step]["peak_mb"] for step in ("read_rows", "import", "reimport"))
        checks.append(
            (f"{LARGE_ROWS:,} rows: peak memory < {PEAK_MB} MB", peak < PEAK_MB, f"{peak:.0f} MB")
        )
    small = results.get(SMALL_ROWS)
    if small:
        seconds = small["import"]["seconds"]
        checks.append(
            (
                f"{SMALL_ROWS:,} rows imported in < {SMALL_SECONDS:g} s",
                seconds < SMALL_SECONDS,
                f"{seconds:.2f} s",
            )
        )
    for label, passed, measured in checks:
        print(f"  {'PASS' if passed else 'MISS'}  {label}: {measured}")
    if not checks:
        print("  (none measured: the targets are for 5,000 and 100,000 rows)")


if __name__ == "__main__":
    main()
