"""Liveness and health probes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from tierslieu.db import ping


@get(
    "/livez",
    summary="Liveness: the process answers (no database access)",
    tags=["système"],
    sync_to_thread=False,
    cache_control=None,
)
def livez() -> dict[str, str]:
    return {"status": "ok"}


@get("/health", summary="Health: one database round trip (503 if it fails)", tags=["système"])
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    try:
        await ping(request.app.state.engine)
    except Exception:  # any driver failure means "not healthy"
        return Response({"status": "unavailable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ok"})
