"""Load and fault test on the national register (issues 9 and 11): `make loadtest`.

Builds (or reuses) the register of bench/national_register.py, gives it LOGINS_PER_ROLE
reviewers and as many 浙江 data-entry clerks with a known password (and one 浙江 clerk who
imports), collects the static files into a directory of the run's own, starts gunicorn as the
README's production section does (config.wsgi, 3 sync workers, DEBUG off; plain http on
127.0.0.1, so SECURE_SSL_REDIRECT is off and the users send the Secure cookies as browsers do to
a loopback address; PUBLIC_RATE_LIMIT off, since every visitor comes from 127.0.0.1), waits
until it answers, then:

1. The steady run: locust headless (bench/loadtest.py), `--users` users started `--spawn-rate`
   a second, for `--duration`, each pausing `--wait` seconds between requests: anonymous
   visitors of the public list (PUBLIC_SCREENS), signed-in reviewers and 浙江 clerks over a
   weighted mix of bench/scale_bench.py's screens and the board and statistics (WEIGHTS; no
   exports), and one 浙江 clerk who imports a small licence list of new licences through the
   admin's import form (preview, then confirm). Requests still under way at the end are waited
   for, up to the client's `--timeout` (then failures). Prints requests/s, p50, p95, p99 and
   failures per screen and in all.
2. The restart run (unless --no-restart): the same for `--fault-duration`, and `--restart-at`
   seconds in, PostgreSQL is restarted (`pg_ctlcluster … restart`, as root, local cluster only).
   Prints the failed requests and how long after PostgreSQL accepted connections again the
   first RECOVERED_RUN consecutive requests, all started after that moment, succeeded.
3. The killed import (unless --no-kill): `manage.py import_licences` of a list of
   `--kill-rows` rows of new 浙江 licences, in a process of its own, killed with SIGKILL once
   pg_stat_activity shows its transaction writing (a transaction id assigned) and `--kill-after`
   seconds more; then the counts of the register's tables before and after, which must agree.

The exit status is 0 whatever the figures.

    python bench/loadtest_run.py [--products 1000000] [--database-url URL] [--users 50]
                                 [--spawn-rate 5] [--duration 60s] [--wait 1,3] [--workers 3]
                                 [--no-restart] [--restart-at 20] [--fault-duration 50s]
                                 [--no-kill] [--kill-rows 40000] [--kill-after 1]
                                 [--save NAME] [--code-root DIR]

`--save NAME` writes the report to bench-data/loadtest-NAME.txt; `--code-root DIR` serves
another tree's code (its database prepared as for scale_bench.py's --code-root).
"""

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

import reports_bench
import scale_bench  # puts the tree being measured first on the path (--code-root)

BENCH = scale_bench.BENCH

national_register = scale_bench.national_register

LOGINS_PER_ROLE = 15
PASSWORD = "bench-load-test-only"  # noqa: S105 (a benchmark database's accounts)
IMPORTER = "bench_load_importer"
P95_TARGET_MS = 500  # issue 11 (issue 9's was 1,000 ms for 20 users)
RECOVERY_TARGET_S = 5
RECOVERED_RUN = 10  # consecutive successful requests that mean "normal again"
# Users of each kind, relative to the others (and the one importer).
USER_WEIGHTS = {"anonymous": 2, "reviewer": 1, "zhejiang": 1}
# New 浙江 licences: the generator's licences renumbered into ranges it never uses
# (浙江's own run from 浙制33000001号): 38… for the web import, 39… for the killed one.
WEB_IMPORT_PREFIX, KILLED_IMPORT_PREFIX = "浙制38", "浙制39"
WEB_IMPORT_ROWS = 60
# How often each screen is requested, relative to the others (a screen that the role does not
# open is not in its mix): the plain list most, then searches, filters and the rest.
WEIGHTS = {
    "licences": 10,
    "licences_p100": 2,
    "search_name": 4,
    "search_brand": 3,
    "search_model": 3,
    "search_number": 4,
    "search_none": 1,
    "filter_category": 3,
    "filter_expired": 3,
    "product_search": 2,
    "manufacturers": 3,
    "licence_change": 2,
    "return_33": 4,
    "review_33": 2,
    "review_44": 2,
    "board": 3,
    "status_list": 2,
    "statistics": 2,
}
# The department's board and statistics (reports_bench's pages): key, label, URL, personas.
REPORT_SCREENS = [
    ("board", "campaign board", "reports:board", {"campaign_pk": "{campaign_pk}"}, ("reviewer",)),
    ("status_list", "32-unit status list", "reports:status_list", {"campaign_pk": "{campaign_pk}"}, ("reviewer",)),
    ("statistics", "register statistics", "reports:statistics", {}, ("reviewer", "zhejiang")),
]  # fmt: skip
# The public list's searches (anonymous): label, URL name, arguments, weight.
PUBLIC_SCREENS = [
    ("public list", "public:licence_list", {}, 4),
    ("public search: a name fragment", "public:licence_list", "?q={fragment}", 3),
    ("public search: a licence number", "public:licence_list", "?q={number}", 2),
    ("public list: 浙江, 水表, a name", "public:licence_list", "?province=33&category=water-meter&q={fragment}", 3),
    ("public list: 广东", "public:licence_list", "?province=44", 2),
    ("public licence page", "public:licence_detail", {"pk": "{zhejiang_licence_pk}"}, 3),
]  # fmt: skip
PERSONAS = {"reviewer": "reviewer", "zhejiang": "浙江", "anonymous": "anonymous"}


