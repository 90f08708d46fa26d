"""Statistics (managers and staff), territory figures (coordinators), open-data directory."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.api.schemas import Email, Strict
from tierslieu.domain.stats import Grouping, StatsReport
from tierslieu.models import User
from tierslieu.services import directory, stats, stats_export, territory
from tierslieu.services.clock import utcnow
from tierslieu.services.stats_export import Table, tables_csv
from tierslieu.settings import Settings

From = Annotated[
    dt.date | None,
    QueryParameter(name="from", description="First local day (default: 1 January this year)"),
]
To = Annotated[
    dt.date | None,
    QueryParameter(name="to", description="Last local day, inclusive (≤ 366 days in all)"),
]
Group = Annotated[Grouping, QueryParameter(description="month or week (ISO, Monday first)")]


def window(first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date]:
    """Defaults: the current calendar year, or a year from ``from``."""
    today = utcnow().date()
    first = first or (last - dt.timedelta(days=364) if last else dt.date(today.year, 1, 1))
    last = last or min(dt.date(first.year, 12, 31), first + dt.timedelta(days=365))
    return first, last


def download(body: bytes, media_type: str, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


class StructureStatsController(Controller):
    path = "/api/structures/{slug:str}"
    tags = ["statistics"]

    @get("/stats", summary="Impact figures per asset and period (managers; staff read-only)")
    async def stats_json(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        slug: FromPath[str],
        first: From = None,
        last: To = None,
        group: Group = Grouping.MONTH,
    ) -> StatsReport:
        """Bookings, places, different people by kind, attendance, cancellations (late or
        not), hours of use and occupancy per asset and local month or week; for a canteen,
        meals and revenue per tariff, repas suspendus bought, given and in the pool, orders
        per pickup window and sold-out dishes. Waiting-list promotions are always null: no
        waiting list exists yet. Exports: ``/stats.csv`` and ``/stats.xlsx``."""
        first, last = window(first, last)
        return await stats.structure_report(db_session, user, slug, first, last, group)

    @get(
        "/stats.csv",
        summary="The figures as CSV for French spreadsheets",
        media_type="text/csv",
    )
    async def stats_csv(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        lang: NamedDependency[str],
        slug: FromPath[str],
        first: From = None,
        last: To = None,
        group: Group = Grouping.MONTH,
    ) -> Response[bytes]:
        """``;`` separated, UTF-8 with BOM, decimal comma, dates jj/mm/aaaa; the tables one
        after the other, each under its title line."""
        first, last = window(first, last)
        report = await stats.structure_report(db_session, user, slug, first, last, group)
        body = tables_csv(stats_export.report_tables(report, lang))
        return download(body, "text/csv", stats_export.export_name(report, "csv"))

    @get(
        "/stats.xlsx",
        summary="The figures as an Excel workbook (one sheet per table)",
        media_type=stats_export.XLSX,
    )
    async def stats_xlsx(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        lang: NamedDependency[str],
        slug: FromPath[str],
        first: From = None,
        last: To = None,
        group: Group = Grouping.MONTH,
    ) -> Response[bytes]:
        first, last = window(first, last)
        report = await stats.structure_report(db_session, user, slug, first, last, group)
        body = stats_export.tables_xlsx(stats_export.report_tables(report, lang))
        return download(body, stats_export.XLSX, stats_export.export_name(report, "xlsx"))


class CoordinatorIn(Strict):
    email: Email
    commune: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class CoordinatorOut(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    commune: str


class TerritoryController(Controller):
    path = "/api/territory"
    tags = ["territory"]

    @put("/coordinators", summary="Name a territory coordinator of a commune (platform admin)")
    async def name(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        data: JSONBody[CoordinatorIn],
    ) -> Response[CoordinatorOut]:
        """201 when named, 200 when already; 422 ``unknown-person`` without an account."""
        row, created = await territory.name_coordinator(db_session, user, data.email, data.commune)
        return Response(
            CoordinatorOut(id=row.id, user_id=row.user_id, email=data.email, commune=row.commune),
            status_code=HTTP_201_CREATED if created else HTTP_200_OK,
        )

    @get("/coordinators", summary="Territory coordinators (platform admin)")
    async def list_(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[User]
    ) -> list[CoordinatorOut]:
        return [
            CoordinatorOut(id=row.id, user_id=u.id, email=u.email, commune=row.commune)
            for row, u in await territory.list_coordinators(db_session, user)
        ]

    @delete(
        "/coordinators/{row_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a coordinator from a commune (platform admin)",
    )
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        row_id: FromPath[uuid.UUID],
    ) -> None:
        await territory.remove_coordinator(db_session, user, row_id)

    @get("/stats", summary="Summed figures of the sharing structures of my communes")
    async def stats(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        first: From = None,
        last: To = None,
        group: Group = Grouping.MONTH,
    ) -> list[territory.CommuneStats]:
        """Only structures whose managers set ``share_stats``; never a name. People are
        summed over structures (nobody can be matched across structures)."""
        first, last = window(first, last)
        return await territory.territory_report(db_session, user, first, last, group)


class DirectoryController(Controller):
    path = "/api"
    tags = ["directory"]

    @get(
        "/directory.geojson",
        summary="Open data: the opened places as GeoJSON (public)",
        media_type="application/geo+json",
    )
    async def geojson(
        self, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
    ) -> Response[dict[str, Any]]:
        """One Point per opened asset at its structure's coordinates, flat properties
        (structure, commune, asset, kind, audience, accessibility). Licence Ouverte 2.0."""
        rows = await directory.directory_rows(db_session)
        return Response(
            directory.geojson(rows, settings.public_url),
            media_type="application/geo+json",
            headers=_open_data_headers("tierslieu-annuaire.geojson"),
        )

    @get(
        "/directory.csv",
        summary="Open data: the opened places as CSV (public)",
        media_type="text/csv",
    )
    async def csv(
        self, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
    ) -> Response[bytes]:
        rows = await directory.directory_rows(db_session)
        table = Table(
            "annuaire",
            "annuaire",
            list(directory.CSV_COLUMNS),
            directory.csv_rows(rows, settings.public_url),
        )
        return Response(
            tables_csv([table]),
            media_type="text/csv",
            headers=_open_data_headers("tierslieu-annuaire.csv"),
        )


def _open_data_headers(filename: str) -> dict[str, Any]:
    return {
        "Content-Disposition": f'inline; filename="{filename}"',
        "Access-Control-Allow-Origin": "*",
        "Cache-Control": "public, max-age=300",
        "Link": f'<{directory.LICENCE_URL}>; rel="license"',
    }
