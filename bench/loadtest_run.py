"""Load test of the admin screens on the national register (issue 9): `make loadtest`.

Builds (or reuses) the register of bench/national_register.py, gives it LOGINS_PER_ROLE
reviewers and as many 浙江 data-entry clerks with a known password, collects the static files
into a directory of the run's own, starts gunicorn as the README's production section does
(config.wsgi, 3 sync workers, DEBUG off; plain http on 127.0.0.1, so SECURE_SSL_REDIRECT is off
and the users send the Secure cookies as browsers do to a loopback address), waits until it
answers, then runs locust headless (bench/loadtest.py): `--users` signed-in users, half of each
role, started `--spawn-rate` a second, for `--duration`, each pausing `--wait` seconds between
requests, over a weighted mix of bench/scale_bench.py's screens (WEIGHTS; no exports). Requests
still under way at the end are waited for, up to the client's `--timeout` (then failures). Prints
requests/s, p50, p95, p99 and failures per screen and in all, then stops gunicorn. The exit
status is 0 whatever the figures.

    python bench/loadtest_run.py [--products 1000000] [--database-url URL] [--users 20]
                                 [--spawn-rate 5] [--duration 60s] [--wait 1,3] [--workers 3]
                                 [--save NAME] [--code-root DIR]

`--save NAME` writes the report to bench-data/loadtest-NAME.txt; `--code-root DIR` serves
another tree's code (its database prepared as for scale_bench.py's --code-root).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import scale_bench  # puts the tree being measured first on the path (--code-root)

BENCH = scale_bench.BENCH

national_register = scale_bench.national_register

LOGINS_PER_ROLE = 10
PASSWORD = "bench-load-test-only"  # noqa: S105 (a benchmark database's accounts)
P95_TARGET_MS = 1000
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
}
PERSONAS = {"reviewer": "reviewer", "zhejiang": "浙江"}


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
    return usernames


def write_plan(path: Path, wait: list[float], timeout: float) -> None:
    """What the users need (accounts, screens and weights), from the register; in a Django process."""
    usernames = ensure_logins(PASSWORD)
    screens = {persona: [] for persona in PERSONAS}
    for screen, persona, url in scale_bench.screen_urls(scale_bench.page_context()):
        name = f"{PERSONAS[persona]} {screen.label}"
        screens[persona].append([name, url, WEIGHTS[screen.key]])
    plan = {
        "usernames": usernames,
        "password": PASSWORD,
        "screens": screens,
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


def _report(figures_path: Path, gunicorn_log: Path, options, commit: str, database: str) -> str:
    """The table of locust's figures per request and in all, and what failed."""
    figures = json.loads(figures_path.read_text()) if figures_path.exists() else None
    line = "{} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}"
    lines = [
        f"Load test, {datetime.now():%Y-%m-%d %H:%M}: commit {commit}, {database}; gunicorn "
        f"config.wsgi, {options.workers} sync workers; locust {options.users} users (half "
        f"reviewers, half 浙江 clerks) started {options.spawn_rate:g}/s, {options.duration}, "
        f"{options.wait[0]:g}–{options.wait[1]:g} s between a user's requests; {os.cpu_count()} "
        f"CPUs shared with the server and locust, load average {options.load_before} before",
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


def run(options, url: str, code_root: Path) -> str:
    """Gunicorn and locust on the register; returns the report."""
    bin_dir = Path(sys.executable).parent
    env = {
        **national_register.django_env(url, code_root),
        "BENCH_CODE_ROOT": str(code_root),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
    }
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
            print(f"gunicorn answers at {base}; locust for {options.duration} …", flush=True)
            options.load_before = " ".join(f"{load:.1f}" for load in os.getloadavg())
            figures = directory / "figures.json"
            subprocess.run(  # noqa: S603 (the venv's locust, fixed arguments)
                [str(bin_dir / "locust"), "-f", str(BENCH / "loadtest.py"), "--headless"]
                + ["-u", str(options.users), "-r", str(options.spawn_rate)]
                + ["-t", options.duration, "--host", base, "--only-summary"]
                # Requests under way at the end are waited for (or time out), not dropped.
                + ["--stop-timeout", f"{options.timeout:.0f}s"]
                + ["--loglevel", "WARNING"],
                env={**os.environ, "LOADTEST_PLAN": str(plan), "LOADTEST_FIGURES": str(figures)},
                cwd=directory,
                check=False,  # locust exits 1 when a request failed: a result, not an error
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        return _report(
            figures,
            gunicorn_log,
            options,
            scale_bench.tree_commit(code_root),
            national_register.database_name(url),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=national_register.DEFAULT_PRODUCTS)
    parser.add_argument(
        "--database-url",
        help=f"default: BENCH_DATABASE_URL, else {national_register.DEFAULT_URL}",
    )
    parser.add_argument("--users", type=int, default=20, help="signed-in users (default 20)")
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
    parser.add_argument("--write-plan", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    options.wait = [float(value) for value in options.wait.split(",")]
    url = options.database_url or national_register.default_url(options.products)
    if options.write_plan:
        national_register.setup_django(url)
        write_plan(options.write_plan, options.wait, options.timeout)
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
