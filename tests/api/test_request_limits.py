"""The request time limit and log lines a caller cannot forge (security review D14)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import make_settings
from tests.db_lock import database_locked
from tierslieu.app import create_app
from tierslieu.runtime import for_log
from tierslieu.settings import Settings, SettingsError

FORGED = "/static/x%0AWARNING%20-%202026-11-27%20-%20tierslieu%20-%20FORGED%20admin%20login%20ok%00"


def _no_forged_line(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message and "\x00" not in message, message
    assert not any(line.lstrip().startswith("WARNING - 2026") for line in caplog.text.splitlines())


def test_the_reviews_log_forging_path_gives_no_forged_line(client, caplog):
    caplog.set_level(logging.INFO, logger="tierslieu")
    response = client.get(FORGED)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")
    _no_forged_line(caplog)


def test_for_log_escapes_controls_and_keeps_ordinary_text():
    assert for_log("/structures/théâtre") == "/structures/théâtre"
    assert for_log("/x\nWARNING forged\r\x00") == "/x\\nWARNING forged\\r\\x00"
    assert for_log("a\u202eb") == "a\\u202eb"
    assert for_log("y" * 1000).endswith("…") and len(for_log("y" * 1000)) == 301


@pytest.fixture
def slow_client(settings: Settings) -> Any:
    """The app with a 0.5 s request limit."""
    limited = make_settings(settings.database_url, request_timeout_seconds=0.5)
    with TestClient(app=create_app(limited), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_request_waiting_on_a_held_database_lock_is_cut_with_503(slow_client, settings, caplog):
    """The test holds the database's lock; a request that needs it waits, then is cut at the
    limit with a 503 problem, and its log line escapes the caller's path (D14)."""
    caplog.set_level(logging.INFO, logger="tierslieu")
    path = "/api/structures/x%0AWARNING%20-%20FORGED/members"
    with database_locked(settings):
        began = time.monotonic()
        response = slow_client.put(
            path,
            json={"email": "a@exemple.test", "role": "staff"},
            headers={"Authorization": "Bearer " + "t" * 43, "Accept-Language": "en"},
        )
        elapsed = time.monotonic() - began
        assert slow_client.get("/livez").status_code == 200  # the process still answers
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "request-timeout"
    assert response.json()["title"] == "Request took too long"
    assert 0.4 < elapsed < 5
    cut = [r.getMessage() for r in caplog.records if "request cut" in r.getMessage()]
    assert cut and "x\\nWARNING - FORGED" in cut[0]
    _no_forged_line(caplog)
    # Once the lock is gone the same process serves requests needing the database again.
    assert slow_client.get("/health").json()["status"] == "ok"
    assert slow_client.get("/api/structures").status_code == 200


def test_the_limit_is_read_from_the_environment():
    assert (
        Settings.from_env({"TIERSLIEU_REQUEST_TIMEOUT_SECONDS": "2.5"}).request_timeout_seconds
        == 2.5
    )
    assert Settings.from_env({}).request_timeout_seconds == 30


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_limit_is_refused_at_start(value):
    with pytest.raises(SettingsError):
        Settings.from_env({"TIERSLIEU_REQUEST_TIMEOUT_SECONDS": value})
