"""The admin screens and exports on a national register (issue 9): `make bench-scale`.

Builds (or reuses) the register of bench/national_register.py (1,000,000 products of all 32
units in PostgreSQL), adds 浙江's licence of 150 products (`ensure_big_licence`), then, in a
fresh Django process on production settings, requests each screen of SCREENS through Django's
test client as its persona (a reviewer, who sees every unit, or a 浙江 data-entry clerk): one
first request counts the queries (CaptureQueriesContext), the bytes and the HTTP status, then
`--runs` timed requests, the cache emptied before each, give the median and the highest
server-side time. A first request slower than `--slow-ms` is the only one timed. Each export runs
in a process of its own, for its peak memory (the process's RSS high-water mark, Django
included) and so that `--export-timeout` can stop it. A 400 or 500 is a result, printed with the
exception. Verdicts against the issue's targets: lists, searches, filters and the change page
under 300 ms; return and review pages under 500 ms and 150 KB; exports under 20 s and 300 MB.

    python bench/scale_bench.py [--products 1000000] [--runs 5] [--database-url URL]
                                [--save NAME] [--compare NAME] [--code-root DIR]
                                [--export-timeout 600] [--only KEY,…] [--rebuild] [--jobs 2]

`--save NAME` writes the figures to bench-data/scale-NAME.json; `--compare NAME` then prints
each screen against that saved run (before → after). `--code-root DIR` times the code of another
tree (e.g. `git archive` of an older commit) on a database of its own that already holds the
register (`createdb -T licences_bench licences_bench_before`): that tree's `migrate` runs, never
this one's. The exit status is 0 whatever the figures (a benchmark, not a test).
"""

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# The tree whose code is timed: the Django processes get it first on their path (and ROOT last,
# so that national_register does not put this tree's code before it).
CODE_ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or ROOT).resolve()
if CODE_ROOT != ROOT:
    sys.path.insert(1, str(CODE_ROOT))
    sys.path.append(str(ROOT))

import national_register  # noqa: E402 (after the path is set)
import reports_bench  # noqa: E402

LIST_MS = 300
PAGE_MS = 500
PAGE_BYTES = 150 * 1024
EXPORT_SECONDS = 20
EXPORT_MB = 300
DEFAULT_SLOW_MS = 20_000
DEFAULT_EXPORT_TIMEOUT = 600
NO_MATCH = "无此企业名称"

BOTH = ("reviewer", "zhejiang")
LICENCES = "admin:licensing_licence_changelist"


@dataclass(frozen=True)
class Screen:
    key: str
    label: str
    url_name: str
    arguments: dict | str  # URL kwargs, or a query string; braces name page_context's values
    personas: tuple[str, ...]
    kind: str  # "list" (300 ms), "page" (500 ms, 150 KB) or "export" (20 s, 300 MB)


SCREENS = [
    Screen("licences", "licence list", LICENCES, "", BOTH, "list"),
    Screen("licences_p100", "licence list, page 100", LICENCES, "?p=99", BOTH, "list"),
    Screen("search_name", "licence search: name", LICENCES, "?q={name}", BOTH, "list"),
    Screen("search_brand", "licence search: 2-character name", LICENCES, "?q={brand}", BOTH, "list"),
    Screen("search_model", "licence search: model", LICENCES, "?q={model}", BOTH, "list"),
    Screen("search_number", "licence search: number", LICENCES, "?q={number}", BOTH, "list"),
    Screen("search_none", "licence search: no match", LICENCES, "?q={no_match}", BOTH, "list"),
    Screen(
        "filter_category", "licences in 衡器", LICENCES,
        "?products__category__id__exact={weighing_pk}", BOTH, "list",
    ),
    Screen("filter_expired", "licences expired", LICENCES, "?expiry=expired", BOTH, "list"),
    Screen(
        "product_search", "product search: model", "admin:licensing_licensedproduct_changelist",
        "?q={model}", BOTH, "list",
    ),
    Screen("manufacturers", "manufacturer list", "admin:licensing_manufacturer_changelist", "", BOTH, "list"),
    Screen(
        "licence_change", "licence of 150 products", "admin:licensing_licence_change",
        {"object_id": "{big_licence_pk}"}, BOTH, "list",
    ),
    Screen(
        "return_33", "浙江's return", "verification:return_detail",
        {"pk": "{return_33_pk}"}, ("zhejiang",), "page",
    ),
    Screen(
        "review_33", "review of 浙江", "verification:return_review",
        {"pk": "{return_33_pk}"}, ("reviewer",), "page",
    ),
    Screen(
        "review_44", "review of 广东", "verification:return_review",
        {"pk": "{return_44_pk}"}, ("reviewer",), "page",
    ),
]  # fmt: skip
# Exports of 浙江's licences by the 浙江 clerk: the export page's form posted in a format, and the
# changelist's export action after "select all" (its form, then that form posted back).
EXPORTS = [
    ("export_csv", "export of 浙江, .csv"),
    ("export_xlsx", "export of 浙江, .xlsx"),
    ("action_form", "select all → export action"),
    ("action_xlsx", "select all → export, .xlsx"),
]
EXPORT_PERSONA = "zhejiang"


