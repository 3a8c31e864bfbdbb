"""Concurrent decisions on the embedded default: SQLite waits or answers 409, never a 500.

These tests need the test database to be a file in WAL mode, as the embedded default is
(config/settings.py). An in-memory database locks differently and would prove nothing.
PostgreSQL has its own two-connection tests in tests/verification/test_workflow.py.
"""

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.roles import REVIEWER
from tests.conftest import make_user
from verification.factories import attach_scan, complete_answers, make_administrator
from verification.models import Campaign, ProvincialReturn, ReturnStatus
from verification.services import (
    ConcurrentChange,
    return_accept,
    return_save_draft,
    return_send_back,
    return_start,
    return_submit,
)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite's own locking; PostgreSQL's is tested in tests/verification/test_workflow.py",
    ),
    # Threads need committed data and connections of their own; the data migrations' rows
    # (provinces, roles, the 2016 campaign) are restored for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DECISIONS = {
    "accept": ("verification:review_accept", {}),
    "send_back": ("verification:review_send_back", {"comment": "请修改。"}),
}


@pytest.fixture
def submitted(shandong, shandong_admin):
    """山东's return, submitted and waiting for a decision."""
    make_administrator(shandong, by=shandong_admin)
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    provincial_return = return_start(campaign=campaign, by=shandong_admin)
    return_save_draft(
        provincial_return=provincial_return, by=shandong_admin, data=complete_answers(shandong)
    )
    attach_scan(provincial_return, by=shandong_admin)
    return_submit(provincial_return=provincial_return, by=shandong_admin, attest=True)
    return provincial_return


@pytest.fixture
def second_reviewer(db):
    return make_user("reviewer2", role=REVIEWER)


def _signed_in(user) -> Client:
    # A 500 is a response to inspect here, not an exception to re-raise in the thread.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _post_decision(client, provincial_return, decision, version):
    name, data = DECISIONS[decision]
    url = reverse(name, args=[provincial_return.pk])
    return client.post(url, {"expected_version": version, **data})


def _in_thread(target):
    """Run `target` in a thread with its own database connection; return (thread, outcome)."""
    outcome = {}

    def run():
        started = time.monotonic()
        try:
            outcome["result"] = target()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            outcome["error"] = error
        finally:
            outcome["seconds"] = time.monotonic() - started
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _hold_a_decision(provincial_return, reviewer, version):
    """Accept in a transaction that stays open until released: a decision in progress."""
    decided, release = threading.Event(), threading.Event()

    def accept_and_hold():
        with transaction.atomic():
            loaded = ProvincialReturn.objects.get(pk=provincial_return.pk)
            return_accept(provincial_return=loaded, by=reviewer, expected_version=version)
            decided.set()
            release.wait(timeout=10)

    thread, outcome = _in_thread(accept_and_hold)
    assert decided.wait(timeout=10), outcome
    return thread, outcome, release


def _assert_one_decision(provincial_return, version, status):
    provincial_return.refresh_from_db()
    assert provincial_return.status == status
    assert provincial_return.version == version + 1
    assert provincial_return.events.filter(action__in=["accepted", "returned"]).count() == 1


def test_the_test_database_is_a_file_in_wal_mode_like_the_embedded_default():
    assert not connection.is_in_memory_db()
    assert connection.transaction_mode == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == connection.settings_dict["OPTIONS"]["timeout"] * 1000


def test_two_reviewers_deciding_at_the_same_moment_get_a_decision_and_a_409(
    submitted, reviewer, second_reviewer
):
    version = submitted.version
    clients = {"accept": _signed_in(reviewer), "send_back": _signed_in(second_reviewer)}
    start = threading.Barrier(2, timeout=10)

    def decide(decision):
        def run():
            start.wait()
            return _post_decision(clients[decision], submitted, decision, version)

        return run

    threads = {decision: _in_thread(decide(decision)) for decision in DECISIONS}
    for thread, _outcome in threads.values():
        thread.join(timeout=30)
    statuses = {
        decision: outcome["result"].status_code for decision, (_t, outcome) in threads.items()
    }

    assert sorted(statuses.values()) == [302, 409], statuses
    winner = next(decision for decision, status in statuses.items() if status == 302)
    expected = ReturnStatus.ACCEPTED if winner == "accept" else ReturnStatus.RETURNED
    _assert_one_decision(submitted, version, expected)


def _send_back(through, client, submitted, reviewer, version):
    """The second reviewer's decision, through the view or straight through the service."""
    if through == "view":
        return _post_decision(client, submitted, "send_back", version)
    loaded = ProvincialReturn.objects.get(pk=submitted.pk)
    return return_send_back(
        provincial_return=loaded, by=reviewer, comment="请修改。", expected_version=version
    )


@pytest.mark.parametrize("through", ["view", "service"])
def test_a_decision_waits_for_the_one_in_progress_and_then_gets_a_409(
    submitted, reviewer, second_reviewer, through
):
    version = submitted.version
    client = _signed_in(second_reviewer)

    def send_back():
        return _send_back(through, client, submitted, second_reviewer, version)

    holder, held, release = _hold_a_decision(submitted, reviewer, version)
    sender, outcome = _in_thread(send_back)
    # The second decision waits for the write lock instead of failing at once.
    sender.join(timeout=0.5)
    assert sender.is_alive(), outcome
    release.set()
    holder.join(timeout=10)
    sender.join(timeout=30)

    assert "error" not in held, held
    if through == "view":
        assert outcome["result"].status_code == 409, outcome
    else:
        assert isinstance(outcome.get("error"), ConcurrentChange), outcome
    _assert_one_decision(submitted, version, ReturnStatus.ACCEPTED)


@pytest.mark.parametrize("through", ["view", "service"])
def test_with_django_default_transactions_the_second_decision_fails_as_database_locked(
    submitted, reviewer, second_reviewer, through, monkeypatch
):
    """What IMMEDIATE prevents: a transaction that began as a reader cannot become a writer.

    Not a race: the second decision reads while the first holds the write lock, so SQLite
    refuses its write at once, without waiting for the busy timeout.
    """
    # Connections opened from here on (the threads') start transactions with a plain BEGIN.
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "transaction_mode")
    version = submitted.version
    client = _signed_in(second_reviewer)

    def send_back():
        return _send_back(through, client, submitted, second_reviewer, version)

    holder, held, release = _hold_a_decision(submitted, reviewer, version)
    sender, outcome = _in_thread(send_back)
    sender.join(timeout=30)
    release.set()
    holder.join(timeout=10)

    assert "error" not in held, held
    if through == "view":
        assert outcome["result"].status_code == 500, outcome
        error = outcome["result"].exc_info[1]
    else:
        error = outcome.get("error")
    assert isinstance(error, OperationalError), outcome
    assert "database is locked" in str(error)
    assert outcome["seconds"] < connection.settings_dict["OPTIONS"]["timeout"], outcome
    _assert_one_decision(submitted, version, ReturnStatus.ACCEPTED)
