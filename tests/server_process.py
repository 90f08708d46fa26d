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

import httpx

from tierslieu.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    settings: Settings, workers: int = 1, log_path: Path | None = None
) -> Iterator[str]:
    """Start ``uvicorn --factory tierslieu.app:create_app`` on a free port; yield its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "TIERSLIEU_DATABASE_URL": settings.database_url,
        "TIERSLIEU_SECRET_KEY": settings.secret_key,
        "TIERSLIEU_PASSWORD_HASH_PROFILE": settings.password_hash_profile,
        # Storm tests send many failed requests from one address: do not throttle them.
        "TIERSLIEU_LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
    }
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [
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
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                if httpx.get(f"{base_url}/livez", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 30 s")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path:
            log.close()