def page_context() -> dict:
    """What the screens' arguments name: search terms found in the register, and objects."""
    from licensing.models import InstrumentCategory, Licence, LicensedProduct
    from verification.models import ProvincialReturn

    first = (
        Licence.objects.filter(province__code="33")
        .select_related("manufacturer")
        .order_by("number")
        .first()
    )
    maker = first.manufacturer.name
    brand = national_register.name_fragment(maker, "33")
    name = maker[: maker.index(brand) + len(brand)]  # city and brand: 杭州金美
    # The example of a two-character name, when the generated names hold it.
    if Licence.objects.filter(province__code="33", manufacturer__name__contains="恒信").exists():
        brand = "恒信"
    model = (
        LicensedProduct.objects.filter(licence__province__code="33", category__code="water-meter")
        .order_by("licence__number")
        .values_list("model_spec", flat=True)
        .first()
    )[:-1]  # LXS-12 finds LXS-120 to LXS-129
    returns = dict(
        ProvincialReturn.objects.filter(
            campaign__notice_number=national_register.NOTICE_2016,
            province__code__in=["33", "44"],
        ).values_list("province__code", "pk")
    )
    values = {
        "name": name,
        "brand": brand,
        "model": model,
        "number": first.number,
        "no_match": NO_MATCH,
        "weighing_pk": InstrumentCategory.objects.get(code="weighing-instrument").pk,
        "big_licence_pk": national_register.ensure_big_licence().pk,
        "return_33_pk": returns.get("33", 0),
        "return_44_pk": returns.get("44", 0),
    }
    return {key: quote(str(value)) for key, value in values.items()} | {"text": values}


def screen_urls(context: dict) -> list[tuple[Screen, str, str]]:
    """(screen, persona, URL) of every GET screen; the load test requests the same."""
    return [
        (screen, persona, reports_bench.page_url(screen.url_name, screen.arguments, context))
        for screen in SCREENS
        for persona in screen.personas
    ]


