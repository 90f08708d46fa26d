"""The listening socket turns Nagle's algorithm off for every accepted connection, whatever
the number of workers (uvicorn 0.54 left it on with --workers > 1: ~40 ms per keep-alive answer)."""

from __future__ import annotations

import socket

from tierslieu.serving import listening_socket


def test_accepted_connections_have_tcp_nodelay() -> None:
    server = listening_socket("127.0.0.1", 0)
    try:
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            accepted, _ = server.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert accepted.proto == socket.IPPROTO_TCP
    finally:
        server.close()


def test_a_busy_port_is_an_error_not_a_second_server() -> None:
    first = listening_socket("127.0.0.1", 0)
    try:
        first.listen(1)
        port = first.getsockname()[1]
        try:
            second = listening_socket("127.0.0.1", port)
        except OSError:
            return
        second.close()
        raise AssertionError("a second socket bound a port that is already listening")
    finally:
        first.close()
