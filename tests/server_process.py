"""A real tierslieu server process on loopback, for tests that need real concurrent connections."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tierslieu.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A started server: its base URL and process (so a test may kill it)."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log: Any) -> None:
        self.process = process
        self.base_url = base_url
        self._log = log

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()


def start_server(
    settings: Settings,
    workers: int = 1,
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
    *,
    via_cli: bool = False,
) -> ServerProcess:
    """Start ``uvicorn --factory tierslieu.app:create_app`` (or, ``via_cli``, the production
    command ``tierslieu serve``) on a free port and wait for /livez.

    ``env`` adds or overrides environment variables of the server (e.g. a setting)."""
    port = free_port()
    extra_env = env or {}
    env = {
        **os.environ,
        "TIERSLIEU_DATABASE_URL": settings.database_url,
        "TIERSLIEU_SECRET_KEY": settings.secret_key,
        "TIERSLIEU_PASSWORD_HASH_PROFILE": settings.password_hash_profile,
        # Storm tests send many failed requests from one address: do not throttle them.
        "TIERSLIEU_LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
        "TIERSLIEU_REGISTER_MAX_PER_CLIENT": str(settings.register_max_per_client),
        "TIERSLIEU_TRUSTED_PROXIES": ",".join(settings.trusted_proxies),
        "TIERSLIEU_DELIVERY_IN_PROCESS": "1" if settings.delivery_in_process else "0",
        "TIERSLIEU_SMTP_URL": settings.smtp_url,
        **extra_env,
    }
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    serve = [sys.executable, "-m", "tierslieu.cli", "serve", "--host", "127.0.0.1"]
    serve += ["--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(
        serve
        if via_cli
        else [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tierslieu.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            # As `tierslieu serve`: X-Forwarded-* only from TIERSLIEU_TRUSTED_PROXIES.
            *(
                ["--forwarded-allow-ips", ",".join(settings.trusted_proxies)]
                if settings.trusted_proxies
                else ["--no-proxy-headers"]
            ),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{server.base_url}/livez", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("server did not start within 30 s")
        time.sleep(0.02)  # the start itself (imports, create_app) takes seconds: poll often


@contextmanager
def running_server(
    settings: Settings,
    workers: int = 1,
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """A server for the duration of the block; yields its base URL."""
    server = start_server(settings, workers=workers, log_path=log_path, env=env)
    try:
        yield server.base_url
    finally:
        server.stop()
