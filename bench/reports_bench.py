"""Benchmark of the reports on a national register (issue 8, point 6): `make bench-reports`.

Builds (or reuses) the register of bench/national_register.py in PostgreSQL: about 1,000,000
licensed products of all 32 units, imported by the project's own `import_licences`, and the 2016
campaign's returns in varied states. Then, in a fresh Django process on that database with
production settings and a cache of its own, requests each page of PAGES through Django's test
client as its persona: one warm-up request counts the queries (CaptureQueriesContext) and the
bytes, then `--runs` timed requests, the cache emptied before each, give the median and the
highest server-side time (what the first visitor waits: the public list and the board's findings
are cached), and `--runs` more with the cache left warm give the cached median. Prints PASS/MISS
of the uncached median against TARGET_MS for the reports and public pages; the admin pages are
timed for reference only. A URL name that does not reverse yet is reported as such and skipped.
The exit status is 0 whatever the figures (a benchmark, not a test).

    python bench/reports_bench.py [--products 1000000] [--runs 5] [--database-url URL]
                                  [--rebuild] [--jobs 2]
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import national_register  # noqa: E402 (after the path is set)

TARGET_MS = 300
# (label, URL name, URL kwargs (dict) or query string ("?…"), persona). Values in braces are
# filled from the register (see page_context); personas: reviewer, zhejiang (a 浙江 data-entry
# clerk), anonymous.
PAGES = [
    ("campaign board", "reports:board", {"campaign_pk": "{campaign_pk}"}, "reviewer"),
    ("province × category", "reports:statistics", {}, "reviewer"),
    ("province × category", "reports:statistics", {}, "zhejiang"),
    ("submission status", "reports:status_list", {"campaign_pk": "{campaign_pk}"}, "reviewer"),
    ("Attachment 1 .xlsx", "reports:attachment1_xlsx", {"campaign_pk": "{campaign_pk}"}, "reviewer"),
    ("Attachment 2 .xlsx", "reports:attachment2_xlsx", {"campaign_pk": "{campaign_pk}"}, "reviewer"),
    ("public list, first page", "public:licence_list", {}, "anonymous"),
    (
        "public list, filtered",
        "public:licence_list",
        "?province=33&category=water-meter&q={fragment}",
        "anonymous",
    ),
    ("public licence page", "public:licence_detail", {"pk": "{zhejiang_licence_pk}"}, "anonymous"),
]  # fmt: skip
# Existing pages, timed for reference only (no target).
REFERENCE_PAGES = [
    ("admin index", "admin:index", {}, "reviewer"),
    ("admin licences", "admin:licensing_licence_changelist", {}, "reviewer"),
    ("admin licences", "admin:licensing_licence_changelist", {}, "zhejiang"),
]


def page_context() -> dict:
    """What the pages' arguments name: the 2016 campaign, a 浙江 licence, a name fragment."""
    from licensing.models import Licence, LicensedProduct
    from verification.models import Campaign

    campaign = Campaign.objects.get(notice_number=national_register.NOTICE_2016)
    licence = Licence.objects.filter(province__code="33", status="valid").order_by("number").first()
    product = (
        LicensedProduct.objects.filter(
            licence__province__code="33", licence__status="valid", category__code="water-meter"
        )
        .select_related("licence__manufacturer")
        .order_by("licence__number")
        .first()
    )
    fragment = product and national_register.name_fragment(product.licence.manufacturer.name, "33")
    return {
        "campaign_pk": campaign.pk,
        "zhejiang_licence_pk": licence.pk if licence else 0,
        "fragment": quote(fragment or "计量"),
        "fragment_text": fragment or "计量",
    }


def page_url(name: str, arguments, context: dict) -> str:
    """The page's URL; raises NoReverseMatch when the name (or its arguments) is unknown."""
    from django.urls import reverse

    if isinstance(arguments, str):
        return reverse(name) + arguments.format(**context)
    return reverse(name, kwargs={key: value.format(**context) for key, value in arguments.items()})


def _why_not(error: Exception) -> str:
    message = str(error)
    if "pattern(s) tried" in message:  # the name exists, with other arguments
        return "URL arguments differ from the benchmark's"
    return "not available yet"


def fetch(client, url: str):
    response = client.get(url)
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    return response, body


def timed(client, url: str, runs: int, cold: bool) -> list[float]:
    """`runs` server-side times in ms; `cold`: the cache emptied (untimed) before each."""
    from django.core.cache import cache

    times = []
    for _run in range(runs):
        if cold:
            cache.clear()
        started = time.perf_counter()
        fetch(client, url)
        times.append((time.perf_counter() - started) * 1000)
    return times


def use_test_client_settings() -> None:
    """Settings for Django's test client in a process on the register's production settings."""
    from django.conf import settings
    from django.test.utils import override_settings

    # The test client's host; plain static storage (the manifest needs collectstatic, which
    # would write into the tree; a lookup in it costs a dictionary access either way).
    override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()
    # WhiteNoise would warn that STATIC_ROOT does not exist: it serves nothing here anyway.
    warnings.filterwarnings("ignore", message="No directory at")


