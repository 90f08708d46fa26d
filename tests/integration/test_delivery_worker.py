"""The `tierslieu worker` process killed with SIGKILL while it delivers: after a restart
nothing is lost, and a message is received at most twice, with the same Message-ID."""

from __future__ import annotations

import collections
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import run_db
from tests.integration.test_delivery import KIND, _enqueue, _test_mail
from tierslieu.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]


def run() -> None:
    """The real `tierslieu worker`, with the test renderer of test_delivery registered
    (the production renderers are not this test's subject)."""
    from tierslieu import cli
    from tierslieu.services import mail

    mail._load()
    mail.renderer(KIND)(_test_mail)
    sys.exit(cli.main(["worker"]))


def _start_worker(settings: Any, log: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TIERSLIEU_DATABASE_URL": settings.database_url,
        "TIERSLIEU_SECRET_KEY": settings.secret_key,
        "TIERSLIEU_SMTP_URL": settings.smtp_url,
        "TIERSLIEU_OUTBOX_LEASE_SECONDS": "5",
        "TIERSLIEU_DELIVERY_EVERY_SECONDS": "0.2",
    }
    code = "from tests.integration.test_delivery_worker import run; run()"
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _statuses(settings: Any) -> dict[str, str]:
    async def work(session: Any) -> dict[str, str]:
        rows = await session.execute(select(OutboxMessage.message_id, OutboxMessage.status))
        return dict(rows.tuples().all())

    return run_db(settings, work)


def test_worker_killed_while_sending_loses_nothing(settings, mailbox, tmp_path):
    settings = dataclasses.replace(settings, smtp_url=mailbox.url)
    _enqueue(settings, 30)
    accepted = 0

    def hold_after_five(message: Any) -> None:
        nonlocal accepted
        accepted += 1
        if accepted == 6:
            mailbox.hold.set()  # the 6th is received, its "250" never reaches the worker
        return None

    mailbox.answer = hold_after_five
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115
    worker = _start_worker(settings, log)
    try:
        assert mailbox.holding.wait(30), (tmp_path / "worker.log").read_text()
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL
        mailbox.hold.clear()
        mailbox.answer = None
        assert list(_statuses(settings).values()).count("sent") < 30

        worker = _start_worker(settings, log)
        deadline = time.monotonic() + 60
        while set(_statuses(settings).values()) != {"sent"}:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)  # a clean stop
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()

    expected = set(_statuses(settings))
    received = collections.Counter(mailbox.message_ids())
    assert set(received) == expected  # nothing lost, nothing foreign
    assert max(received.values()) <= 2  # at most one duplicate, with the same Message-ID
    assert sum(received.values()) <= 30 + 6
