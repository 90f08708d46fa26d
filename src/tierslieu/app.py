"""create_app(settings): the only place that wires the service together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi.config import OpenAPIConfig
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import __version__
from tierslieu.api.assets import AssetController, StructureAssetController
from tierslieu.api.auth import AuthController, MeController
from tierslieu.api.bookings import (
    AvailabilityController,
    BookingController,
    StructureBookingController,
)
from tierslieu.api.canteen import (
    CanteenAssetController,
    CanteenStructureController,
    MealOrderController,
    MealServiceController,
)
from tierslieu.api.contacts import ContactController, ContactLinkController
from tierslieu.api.deps import DEPENDENCIES
from tierslieu.api.feeds import FeedController, ItemCalendarController, install_log_filter
from tierslieu.api.personal_data import GuestErasureController, MyDataController
from tierslieu.api.phone_notices import PhoneNoticeController, StructurePhoneNoticeController
from tierslieu.api.problems import EXCEPTION_HANDLERS, document_problems, handle_http_exception
from tierslieu.api.schema_page import schema_render_plugins
from tierslieu.api.series import SeriesController
from tierslieu.api.stats import DirectoryController, StructureStatsController, TerritoryController
from tierslieu.api.structures import StructureController
from tierslieu.api.system import health, livez
from tierslieu.db import create_engine, open_connections, read_only
from tierslieu.headers import security_headers
from tierslieu.runtime import (
    LoopLag,
    SafeJSONRequest,
    freeze_startup_heap,
    refuse_nul_in_path,
    request_timeout,
    warm_up,
)
from tierslieu.services import listing_cache
from tierslieu.services.delivery import start_delivery
from tierslieu.services.personal_data import start_daily_purge
from tierslieu.settings import Settings
from tierslieu.web import handle_http, is_page_path, web_config

logger = logging.getLogger("tierslieu")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestSessionConfig(SQLAlchemyAsyncConfig):
    """One session per request; GET/HEAD/OPTIONS requests get a read-only bind (on SQLite,
    a deferred BEGIN instead of BEGIN IMMEDIATE, so reads do not queue for the write lock)."""

    def provide_session(self, state: State, scope: Scope) -> AsyncSession:
        session = super().provide_session(state, scope)
        if scope.get("method") in SAFE_METHODS and self.engine_instance is not None:
            session.sync_session.bind = read_only(self.engine_instance).sync_engine
        return session


ROUTE_HANDLERS = [
    livez,
    health,
    AuthController,
    MeController,
    StructureController,
    StructureAssetController,
    AssetController,
    AvailabilityController,
    BookingController,
    StructureBookingController,
    SeriesController,
    ContactController,
    ContactLinkController,
    CanteenStructureController,
    CanteenAssetController,
    MealServiceController,
    MealOrderController,
    FeedController,
    ItemCalendarController,
    MyDataController,
    GuestErasureController,
    StructurePhoneNoticeController,
    PhoneNoticeController,
    # statistics, territory and open data (issue 15)
    StructureStatsController,
    TerritoryController,
    DirectoryController,
]


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """An unknown path or a wrong method outside any router: a page for a browser (an HTML
    error page in the person's language, with the problem code), problem details for the API."""
    if is_page_path(request.url.path):
        return handle_http(request, exc)
    return handle_http_exception(request, exc)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the ASGI application for ``settings`` (read from the environment if omitted)."""
    settings = settings or Settings.from_env()
    if settings.uses_dev_secret:
        logger.warning(
            "TIERSLIEU_SECRET_KEY is not set: using the development default. "
            "Set a long random value before exposing this service."
        )
    engine = create_engine(settings)
    listing_cache.configure(enabled=settings.listing_cache)
    db_config = RequestSessionConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        create_all=False,  # the schema only ever comes from Alembic migrations
        # No file-object columns here: its listener inspected every flushed row (~0.1 ms
        # of a booking) for nothing.
        enable_file_object_listener=False,
    )

    # Benchmarks ask for every lag at 10 ms; /health only needs the last minute's worst.
    loop_lag = LoopLag(interval=0.01, history=500_000) if settings.loop_lag_log else LoopLag()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(warm_up)  # imports and first-use costs, off the loop
        freeze_startup_heap()  # before serving: no full collection walks start-up objects
        await open_connections(engine, min(settings.db_warm_connections, settings.db_pool_size))
        monitor = asyncio.get_running_loop().create_task(loop_lag.run())
        purging = start_daily_purge(engine, settings)  # retention (personal data), daily
        delivering = start_delivery(engine, settings)  # the outbox (unless --no-worker)
        try:
            yield
        finally:
            if delivering is not None:
                await delivering.stop()  # after the batch in hand: nothing sent twice
            background = [task for task in (monitor, purging) if task is not None]
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            loop_lag.report()
            await engine.dispose()

    web = web_config(settings)  # HTML pages, static files, templates, CSRF for forms
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, *web.route_handlers],
        template_config=web.template_config,
        csrf_config=web.csrf_config,
        dependencies=DEPENDENCIES,
        plugins=[SQLAlchemyPlugin(config=db_config)],
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: _http_error},
        lifespan=[lifespan],
        # Robustness: requests cut after a time limit (503), NUL paths refused, safe JSON.
        middleware=[
            request_timeout(settings.request_timeout_seconds),
            refuse_nul_in_path,
        ],
        request_class=SafeJSONRequest,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="tierslieu",
            version=__version__,
            description=(
                "Réservations, repas et calendriers des tiers-lieux. "
                "Errors are RFC 9457 problem details, in French unless `Accept-Language: en`."
            ),
            path="/schema",
            render_plugins=schema_render_plugins(),  # no third-party scripts (D16)
        ),
        before_send=[security_headers],  # CSP, nosniff, Referrer-Policy, Secure cookies
        # Calendar feeds must never be gzipped (Outlook subscriptions break on it).
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, exclude=["/ical"]),
        debug=settings.debug,
    )
    document_problems(app)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_config = db_config  # api/deps.request_session
    app.state.loop_lag = loop_lag
    install_log_filter()  # feed tokens never reach the access log
    return app