def persona_clients(**client_options) -> dict:
    """A test client per persona (reviewer, zhejiang, anonymous), signed in."""
    from django.test import Client

    users = national_register.ensure_users()
    clients = {"anonymous": Client(**client_options)}
    for persona, username in (
        ("reviewer", national_register.REVIEWER_USERNAME),
        ("zhejiang", national_register.ZHEJIANG_USERNAME),
    ):
        clients[persona] = Client(**client_options)
        clients[persona].force_login(users[username])
    return clients


def time_pages(runs: int) -> None:
    """Time PAGES and REFERENCE_PAGES in this process (Django set up on the register)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch

    use_test_client_settings()
    clients = persona_clients()
    context = page_context()

    meta = national_register.register_meta(_database_url())
    counts = (meta or {}).get("figures", {}).get("counts", {}).get("provinces", {})
    totals = {
        name: sum(province[name] for province in counts.values())
        for name in ("manufacturers", "licences", "products")
    }
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0].split()[0]
    print(
        f"\nReports benchmark, {datetime.now():%Y-%m-%d %H:%M}: PostgreSQL {server} "
        f"({connection.settings_dict['NAME']}: {totals.get('products', 0):,} products, "
        f"{totals.get('licences', 0):,} licences, {totals.get('manufacturers', 0):,} "
        f"manufacturers), {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{runs} runs after one warm-up; q={context['fragment_text']}"
    )
    line = "{:<26} {:<10} {:>9} {:>7} {:>9} {:>8} {:>10}  {}"
    print(
        line.format("page", "user", "median ms", "max ms", "cached ms", "queries", "bytes", "verdict")
    )  # fmt: skip
    print("-" * 96)
    for pages, targeted in ((PAGES, True), (REFERENCE_PAGES, False)):
        for label, name, arguments, persona in pages:
            try:
                url = page_url(name, arguments, context)
            except NoReverseMatch as error:
                print(line.format(label, persona, "", "", "", "", "", f"{name}: {_why_not(error)}"))
                continue
            client = clients[persona]
            try:
                cache.clear()
                with CaptureQueriesContext(connection) as queries:
                    response, body = fetch(client, url)
                # Now: each request's start empties the connection's query log.
                count = len(queries)
                if response.status_code != 200:
                    status = f"HTTP {response.status_code} {url}"
                    print(line.format(label, persona, "", "", "", count, f"{len(body):,}", status))
                    continue
                cold = timed(client, url, runs, cold=True)
                cached = timed(client, url, runs, cold=False)
            except Exception as error:  # noqa: BLE001 (a benchmark reports and goes on)
                print(line.format(label, persona, "", "", "", "", "", f"error: {error!r}"[:200]))
                continue
            median = statistics.median(cold)
            verdict = ("PASS" if median < TARGET_MS else "MISS") if targeted else "(reference)"
            print(
                line.format(
                    label,
                    persona,
                    f"{median:.0f}",
                    f"{max(cold):.0f}",
                    f"{statistics.median(cached):.0f}",
                    count,
                    f"{len(body):,}",
                    verdict,
                )
            )
    print(
        f"Median and max: server side (test client), the cache emptied before each request, as "
        f"for the first visitor; target {TARGET_MS} ms. Cached: the same requests with the cache "
        f"as the previous one left it. Queries and bytes: the first request."
    )


def _database_url() -> str:
    return os.environ["DATABASE_URL"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=national_register.DEFAULT_PRODUCTS)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per page (default 5)")
    parser.add_argument(
        "--database-url",
        help=f"default: BENCH_DATABASE_URL, else {national_register.DEFAULT_URL}",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the register again")
    parser.add_argument("--jobs", type=int, default=2, help="processes generating files")
    parser.add_argument("--time-pages", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    url = options.database_url or national_register.default_url(options.products)
    if options.time_pages:
        # A cache of its own: the tree's cache/ may hold pages of another database, and the
        # timings must not be served from it. The public list's rate limit still counts each
        # request (its cost is part of the page's), at a rate the benchmark never reaches.
        cache_dir = tempfile.mkdtemp(prefix="reports-bench-cache-")
        os.environ["CACHE_DIR"] = cache_dir
        os.environ["PUBLIC_RATE_LIMIT"] = "1000000/m"
        try:
            national_register.setup_django(url)
            time_pages(options.runs)
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)
        return
    started = time.perf_counter()
    national_register.ensure_register(
        url, options.products, rebuild=options.rebuild, jobs=options.jobs
    )
    # A fresh process: nothing of the build (caches, connections) helps the timings.
    subprocess.run(  # noqa: S603 (this interpreter, this script)
        [sys.executable, __file__, "--time-pages", "--runs", str(options.runs)]
        + ["--database-url", url, "--products", str(options.products)],
        env=national_register.django_env(url),
        check=False,
    )
    print(f"(the whole benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
