"""The load test's users, for locust (issues 9 and 11); `make loadtest` runs it (bench/loadtest_run.py).

Anonymous visitors search the public list; signed-in reviewers and 浙江 data-entry clerks, each
with an account of its own, sign in through the admin's login form as a browser does (the form,
then a POST with its CSRF token); one more 浙江 clerk first imports a small licence list through
the admin's import form (upload and preview, then confirm). Then each, after a pause of
LOADTEST_PLAN's "wait" seconds between requests, requests the screens of its role in the plan's
weights (bench/loadtest_run.py: the screens of bench/scale_bench.py, the board and statistics,
the public list; no exports). A response that lands on the login page counts as a failure.
Every request's end time, duration and outcome go into LOADTEST_FIGURES' "timeline" too, for
the recovery time of the run in which PostgreSQL is restarted.
"""

import itertools
import json
import os
import random
import re
import time
from collections import Counter
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.stats import calculate_response_time_percentile

PLAN = json.loads(Path(os.environ["LOADTEST_PLAN"]).read_text())
LOGIN = "/admin/login/?next=/admin/"
USERNAMES = {persona: itertools.cycle(names) for persona, names in PLAN["usernames"].items()}
# (end time, duration ms, success, name) of every request, in the order they ended.
TIMELINE = []


@events.request.add_listener
def record(name, response_time, exception, **_kwargs):
    TIMELINE.append((time.time(), round(response_time or 0), exception is None, name))


@events.test_stop.add_listener
def save_figures(environment, **_kwargs):
    """The final figures, for bench/loadtest_run.py (locust's CSV files lag up to a second)."""
    stats = environment.stats

    def figures(entry):
        return {
            "name": entry.name,
            "method": entry.method,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.total_rps,
            **{f"p{p}": entry.get_response_time_percentile(p / 100) for p in (50, 95, 99)},
            "max": entry.max_response_time,
        }

    # The screens without the logins (each user's first two requests; the password hasher makes
    # the POST slow by design).
    screens = [e for e in stats.entries.values() if not e.name.startswith("login")]
    times = Counter()
    for entry in screens:
        times.update(entry.response_times)
    count = sum(entry.num_requests for entry in screens)
    elapsed = max(stats.total.last_request_timestamp - stats.total.start_time, 1e-9)
    screen_figures = {
        "name": "screens",
        "requests": count,
        "failures": sum(entry.num_failures for entry in screens),
        "rps": count / elapsed,
        **{
            f"p{p}": calculate_response_time_percentile(times, count, p / 100) for p in (50, 95, 99)
        },
        "max": max((entry.max_response_time for entry in screens), default=0),
    }
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in stats.errors.values()
    ]
    entries = sorted(stats.entries.values(), key=lambda entry: entry.name)
    Path(os.environ["LOADTEST_FIGURES"]).write_text(
        json.dumps(
            {
                "entries": [figures(e) for e in entries],
                "screens": screen_figures,
                "total": figures(stats.total),
                "errors": errors,
                "timeline": TIMELINE,
            },
            ensure_ascii=False,
        )
    )


class SignedIn(HttpUser):
    abstract = True
    persona = ""
    wait_time = between(*PLAN["wait"])

    def send_secure_cookies(self):
        """Send the Secure cookies over http, as browsers do to a loopback address.

        Without DEBUG the session and CSRF cookies are Secure (config/settings.py), and the test
        talks to gunicorn on 127.0.0.1 without TLS; requests would keep them to itself (a cookie
        policy would not help: each request copies the jar into one with the default policy).
        """
        for cookie in self.client.cookies:
            cookie.secure = False

    def on_start(self):
        self.screens = PLAN["screens"][self.persona]
        self.weights = [weight for _name, _url, weight in self.screens]
        self.sign_in(next(USERNAMES[self.persona]))

    def sign_in(self, username):
        page = self.client.get(LOGIN, name="login form", timeout=PLAN["timeout"])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        self.send_secure_cookies()
        with self.client.post(
            LOGIN,
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "username": username,
                "password": PLAN["password"],
                "next": "/admin/",
            },
            name="login",
            allow_redirects=False,
            timeout=PLAN["timeout"],
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "/login/" in response.headers.get("Location", ""):
                response.failure(f"not signed in (HTTP {response.status_code})")

    @task
    def screen(self):
        name, url, _weight = random.choices(self.screens, self.weights)[0]
        self.send_secure_cookies()  # the session's, new since the login
        with self.client.get(
            url, name=name, timeout=PLAN["timeout"], catch_response=True
        ) as response:
            if "/admin/login/" in response.url:
                response.failure("signed out: redirected to the login page")


class Reviewer(SignedIn):
    persona = "reviewer"
    weight = PLAN["user_weights"]["reviewer"]


class ZhejiangClerk(SignedIn):
    persona = "zhejiang"
    weight = PLAN["user_weights"]["zhejiang"]


class ZhejiangImporter(SignedIn):
    """One 浙江 clerk who imports the plan's small licence list, then works as the others."""

    persona = "zhejiang"
    fixed_count = 1

    def on_start(self):
        self.screens = PLAN["screens"][self.persona]
        self.weights = [weight for _name, _url, weight in self.screens]
        self.sign_in(PLAN["importer"])
        self.send_secure_cookies()
        upload_url = PLAN["import"]["upload_url"]
        form = self.client.get(upload_url, name="import: form", timeout=PLAN["timeout"])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        path = Path(PLAN["import"]["file"])
        self.send_secure_cookies()
        with self.client.post(
            upload_url,
            data={"csrfmiddlewaretoken": token.group(1) if token else ""},
            files={"file": (path.name, path.read_bytes(), "text/csv")},
            headers={"Referer": self.host + upload_url},
            name="import: upload and preview",
            timeout=PLAN["timeout"],
            catch_response=True,
        ) as preview:
            confirm = re.search(r'name="token" value="([^"]+)"', preview.text)
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', preview.text)
            if not (confirm and csrf):
                preview.failure(f"no confirmable preview (HTTP {preview.status_code})")
                return
        self.send_secure_cookies()
        with self.client.post(
            PLAN["import"]["confirm_url"],
            data={"csrfmiddlewaretoken": csrf.group(1), "token": confirm.group(1)},
            headers={"Referer": self.host + upload_url},
            name="import: confirm",
            allow_redirects=False,
            timeout=PLAN["timeout"],
            catch_response=True,
        ) as written:
            if written.status_code != 302 or not written.headers.get("Location", "").endswith(
                PLAN["import"]["done_url"]
            ):
                written.failure(f"not imported (HTTP {written.status_code})")


class Visitor(HttpUser):
    """An anonymous visitor of the public list (公布获证名单): searches and licence pages."""

    weight = PLAN["user_weights"]["anonymous"]
    wait_time = between(*PLAN["wait"])

    def on_start(self):
        self.screens = PLAN["screens"]["anonymous"]
        self.weights = [weight for _name, _url, weight in self.screens]

    @task
    def screen(self):
        name, url, _weight = random.choices(self.screens, self.weights)[0]
        self.client.get(url, name=name, timeout=PLAN["timeout"])
