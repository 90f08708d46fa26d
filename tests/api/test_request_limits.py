"""The request time limit and log lines a caller cannot forge (security review D14)."""

from __future__ import annotations

import logging

import pytest

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
