"""The load test's users, for locust (issue 9); `make loadtest` runs it (bench/loadtest_run.py).

Half of the users are reviewers, half 浙江 data-entry clerks, each with an account of its own.
Each signs in through the admin's login form as a browser does (the form, then a POST with its
CSRF token), then, after a pause of LOADTEST_PLAN's "wait" seconds between requests, requests
the screens of its role in the plan's weights (bench/loadtest_run.py: the screens of
bench/scale_bench.py, no exports). A response that lands on the login page counts as a failure.
"""

import itertools
import json
import os
import random
import re
from collections import Counter
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.stats import calculate_response_time_percentile

PLAN = json.loads(Path(os.environ["LOADTEST_PLAN"]).read_text())
LOGIN = "/admin/login/?next=/admin/"
USERNAMES = {persona: itertools.cycle(names) for persona, names in PLAN["usernames"].items()}


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
        page = self.client.get(LOGIN, name="login form", timeout=PLAN["timeout"])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        self.send_secure_cookies()
        with self.client.post(
            LOGIN,
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "username": next(USERNAMES[self.persona]),
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


class ZhejiangClerk(SignedIn):
    persona = "zhejiang"