class _SecurityLog(logging.Handler):
    """The last message of django.security: why a request was refused with 400."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.last = None
        logging.getLogger("django.security").addHandler(self)

    def emit(self, record):
        self.last = f"{record.name.rpartition('.')[2]}: {record.getMessage()}"


def _error(response, security: _SecurityLog) -> str | None:
    """The exception of a 500, or what django.security said of a 400."""
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        return repr(exc_info[1])[:300]
    if response.status_code == 400 and security.last:
        return security.last[:300]
    return None


def time_screens(runs: int, slow_ms: float, only: set | None, results_path: Path) -> None:
    """Time SCREENS in this process (Django set up on the register); results as JSON."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reports_bench.use_test_client_settings()
    clients = reports_bench.persona_clients(raise_request_exception=False)
    security = _SecurityLog()
    context = page_context()
    print(
        "search terms: " + ", ".join(f"{k}={context['text'][k]}" for k in ("name", "brand", "model", "number")),
        flush=True,
    )  # fmt: skip
    print_header()
    results = []
    for screen, persona, url in screen_urls(context):
        if only and screen.key not in only:
            continue
        client = clients[persona]
        cache.clear()
        security.last = None
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response, body = reports_bench.fetch(client, url)
            first_ms = (time.perf_counter() - started) * 1000
        count = len(queries)  # now: each request's start empties the connection's query log
        times = [first_ms]
        if first_ms <= slow_ms:
            times = reports_bench.timed(client, url, runs, cold=True)
        result = {
            "key": screen.key,
            "label": screen.label,
            "persona": persona,
            "kind": screen.kind,
            "method": "GET",
            "url": url,
            "status": response.status_code,
            "times_ms": times,
            "median_ms": statistics.median(times),
            "max_ms": max(times),
            "queries": count,
            "bytes": len(body),
            "error": _error(response, security),
        }
        if screen.kind == "page" and first_ms <= slow_ms:
            # The findings a return page counts are kept per state of the register: a view
            # after the first one (and after count_findings) reads them from the cache.
            reports_bench.fetch(client, url)
            result["cached_ms"] = statistics.median(
                reports_bench.timed(client, url, runs, cold=False)
            )
        result["verdict"] = verdict(result)
        results.append(result)
        print_row(result)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0].split()[0]
    figures = {"server": server, "terms": context["text"], "results": results}
    results_path.write_text(json.dumps(figures, ensure_ascii=False, indent=1, default=str))


# --- Exports: one process each -------------------------------------------------------------


def _format_value(html: str, extension: str) -> str:
    """The export form's format option whose label is `extension` (csv, xlsx)."""
    match = re.search(rf'<option value="([^"]*)"[^>]*>\s*{extension}\s*</option>', html, re.I)
    if match is None:
        raise LookupError(f"the export form offers no {extension}")
    return match.group(1)


