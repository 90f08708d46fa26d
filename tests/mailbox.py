"""A real SMTP server for the tests: ``mailbox`` (aiosmtpd on 127.0.0.1, a free port) and
``deliver_now(settings)``, one delivery pass against the test database.

Registered for every test through ``pytest_plugins`` in tests/conftest.py::

    def test_something(settings, mailbox):
        settings = dataclasses.replace(settings, smtp_url=mailbox.url)
        ...  # something that enqueues mail
        deliver_now(settings)
        [message] = mailbox.messages  # email.message.EmailMessage (policy default)
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.server_process import free_port

# What the server answers to a DATA command: None accepts ("250 OK"); "451 …" / "550 …" refuse.
Answer = Callable[[EmailMessage], str | None]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.box.parse:  # benchmarks: only the headers (the parsing would be measured)
            message = email.message_from_bytes(
                envelope.content.split(b"\r\n\r\n", 1)[0], policy=email.policy.default
            )
        else:
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        answer = self.box.answer(message) if self.box.answer else None
        if answer:
            self.box.refused.append(message)
            return answer
        with self.box.lock:
            self.box.messages.append(message)
            self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        # A test may hold the "250" of a message it already has: the sender cannot know it
        # was delivered (a worker killed between sending and marking).
        while self.box.hold.is_set():
            self.box.holding.set()
            await asyncio.sleep(0.02)
        return "250 OK"


class Mailbox:
    """An SMTP server on loopback that keeps what it accepts in ``messages``."""

    def __init__(self, *, parse: bool = True) -> None:
        self.parse = parse
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: list[EmailMessage] = []
        self.answer: Answer | None = None
        self.hold = threading.Event()  # set: every accepted DATA waits before its "250"
        self.holding = threading.Event()  # set once an answer is being held
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        """Stop listening (an outage): connections are refused until ``start()``."""
        if self._controller is not None:
            self.hold.clear()
            self._controller.stop()
            self._controller = None

    def wait_for(self, n: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until ``n`` messages arrived; returns them (fails the test on timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} message(s) arrived, expected {n}")
            time.sleep(0.02)
        return list(self.messages)

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


def deliver_now(settings: Any, **options: Any) -> int:
    """One delivery pass (``services.delivery.deliver_due``) on the test database; returns
    how many messages it handled."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tierslieu import db
    from tierslieu.services.delivery import deliver_due

    async def _main() -> int:
        engine = db.create_engine(settings)
        try:
            factory = async_sessionmaker(engine, expire_on_commit=False)
            return await deliver_due(factory, settings, **options)
        finally:
            await engine.dispose()

    return asyncio.run(_main())
