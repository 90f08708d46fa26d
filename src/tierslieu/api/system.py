"""Liveness and health probes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.db import ping, read_only
from tierslieu.services.delivery import backlog


@get(
    "/livez",
    summary="Liveness: the process answers (no database access)",
    tags=["système"],
    sync_to_thread=False,
    cache_control=None,
)
def livez() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/health",
    summary="Health: the database (503 if it fails), the event-loop lag, the e-mail backlog",
    tags=["système"],
)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """``loop_lag_ms``: the worst delay of a 100 ms timer over the last minute.
    ``outbox``: e-mails due and not delivered (``due``), how long the oldest pending one
    has waited (``oldest_pending_seconds``), and the ones given up (``failed``)."""
    lag = request.app.state.loop_lag.max_ms()
    try:
        await ping(request.app.state.engine)
        async with AsyncSession(read_only(request.app.state.engine)) as session:
            outbox = await backlog(session)
    except Exception:  # any driver failure means "not healthy"
        return Response(
            {"status": "unavailable", "loop_lag_ms": lag},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response({"status": "ok", "loop_lag_ms": lag, "outbox": outbox})
