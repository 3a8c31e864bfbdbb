"""A database connection that died between requests is replaced, not used (PostgreSQL).

Connections are kept between requests (CONN_MAX_AGE) and checked before their first use in each
request (CONN_HEALTH_CHECKS): after PostgreSQL restarts, or an administrator ends a backend,
the next request of each worker opens a new connection instead of answering 500.
"""

from io import BytesIO

import psycopg
import pytest
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.urls import reverse

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="ends a PostgreSQL backend (CI runs it there)"
    ),
    # The request must see the connection as a server process would: no test transaction. The
    # flush after the test empties every table: restore the data migrations' rows first.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def serve(path: str) -> tuple[str, bytes]:
    """One request through the WSGI handler, with the request_started signal a server sends.

    (Django's test client leaves out the old-connection check this is about.)
    """
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": BytesIO(),
        "wsgi.errors": BytesIO(),
        "wsgi.url_scheme": "http",
    }
    statuses = []
    body = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body


def terminate_backend(pid: int) -> None:
    """End a backend from a second connection, as a restart of PostgreSQL would."""
    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        password=params.get("password"),
        dbname=params["dbname"],
        autocommit=True,
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True


def test_the_next_request_after_the_backend_was_ended_succeeds(settings, world):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    url = reverse("public:licence_list")

    status, _body = serve(url)
    assert status.startswith("200")
    pid = connection.connection.info.backend_pid  # kept for the next request
    terminate_backend(pid)
    caches["default"].clear()  # the page is not served from the cache: it queries the database

    status, body = serve(url)
    assert status.startswith("200"), body[:2000]
    assert world["37"]["licence"].number.encode() in body
    assert connection.connection.info.backend_pid != pid  # a new connection
