"""create_app(settings): the only place that wires the service together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
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
from tierslieu.api.deps import DEPENDENCIES
from tierslieu.api.feeds import FeedController, ItemCalendarController, install_log_filter
from tierslieu.api.problems import EXCEPTION_HANDLERS, document_problems
from tierslieu.api.structures import StructureController
from tierslieu.api.system import health, livez
from tierslieu.db import create_engine, read_only
from tierslieu.loop_lag import LoopLagProbe
from tierslieu.services import listing_cache
from tierslieu.settings import Settings
from tierslieu.web import web_config

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
    CanteenStructureController,
    CanteenAssetController,
    MealServiceController,
    MealOrderController,
    FeedController,
    ItemCalendarController,
]


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
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        probe = LoopLagProbe() if settings.loop_lag_log else None  # benchmarks only
        if probe is not None:
            probe.start()
        try:
            yield
        finally:
            if probe is not None:
                await probe.stop()
            await engine.dispose()

    web = web_config(settings)  # HTML pages, static files, templates, CSRF for forms
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, *web.route_handlers],
        template_config=web.template_config,
        csrf_config=web.csrf_config,
        dependencies=DEPENDENCIES,
        plugins=[SQLAlchemyPlugin(config=db_config)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="tierslieu",
            version=__version__,
            description=(
                "Réservations, repas et calendriers des tiers-lieux. "
                "Errors are RFC 9457 problem details, in French unless `Accept-Language: en`."
            ),
            path="/schema",
        ),
        # Calendar feeds must never be gzipped (Outlook subscriptions break on it).
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, exclude=["/ical"]),
        debug=settings.debug,
    )
    document_problems(app)
    app.state.settings = settings
    app.state.engine = engine
    install_log_filter()  # feed tokens never reach the access log
    return app
