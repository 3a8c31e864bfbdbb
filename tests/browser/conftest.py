"""Real-browser fixtures: Debian's chromium driven by Playwright against pytest-django's live server.

The browser is never downloaded (no ``playwright install``): Playwright drives the system
``/usr/bin/chromium`` with the flags this network-less machine needs. Without chromium the
browser tests are skipped with a message, except where ``REQUIRE_BROWSER`` is set (CI sets it),
where a missing chromium is a failure.
"""

import contextlib
import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MISSING_CHROMIUM = (
    "chromium is not installed: apt-get install chromium; the browser tests run in CI"
)
# Generous for a loaded CI machine; Playwright's auto-waiting returns as soon as it can.
TIMEOUT_MS = 20_000


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes", "on"}


@pytest.fixture(scope="session")
def chromium_executable():
    """The system chromium: skip without it, or fail when REQUIRE_BROWSER is set."""
    if not CHROMIUM.exists():
        if browser_required():
            pytest.fail(f"{MISSING_CHROMIUM} (REQUIRE_BROWSER is set, so this is a failure)")
        pytest.skip(MISSING_CHROMIUM)
    return str(CHROMIUM)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


class Screenshots:
    """Numbered screenshots of each step, under test-artifacts/<test name>/."""

    def __init__(self, page, test_name: str):
        self.page = page
        self.folder = ARTIFACTS / safe_name(test_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
    window.__reportCspViolation(
        `${event.violatedDirective} refused ${event.blockedURI || "inline"} ` +
        `at ${event.sourceFile || event.documentURI}:${event.lineNumber} (${event.sample})`
    );
}, true);
"""


def csp_violations_of(node) -> list[str]:
    if not hasattr(node, "csp_violations"):
        node.csp_violations = []
    return node.csp_violations


@pytest.fixture
def csp_violations(request):
    """The Content-Security-Policy violations the test's pages reported so far."""
    return csp_violations_of(request.node)


@pytest.fixture
def page(chromium_executable, live_server, monkeypatch, request):
    """A fresh chromium page whose relative URLs go to the live server."""
    # Playwright's sync API runs an event loop in this thread, so Django would refuse the
    # ORM calls the test makes meanwhile; there is no concurrent use here, so allow them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        violations = csp_violations_of(request.node)
        # Every Content-Security-Policy violation of every page the test opens, reported to
        # Python as it happens (the page's own record would be gone at the next navigation).
        context.expose_function("__reportCspViolation", lambda text: violations.append(text))
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        try:
            yield page
            # Any script, style or handler the policy refused fails the test: the page would
            # not work as written for a user either.
            page.wait_for_timeout(0)
            assert violations == [], f"Content-Security-Policy violations: {violations}"
        finally:
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                # A crashed page must not hide the test's own failure.
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=str(ARTIFACTS / f"FAILED-{safe_name(request.node.name)}.png")
                    )
            context.close()
            browser.close()
            # Between its calls Playwright marks its event loop as running, so asgiref keeps
            # the database connections the test opened meanwhile apart from the thread's
            # usual ones, where Django's teardown would not close them. Close them here, or
            # PostgreSQL refuses to drop the test database at the end of the run.
            connections.close_all()


@pytest.fixture
def screenshot(page, request):
    """Call ``screenshot("what-the-page-shows")`` after each step."""
    return Screenshots(page, request.node.name)