def ensure_logins(password: str) -> dict:
    """LOGINS_PER_ROLE reviewers and 浙江 data-entry clerks, all with `password`."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from accounts.roles import DATA_ENTRY, REVIEWER
    from licensing.models import Province

    User = get_user_model()
    hashed = make_password(password)  # hashed once: the hasher takes a good part of a second
    zhejiang = Province.objects.get(code="33")
    usernames = {}
    for persona, role, province in (
        ("reviewer", REVIEWER, None),
        ("zhejiang", DATA_ENTRY, zhejiang),
    ):
        group = Group.objects.get(name=role)
        usernames[persona] = []
        for number in range(1, LOGINS_PER_ROLE + 1):
            user, _created = User.objects.update_or_create(
                username=f"bench_load_{persona}_{number:02d}",
                defaults={"is_staff": True, "is_active": True, "province": province},
            )
            User.objects.filter(pk=user.pk).update(password=hashed)
            user.groups.set([group])
            usernames[persona].append(user.username)
    importer, _created = User.objects.update_or_create(
        username=IMPORTER, defaults={"is_staff": True, "is_active": True, "province": zhejiang}
    )
    User.objects.filter(pk=importer.pk).update(password=hashed)
    importer.groups.set([Group.objects.get(name=DATA_ENTRY)])
    return usernames


def write_licence_list(path: Path, rows: int, prefix: str, first: int) -> int:
    """A .csv of `rows` rows of new 浙江 licences (numbered from `first` after `prefix`)."""
    from import_bench import HEADERS

    written = 0
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(HEADERS)
        for licence_rows in national_register.province_licences("33", rows):
            for row in licence_rows:
                serial = int(row[0][len(prefix) : -1])  # 浙制33000017号 → 17
                number = f"{prefix}{first + serial:06d}号"
                writer.writerow([number, *("" if cell is None else cell for cell in row[1:])])
                written += 1
    return written


def _first_number(span: int) -> int:
    """Where this run's new licence numbers start: another range each run (six digits)."""
    return int(time.time() // 10) % (1_000_000 // span - 1) * span


def write_plan(path: Path, wait: list[float], timeout: float) -> None:
    """What the users need (accounts, screens and weights), from the register; in a Django process."""
    from urllib.parse import quote

    from django.urls import reverse

    from licensing.models import Licence

    usernames = ensure_logins(PASSWORD)
    screens = {persona: [] for persona in PERSONAS}
    for screen, persona, url in scale_bench.screen_urls(scale_bench.page_context()):
        name = f"{PERSONAS[persona]} {screen.label}"
        screens[persona].append([name, url, WEIGHTS[screen.key]])
    context = reports_bench.page_context()
    number = Licence.objects.get(pk=context["zhejiang_licence_pk"]).number
    context["number"] = quote(number)
    for key, label, url_name, arguments, personas in REPORT_SCREENS:
        for persona in personas:
            url = reports_bench.page_url(url_name, arguments, context)
            screens[persona].append([f"{PERSONAS[persona]} {label}", url, WEIGHTS[key]])
    screens["anonymous"] = [
        [f"anonymous {label}", reports_bench.page_url(url_name, arguments, context), weight]
        for label, url_name, arguments, weight in PUBLIC_SCREENS
    ]
    import_file = path.parent / "新增许可证名单.csv"
    write_licence_list(import_file, WEB_IMPORT_ROWS, WEB_IMPORT_PREFIX, _first_number(1000))
    plan = {
        "usernames": usernames,
        "importer": IMPORTER,
        "password": PASSWORD,
        "screens": screens,
        "user_weights": USER_WEIGHTS,
        "import": {
            "file": str(import_file),
            "upload_url": reverse("admin:licensing_licence_import_upload"),
            "confirm_url": reverse("admin:licensing_licence_import_confirm"),
            "done_url": reverse("admin:licensing_licence_changelist"),
        },
        "wait": wait,
        "timeout": timeout,
    }
    path.write_text(json.dumps(plan, ensure_ascii=False, indent=1))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(base: str, process, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/admin/login/", timeout=10) as response:  # noqa: S310 (our server)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")


def _header(title: str, options, commit: str, database: str) -> list[str]:
    return [
        f"{title}, {datetime.now():%Y-%m-%d %H:%M}: commit {commit}, {database}; gunicorn "
        f"config.wsgi, {options.workers} sync workers; locust {options.users} users "
        f"(anonymous : reviewers : 浙江 clerks = {USER_WEIGHTS['anonymous']} : "
        f"{USER_WEIGHTS['reviewer']} : {USER_WEIGHTS['zhejiang']}, and one 浙江 clerk who "
        f"imports) started {options.spawn_rate:g}/s, "
        f"{options.wait[0]:g}–{options.wait[1]:g} s between a user's requests; {os.cpu_count()} "
        f"CPUs shared with the server and locust, load average {options.load_before} before"
    ]


def _report(figures: dict | None, gunicorn_log: Path, header: list[str]) -> str:
    """The table of locust's figures per request and in all, and what failed."""
    line = "{} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}"
    lines = [
        *header,
        line.format(
            national_register.pad("request", 44), "requests", "failures", "req/s", "p50 ms",
            "p95 ms", "p99 ms", "max ms",
        ),
        "-" * 104,
    ]  # fmt: skip
    if figures is None:
        return "\n".join([*lines, "locust wrote no figures (see its output above)"])
    for entry in figures["entries"]:
        lines.append(_stats_line(line, entry["name"], entry))
    screens, total = figures["screens"], figures["total"]
    lines.append("-" * 104)
    lines.append(_stats_line(line, "the screens (no logins)", screens))
    lines.append(_stats_line(line, "all requests (the logins included)", total))
    for what, entry in (("screens", screens), ("all requests", total)):
        verdict = "PASS" if entry["p95"] < P95_TARGET_MS and entry["failures"] == 0 else "MISS"
        lines.append(
            f"{verdict} ({what}): {entry['rps']:.2f} requests/s, p50 {entry['p50']} ms, p95 "
            f"{entry['p95']} ms, p99 {entry['p99']} ms, {entry['failures']} failures of "
            f"{entry['requests']} requests (target: p95 under {P95_TARGET_MS} ms, no failures)"
        )
    for error in figures["errors"]:
        lines.append(
            f"  failed {error['occurrences']}×: {error['method']} {error['name']}: "
            f"{error['error'][:160]}"
        )
    log = gunicorn_log.read_text(errors="replace") if gunicorn_log.exists() else ""
    timeouts = log.count("WORKER TIMEOUT")
    if timeouts:
        lines.append(f"  gunicorn: {timeouts} worker timeouts (a request over 30 s: worker killed)")
    return "\n".join(lines)


def _stats_line(line: str, name: str, entry: dict) -> str:
    return line.format(
        national_register.pad(name, 44),
        entry["requests"],
        entry["failures"],
        f"{entry['rps']:.2f}",
        entry["p50"],
        entry["p95"],
        entry["p99"],
        f"{entry['max'] or 0:.0f}",
    )


def _locust(options, base: str, plan: Path, directory: Path, tag: str, duration: str, during=None):
    """One locust run; `during()` is called while it runs. Returns the figures (or None)."""
    bin_dir = Path(sys.executable).parent
    figures = directory / f"figures-{tag}.json"
    options.load_before = " ".join(f"{load:.1f}" for load in os.getloadavg())
    print(f"locust ({tag}) for {duration} …", flush=True)
    process = subprocess.Popen(  # noqa: S603 (the venv's locust, fixed arguments)
        [str(bin_dir / "locust"), "-f", str(BENCH / "loadtest.py"), "--headless"]
        + ["-u", str(options.users), "-r", str(options.spawn_rate)]
        + ["-t", duration, "--host", base, "--only-summary"]
        # Requests under way at the end are waited for (or time out), not dropped.
        + ["--stop-timeout", f"{options.timeout:.0f}s"]
        + ["--loglevel", "WARNING"],
        env={**os.environ, "LOADTEST_PLAN": str(plan), "LOADTEST_FIGURES": str(figures)},
        cwd=directory,
    )
    try:
        extra = during() if during else None
    finally:
        process.wait()  # locust exits 1 when a request failed: a result, not an error
    result = json.loads(figures.read_text()) if figures.exists() else None
    return result, extra


def _postgres_restart(url: str, at: float) -> dict:
    """Restart the local PostgreSQL cluster `at` seconds from now; when it went and came back."""
    started = time.time()
    time.sleep(at)
    versions = sorted(Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").is_dir() else []
    if not versions:
        return {"error": "no local PostgreSQL cluster (/etc/postgresql is empty)"}
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "restart"]
    print(f"  {time.time() - started:.1f} s: {' '.join(command)}", flush=True)
    restart = time.time()
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    returned = time.time()
    # Accepting connections again: the first successful connection after the restart.
    while True:
        try:
            with national_register._connect(url) as connection:
                connection.execute("SELECT 1")
            break
        except Exception:  # noqa: BLE001 (any refusal means: not back yet)
            if time.time() - restart > 120:
                return {"error": f"PostgreSQL not back after 120 s: {result.stderr[-300:]}"}
            time.sleep(0.05)
    back = time.time()
    print(f"  PostgreSQL back {back - restart:.1f} s after the restart began", flush=True)
    return {
        "command": " ".join(command),
        "returncode": result.returncode,
        "stderr": result.stderr.strip()[-300:],
        "restart": restart,
        "returned": returned,
        "back": back,
    }


def _recovery(figures: dict | None, restart: dict) -> list[str]:
    """Failed requests of the restart run, and how long until requests succeeded again."""
    if figures is None or "back" not in restart:
        return [f"no figures: {restart.get('error', 'locust wrote none')}"]
    timeline = sorted(figures["timeline"])  # (end time, ms, success, name), by end time
    back, began = restart["back"], restart["restart"]
    failed = [entry for entry in timeline if not entry[2]]
    lines = [
        f"PostgreSQL restarted ({restart['command']}, exit {restart['returncode']}): down "
        f"{back - began:.1f} s, from the restart's start to the first accepted connection",
        f"requests: {len(timeline)}, failed: {len(failed)}"
        + (
            f" (the first ended {failed[0][0] - began:+.1f} s from the restart's start, the last "
            f"{failed[-1][0] - back:+.1f} s from PostgreSQL's return)"
            if failed
            else ""
        ),
    ]
    for name, count in sorted(Counter(entry[3] for entry in failed).items()):
        lines.append(f"  failed {count}×: {name}")
    # Requests started after PostgreSQL was back, in the order they ended: the first run of
    # RECOVERED_RUN successes, and when its first request started.
    after = [entry for entry in timeline if entry[0] - entry[1] / 1000 >= back]
    run = 0
    recovered = None
    for index, entry in enumerate(after):
        run = run + 1 if entry[2] else 0
        if run == RECOVERED_RUN:
            first = after[index - RECOVERED_RUN + 1]
            recovered = first[0] - first[1] / 1000 - back
            break
    if recovered is None:
        lines.append(f"MISS: never {RECOVERED_RUN} successful requests in a row after the return")
    else:
        verdict = "PASS" if recovered <= RECOVERY_TARGET_S else "MISS"
        lines.append(
            f"{verdict}: normal again {recovered:.2f} s after PostgreSQL accepted connections "
            f"(the first of {RECOVERED_RUN} consecutive successful requests started then; "
            f"target: within {RECOVERY_TARGET_S} s)"
        )
    return lines


COUNTED_TABLES = [
    "licensing_manufacturer",
    "licensing_licence",
    "licensing_licensedproduct",
    "licensing_importbatch",
    "licensing_historicalmanufacturer",
    "licensing_historicallicence",
    "licensing_historicallicensedproduct",
]


def _counts(url: str) -> dict[str, int]:
    with national_register._connect(url) as connection:
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in COUNTED_TABLES
        }


