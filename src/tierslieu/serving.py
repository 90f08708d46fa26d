"""Running the ASGI app under uvicorn with a listening socket we create ourselves.

Why: with ``--workers 2`` or more, uvicorn 0.54 binds ``socket.socket(AF_INET)`` (protocol 0);
asyncio only turns Nagle's algorithm off on accepted sockets whose protocol is
``IPPROTO_TCP``, so every keep-alive answer waited for the client's delayed ACK (~40 ms):
``/livez`` fell from ~1,700 req/s with one worker to ~360 with two (upstream uvicorn
#3149). Here every worker count gets a TCP socket created with ``IPPROTO_TCP`` and
``TCP_NODELAY`` set on the listening socket (Linux copies it to every accepted socket).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

logger = logging.getLogger("uvicorn.error")


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound (not yet listening) TCP socket with TCP_NODELAY, inheritable by workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class NoDelayConfig(uvicorn.Config):
    """uvicorn's configuration, binding through :func:`listening_socket`."""

    def bind_socket(self) -> socket.socket:
        sock = listening_socket(self.host, self.port)
        logger.info(
            "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", *sock.getsockname()[:2]
        )
        return sock


def serve(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """Serve the app factory ``app`` ("module:function") with ``workers`` processes."""
    config = NoDelayConfig(app, factory=True, host=host, port=port, workers=workers, **options)
    sock = config.bind_socket()
    if config.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(3)  # the app failed to start (uvicorn's STARTUP_FAILURE)