class _QueryCounter:
    """Counts queries without keeping them (CaptureQueriesContext would keep every SQL text in
    the memory being measured)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def time_export(key: str) -> dict:
    """One export as the 浙江 clerk, in this process: seconds, queries, bytes, status."""
    from django.db import connection
    from django.urls import reverse

    from tests.htmlforms import post_form

    reports_bench.use_test_client_settings()
    client = reports_bench.persona_clients(raise_request_exception=False)[EXPORT_PERSONA]
    security = _SecurityLog()
    export_url = reverse("admin:licensing_licence_export")
    changelist_url = reverse(LICENCES)
    if key in ("export_csv", "export_xlsx"):
        # What the browser posts: the export page's form, in the chosen format.
        page = client.get(export_url).content.decode()
        form = post_form(page)
        url, data = form.action or export_url, form.data(format=_format_value(page, key[7:]))
    else:
        # The changelist's "select all N" then the export action, as the admin's JavaScript
        # posts it: this page's checkboxes ticked, select_across=1.
        page = client.get(changelist_url).content.decode()
        selected = re.findall(r'name="_selected_action" value="([^"]+)"', page)
        url = changelist_url
        data = {
            "action": "export_admin_action",
            "select_across": "1",
            "index": "0",
            "_selected_action": selected,
        }
        if key == "action_xlsx":  # the action's form, untimed, then posted back
            response = client.post(url, data)
            if response.status_code == 302:  # "select all": the export page, no ids posted
                response = client.get(response["Location"])
            page = response.content.decode()
            if response.status_code != 200:
                return {"status": response.status_code, "error": "the action's form failed"}
            form = post_form(page)
            url, data = form.action or export_url, form.data(format=_format_value(page, "xlsx"))
    counter = _QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        response = client.post(url, data)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        seconds = time.perf_counter() - started
    return {
        "status": response.status_code,
        "seconds": seconds,
        "queries": counter.count,
        "bytes": len(body),
        "content_type": response.get("Content-Type", ""),
        "posted_fields": sum(len(v) if isinstance(v, list) else 1 for v in data.values()),
        "error": _error(response, security),
    }


def run_export(key: str, label: str, url: str, code_root: Path, timeout: float) -> dict:
    """time_export in a process of its own: its figures, peak memory, or a timeout."""
    result = {"key": key, "label": label, "persona": EXPORT_PERSONA, "kind": "export"}
    result["method"] = "POST"
    env = {**national_register.django_env(url, code_root), "BENCH_CODE_ROOT": str(code_root)}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, this script)
            [sys.executable, __file__, "--time-export", key, "--database-url", url],
            env=env,
            cwd=code_root,
            stdout=stdout,
            stderr=stderr,
        )
        while True:  # wait4, not wait: the child's own peak memory
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - started > timeout:
                process.kill()
                _pid, _status, usage = os.wait4(process.pid, 0)
                process.returncode = -9
                result.update(
                    status="timeout", seconds=timeout, error=f"stopped after {timeout:.0f} s"
                )
                break
            time.sleep(0.2)
        result["peak_mb"] = usage.ru_maxrss / 1024
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read().decode(), stderr.read().decode(errors="replace")
    if result.get("status") != "timeout":
        try:
            result.update(json.loads(output.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError):
            result.update(status="crash", error=(errors.strip().splitlines() or ["?"])[-1][:300])
    if "seconds" in result:
        result["times_ms"] = [result["seconds"] * 1000]
        result["median_ms"] = result["max_ms"] = result["seconds"] * 1000
    result["verdict"] = verdict(result)
    return result


# --- Verdicts and tables -------------------------------------------------------------------


def verdict(result: dict) -> str:
    status = result.get("status")
    if status == "timeout":
        return "TIMEOUT"
    if result.get("key") == "action_form" and status == 302:
        # "select all" answers with the export page of the list's filters (no ids posted).
        return "PASS" if result["seconds"] < EXPORT_SECONDS else "MISS"
    if status != 200:
        return f"HTTP {status}" if isinstance(status, int) else str(status).upper()
    if result["kind"] == "export":
        ok = result["seconds"] < EXPORT_SECONDS and result["peak_mb"] < EXPORT_MB
    elif result["kind"] == "page":
        ok = result["median_ms"] < PAGE_MS and result["bytes"] < PAGE_BYTES
    else:
        ok = result["median_ms"] < LIST_MS
    return "PASS" if ok else "MISS"


LINE = "{} {} {:>9} {:>8} {:>8} {:>11} {:>7} {:>7}  {}"


def print_header() -> None:
    print(
        LINE.format(
            national_register.pad("screen", 34), national_register.pad("user", 8), "median ms",
            "max ms", "queries", "bytes", "status", "peak MB", "verdict",
        )
    )  # fmt: skip
    print("-" * 112, flush=True)


def _number(value, spec: str = ",.0f") -> str:
    return "" if value is None else format(value, spec)


def print_row(result: dict) -> None:
    persona = {"zhejiang": "浙江", "reviewer": "reviewer"}[result["persona"]]
    print(
        LINE.format(
            national_register.pad(result["label"], 34),
            national_register.pad(persona, 8),
            _number(result.get("median_ms")),
            _number(result.get("max_ms")),
            _number(result.get("queries")),
            _number(result.get("bytes")),
            result.get("status", ""),
            _number(result.get("peak_mb")),
            result["verdict"] + _note(result),
        ),
        flush=True,
    )


def _note(result: dict) -> str:
    """The exception of a failed request; for an export refused, how many fields it posted."""
    notes = [result["error"]] if result.get("error") else []
    if result.get("cached_ms") is not None:
        notes.append(f"{result['cached_ms']:,.0f} ms with the findings counted (cache kept)")
    if result["kind"] == "export" and result.get("status") != 200 and result.get("posted_fields"):
        notes.append(f"{result['posted_fields']:,} form fields posted")
    return "".join(f"  {note}" for note in notes)


def print_table(run: dict) -> None:
    print(
        f"\nScale benchmark, {run['date']}: commit {run['commit']}, {run['database']} "
        f"(PostgreSQL {run['server']}), {run['cpus']} CPUs, load average {run['load_before']} "
        f"before the run, Python {run['python']}; median of {run['runs']} requests after a first "
        f"one (a single request when slower than {run['slow_ms'] / 1000:.0f} s), cache emptied "
        f"before each"
    )
    print_header()
    for result in run["results"]:
        print_row(result)
    print(
        f"Targets: lists, searches, filters and the change page {LIST_MS} ms; return and review "
        f"pages {PAGE_MS} ms and {PAGE_BYTES // 1024} KB; exports {EXPORT_SECONDS} s and "
        f"{EXPORT_MB} MB peak (the process's RSS high-water mark, Django included). Exports: one "
        f"request each, in a process of its own."
    )


def print_comparison(before: dict, after: dict) -> None:
    """Each screen of `after` against `before`: ms, queries and bytes, before → after."""
    saved = {(r["key"], r["persona"]): r for r in before["results"]}
    print(
        f"\nBefore ({before['commit']}, {before['date']}) → after ({after['commit']}, {after['date']})"
    )
    line = "{} {} {:>17} {:>8} {:>13} {:>23} {:>15}  {}"
    print(
        line.format(
            national_register.pad("screen", 34), national_register.pad("user", 8), "median ms",
            "speed-up", "queries", "bytes", "status", "verdict",
        )
    )  # fmt: skip
    print("-" * 130)
    for result in after["results"]:
        old = saved.get((result["key"], result["persona"]), {})
        was, now = old.get("median_ms"), result.get("median_ms")
        speedup = f"{was / now:,.1f}×" if was and now else ""
        print(
            line.format(
                national_register.pad(result["label"], 34),
                national_register.pad(
                    {"zhejiang": "浙江"}.get(result["persona"], result["persona"]), 8
                ),
                f"{_number(was)} → {_number(now)}",
                speedup,
                f"{_number(old.get('queries'))} → {_number(result.get('queries'))}",
                f"{_number(old.get('bytes'))} → {_number(result.get('bytes'))}",
                f"{old.get('status', '')} → {result.get('status', '')}",
                f"{old.get('verdict', '')} → {result['verdict']}",
            )
        )


def saved_path(name: str) -> Path:
    return national_register.DATA / f"scale-{name}.json"


def tree_commit(code_root: Path) -> str:
    """The commit of the tree: git's (with "+changes" when the tree differs from it), or the
    .bench-commit file written next to an extracted tree, or "unknown"."""
    git = shutil.which("git")
    if git and (code_root / ".git").exists():

        def read(*arguments):  # read-only: no optional locks, the index left alone
            return subprocess.run(  # noqa: S603 (git, fixed arguments)
                [git, "--no-optional-locks", *arguments],
                cwd=code_root,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()

        changed = read("status", "--porcelain", "--untracked-files=no")
        return read("rev-parse", "HEAD")[:12] + ("+changes" if changed else "")
    marker = code_root / ".bench-commit"
    return marker.read_text().strip()[:12] if marker.exists() else "unknown"


def prepare_register(url: str, products: int, code_root: Path, *, rebuild=False, jobs=2) -> None:
    """The register in `url`: built or reused by this tree; for another tree, an existing
    register (a copy) brought to that tree's migrations by that tree's own `migrate`."""
    if code_root == ROOT:
        national_register.ensure_register(url, products, rebuild=rebuild, jobs=jobs)
        return
    meta = national_register.register_meta(url)
    if not (meta and meta.get("finished")):
        raise SystemExit(
            f"{national_register.database_name(url)} holds no finished register: copy one for "
            f"{code_root} first (createdb -T licences_bench …)."
        )
    print(f"Migrating {national_register.database_name(url)} with {code_root}'s code …", flush=True)
    national_register.migrate(url, root=code_root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=national_register.DEFAULT_PRODUCTS)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per screen (default 5)")
    parser.add_argument(
        "--database-url",
        help=f"default: BENCH_DATABASE_URL, else {national_register.DEFAULT_URL}",
    )
    parser.add_argument("--save", metavar="NAME", help="write bench-data/scale-NAME.json")
    parser.add_argument("--compare", metavar="NAME", help="compare with bench-data/scale-NAME.json")
    parser.add_argument("--code-root", type=Path, default=ROOT, help="the tree whose code is timed")
    parser.add_argument(
        "--slow-ms", type=float, default=DEFAULT_SLOW_MS,
        help=f"a first request slower than this is the only one timed (default {DEFAULT_SLOW_MS})",
    )  # fmt: skip
    parser.add_argument(
        "--export-timeout", type=float, default=DEFAULT_EXPORT_TIMEOUT,
        help=f"seconds an export may take (default {DEFAULT_EXPORT_TIMEOUT})",
    )  # fmt: skip
    parser.add_argument("--only", help="comma-separated screen and export keys")
    parser.add_argument("--no-exports", action="store_true", help="screens only")
    parser.add_argument("--rebuild", action="store_true", help="build the register again")
    parser.add_argument("--jobs", type=int, default=2, help="processes generating files")
    parser.add_argument("--time-screens", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time-export", help=argparse.SUPPRESS)
    options = parser.parse_args()
    url = options.database_url or national_register.default_url(options.products)
    only = set(options.only.split(",")) if options.only else None

    if options.time_screens or options.time_export:
        # A cache of its own: the tree's cache/ may hold pages of another database.
        with tempfile.TemporaryDirectory(prefix="scale-bench-cache-") as cache_dir:
            os.environ["CACHE_DIR"] = cache_dir
            national_register.setup_django(url)
            if options.time_screens:
                time_screens(options.runs, options.slow_ms, only, options.time_screens)
            else:
                print(json.dumps(time_export(options.time_export)))
        return

    started = time.perf_counter()
    code_root = options.code_root.resolve()
    prepare_register(url, options.products, code_root, rebuild=options.rebuild, jobs=options.jobs)
    run = {
        "commit": tree_commit(code_root),
        "code_root": str(code_root),
        "database": national_register.database_name(url),
        "server": "?",
        "terms": {},
        "date": f"{datetime.now():%Y-%m-%d %H:%M}",
        "cpus": os.cpu_count(),
        "load_before": " ".join(f"{load:.1f}" for load in os.getloadavg()),
        "python": platform.python_version(),
        "runs": options.runs,
        "slow_ms": options.slow_ms,
        "results": [],
    }
    print(f"\nTiming the screens of {run['commit']} on {run['database']} …", flush=True)
    env = {**national_register.django_env(url, code_root), "BENCH_CODE_ROOT": str(code_root)}
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as directory:
        results_path = Path(directory) / "screens.json"
        # A fresh process: nothing of the build (caches, connections) helps the timings.
        subprocess.run(  # noqa: S603 (this interpreter, this script)
            [sys.executable, __file__, "--time-screens", str(results_path), "--runs", str(options.runs)]
            + ["--slow-ms", str(options.slow_ms), "--database-url", url]
            + (["--only", options.only] if options.only else []),
            env=env,
            cwd=code_root,
            check=False,
        )  # fmt: skip
        if results_path.exists():
            run.update(json.loads(results_path.read_text()))
    if not options.no_exports:
        print(f"\nExports (one process each, at most {options.export_timeout:.0f} s):", flush=True)
        for key, label in EXPORTS:
            if only and key not in only:
                continue
            result = run_export(key, label, url, code_root, options.export_timeout)
            run["results"].append(result)
            print_row(result)
    run["seconds"] = time.perf_counter() - started
    print_table(run)
    if options.save:
        path = saved_path(options.save)
        path.write_text(json.dumps(run, ensure_ascii=False, indent=1))
        print(f"Saved as {path.relative_to(ROOT)}.")
    if options.compare:
        path = saved_path(options.compare)
        if path.exists():
            print_comparison(json.loads(path.read_text()), run)
        else:
            print(f"No saved run {path.relative_to(ROOT)} to compare with.")
    print(f"(the whole benchmark took {run['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