def killed_import(options, url: str, code_root: Path, env: dict, directory: Path) -> list[str]:
    """Kill an import in the middle of its transaction; show that none of it was stored."""
    path = directory / "killed-import.csv"
    subprocess.run(  # noqa: S603 (this interpreter, this script)
        [sys.executable, __file__, "--write-kill-file", str(path), "--database-url", url]
        + ["--kill-rows", str(options.kill_rows)],
        env=env,
        cwd=code_root,
        check=True,
    )
    before = _counts(url)
    application = f"loadtest-killed-import-{os.getpid()}"
    print(f"Importing {options.kill_rows:,} rows, to be killed while it writes …", flush=True)
    started = time.time()
    process = subprocess.Popen(  # noqa: S603 (this interpreter, the tree's manage.py)
        [sys.executable, str(code_root / "manage.py"), "import_licences", str(path)]
        + ["--province", "33", "--json"],
        env={**env, "PGAPPNAME": application},
        cwd=code_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    writing_since = query = None
    watch = national_register._connect(url)
    try:
        while process.poll() is None:
            # In its transaction (a transaction id is assigned) and running a write statement.
            row = watch.execute(
                "SELECT query FROM pg_stat_activity WHERE application_name = %s "
                "AND backend_xid IS NOT NULL AND state = 'active' "
                "AND query ~* '^\\s*(INSERT|COPY|UPDATE|DELETE)'",
                [application],
            ).fetchone()
            if row:
                writing_since = writing_since or time.time()
                query = row[0]
                if time.time() - writing_since >= options.kill_after:
                    break
            time.sleep(0.02)
        if process.poll() is not None:
            return [
                f"MISS: the import ended (exit {process.returncode}) before it could be killed "
                f"while writing: {process.stderr.read().decode(errors='replace')[-300:]}"
            ]
        process.send_signal(signal.SIGKILL)
        killed = time.time()
        process.wait()
        # PostgreSQL rolls the transaction back when it notices its client is gone.
        while watch.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", [application]
        ).fetchone():
            time.sleep(0.05)
        gone = time.time()
    finally:
        watch.close()
    after = _counts(url)
    lines = [
        f"import_licences of {options.kill_rows:,} rows of new 浙江 licences: its transaction "
        f"writing from {writing_since - started:.1f} s; killed (SIGKILL, exit "
        f"{process.returncode}) {killed - writing_since:.1f} s later, the last write seen: "
        f"{(query or '')[:60]}…; its session gone {gone - killed:.2f} s after",
        f"{'table':<44} {'before':>10} {'after':>10}",
    ]
    for table in COUNTED_TABLES:
        lines.append(f"{table:<44} {before[table]:>10,} {after[table]:>10,}")
    verdict = "PASS: nothing of the killed import is stored" if before == after else "MISS"
    return [*lines, verdict + (" (counts equal)" if before == after else ": counts differ")]


def run(options, url: str, code_root: Path) -> str:
    """Gunicorn and locust on the register, the restart, the killed import; the report."""
    bin_dir = Path(sys.executable).parent
    env = {
        **national_register.django_env(url, code_root),
        "BENCH_CODE_ROOT": str(code_root),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # Every visitor of the public list comes from 127.0.0.1: no limit per address.
        "PUBLIC_RATE_LIMIT": "off",
    }
    commit = scale_bench.tree_commit(code_root)
    database = national_register.database_name(url)
    reports = []
    with tempfile.TemporaryDirectory(prefix="loadtest-") as directory:
        directory = Path(directory)
        plan = directory / "plan.json"
        subprocess.run(  # noqa: S603 (this interpreter, this script)
            [sys.executable, __file__, "--write-plan", str(plan), "--database-url", url]
            + ["--wait", ",".join(map(str, options.wait)), "--timeout", str(options.timeout)],
            env=env,
            cwd=code_root,
            check=True,
        )
        server_env = {
            **env,
            "PYTHONPATH": f"{code_root}{os.pathsep}{BENCH}",
            "DJANGO_SETTINGS_MODULE": "loadtest_settings",
            "BENCH_STATIC_ROOT": str(directory / "static"),
            "CACHE_DIR": str(directory / "cache"),
        }
        print("Collecting the static files …", flush=True)
        subprocess.run(  # noqa: S603 (this interpreter, the tree's manage.py)
            [sys.executable, str(code_root / "manage.py"), "collectstatic", "--noinput", "-v", "0"],
            env=server_env,
            cwd=code_root,
            check=True,
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn_log = directory / "gunicorn.log"
        with gunicorn_log.open("wb") as log:
            server = subprocess.Popen(  # noqa: S603 (the venv's gunicorn, fixed arguments)
                [str(bin_dir / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}"]
                + ["--workers", str(options.workers)],
                env=server_env,
                cwd=code_root,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_serving(base, server)
            print(f"gunicorn answers at {base}", flush=True)
            if options.steady:
                figures, _ = _locust(options, base, plan, directory, "steady", options.duration)
                header = _header(f"Steady run for {options.duration}", options, commit, database)
                reports.append(_report(figures, gunicorn_log, header))
                print("\n" + reports[-1] + "\n", flush=True)
            if options.restart:
                # A new import file: the steady run's is in the register now.
                subprocess.run(  # noqa: S603 (this interpreter, this script)
                    [sys.executable, __file__, "--write-plan", str(plan), "--database-url", url]
                    + ["--wait", ",".join(map(str, options.wait))]
                    + ["--timeout", str(options.timeout)],
                    env=env,
                    cwd=code_root,
                    check=True,
                )
                figures, restart = _locust(
                    options,
                    base,
                    plan,
                    directory,
                    "restart",
                    options.fault_duration,
                    during=lambda: _postgres_restart(url, options.restart_at),
                )
                header = _header(
                    f"Restart run for {options.fault_duration}, PostgreSQL restarted "
                    f"{options.restart_at:g} s in",
                    options,
                    commit,
                    database,
                )
                reports.append(
                    "\n".join(
                        [_report(figures, gunicorn_log, header), *_recovery(figures, restart)]
                    )
                )
                print("\n" + reports[-1] + "\n", flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if options.kill:
            reports.append(
                "\n".join(
                    [
                        f"Killed import, {datetime.now():%Y-%m-%d %H:%M}: commit {commit}, {database}",
                        *killed_import(options, url, code_root, env, directory),
                    ]
                )
            )
    return "\n\n".join(reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=national_register.DEFAULT_PRODUCTS)
    parser.add_argument(
        "--database-url",
        help=f"default: BENCH_DATABASE_URL, else {national_register.DEFAULT_URL}",
    )
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started per second")
    parser.add_argument("--duration", default="60s", help="locust's run time (default 60s)")
    parser.add_argument(
        "--wait",
        default="1,3",
        help="seconds a user pauses between requests, least,most (default 1,3)",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--timeout", type=float, default=60, help="a request's client timeout")
    parser.add_argument("--save", metavar="NAME", help="write bench-data/loadtest-NAME.txt")
    parser.add_argument("--code-root", type=Path, default=scale_bench.ROOT)
    parser.add_argument(
        "--no-steady", dest="steady", action="store_false", help="skip the steady run"
    )
    parser.add_argument(
        "--no-restart", dest="restart", action="store_false", help="skip the restart run"
    )
    parser.add_argument(
        "--restart-at", type=float, default=20, help="seconds into the restart run (default 20)"
    )
    parser.add_argument("--fault-duration", default="50s", help="the restart run's time")
    parser.add_argument(
        "--no-kill", dest="kill", action="store_false", help="skip the killed import"
    )
    parser.add_argument("--kill-rows", type=int, default=40_000, help="the killed import's rows")
    parser.add_argument(
        "--kill-after", type=float, default=1, help="seconds of writing before the kill"
    )
    parser.add_argument("--write-plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-kill-file", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    options.wait = [float(value) for value in options.wait.split(",")]
    url = options.database_url or national_register.default_url(options.products)
    if options.write_plan:
        national_register.setup_django(url)
        write_plan(options.write_plan, options.wait, options.timeout)
        return
    if options.write_kill_file:
        national_register.setup_django(url)
        first = _first_number(options.kill_rows)
        write_licence_list(options.write_kill_file, options.kill_rows, KILLED_IMPORT_PREFIX, first)
        return
    code_root = options.code_root.resolve()
    scale_bench.prepare_register(url, options.products, code_root)
    report = run(options, url, code_root)
    print("\n" + report)
    if options.save:
        path = national_register.DATA / f"loadtest-{options.save}.txt"
        path.write_text(report + "\n")
        print(f"Saved as {path.relative_to(scale_bench.ROOT)}.")


if __name__ == "__main__":
    main()
