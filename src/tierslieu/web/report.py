"""The « Bilan » page of a structure (managers and staff): period picker, charts, tables.

Charts are drawn on the server by pygal and served as same-origin SVG images (no
script: pygal's config script is removed, and an SVG shown through ``<img>`` never runs
one anyway), each with its data table beside it. The downloads are the API's tables.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import pygal
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from pygal.style import Style
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import csvout, i18n
from tierslieu.domain.stats import Grouping, StatsReport
from tierslieu.errors import DomainError, NotFound
from tierslieu.services import stats, stats_export, structures
from tierslieu.services.access import structure_by_slug
from tierslieu.web import text
from tierslieu.web.pages import (
    local_today,
    page,
    read_form,
    redirect,
    refusals_to,
)
from tierslieu.web.session import SIGNED_IN, SignedIn, Viewer

DayParam = Annotated[str | None, QueryParameter(max_length=10)]
GroupParam = Annotated[str | None, QueryParameter(max_length=5)]
CHARTS = ("people", "occupancy", "hours", "meals", "suspended")
# The SVG itself may style itself (pygal's inline <style>) but load and run nothing.
PALETTE = ("#1d4f91", "#b5541c", "#2f7d32", "#7a3e9d", "#8a6d00", "#006d77")


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    kind: str  # "bar" or "stacked"
    labels: list[str]  # x axis: the periods
    series: list[tuple[str, list[float | int | None]]]


def charts_of(report: StatsReport, lang: str) -> list[Chart]:
    """The charts of a report, as data (the page shows each one's table beside it)."""
    _ = text.translator(lang)
    periods = report.periods
    found: list[Chart] = []
    if report.assets:
        found.append(
            Chart(
                "people",
                _("Personnes différentes par période"),
                "bar",
                periods,
                [(a.name, [f.people for f in a.periods]) for a in report.assets],
            )
        )
        found.append(
            Chart(
                "occupancy",
                _("Taux d'occupation par période (%)"),
                "bar",
                periods,
                [(a.name, [f.occupancy_percent for f in a.periods]) for a in report.assets],
            )
        )
        found.append(
            Chart(
                "hours",
                _("Heures d'utilisation par période"),
                "bar",
                periods,
                [(a.name, [f.hours_of_use for f in a.periods]) for a in report.assets],
            )
        )
    if report.canteen is not None:
        tariffs = sorted({t.tariff for t in report.canteen.by_tariff})
        meals = {(t.period, t.tariff): t.meals for t in report.canteen.by_tariff}
        found.append(
            Chart(
                "meals",
                _("Repas par tarif"),
                "stacked",
                periods,
                [(t, [meals.get((p, t), 0) for p in periods]) for t in tariffs],
            )
        )
        suspended = report.canteen.suspended_meals
        found.append(
            Chart(
                "suspended",
                _("Repas suspendus"),
                "bar",
                periods,
                [
                    (_("Achetés"), [s.bought for s in suspended]),
                    (_("Donnés"), [s.given for s in suspended]),
                    (_("En réserve en fin de période"), [s.pool_at_end for s in suspended]),
                ],
            )
        )
    return found


def draw_svg(chart: Chart) -> str:
    """The chart as a standalone SVG document without any script."""
    style = Style(
        background="white",
        plot_background="white",
        foreground="#1a1a1a",
        foreground_strong="#1a1a1a",
        foreground_subtle="#555555",
        colors=PALETTE,
        font_family="sans-serif",
        title_font_size=16,
        label_font_size=12,
        legend_font_size=13,
    )
    kind = pygal.StackedBar if chart.kind == "stacked" else pygal.Bar
    drawing = kind(
        style=style,
        js=[],
        disable_xml_declaration=False,
        width=720,
        height=360,
        explicit_size=False,
        legend_at_bottom=True,
        print_values=False,
        show_y_guides=True,
        x_label_rotation=0 if len(chart.labels) <= 12 else 60,
        no_data_text="—",
        title=chart.title,
    )
    drawing.x_labels = chart.labels
    for name, values in chart.series:
        drawing.add(name, values)
    svg = drawing.render(is_unicode=True)
    return re.sub(r"<script\b[^>]*>.*?</script>", "", svg, flags=re.DOTALL)


def display_cell(value: Any, lang: str) -> str:
    """A table cell as people read it: French decimal comma and jj/mm/aaaa in French."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value  # the template escapes it; no spreadsheet reads a page
    if lang == "fr":
        return csvout.cell(value)  # the French spreadsheet forms are the French reading forms
    locale = i18n.babel_locale(lang)
    if isinstance(value, dt.datetime):
        return format_datetime(value, "short", locale=locale)
    if isinstance(value, dt.date):
        return format_date(value, "short", locale=locale)
    if isinstance(value, float):
        return format_decimal(value, format="#,##0.######", locale=locale)
    return str(value)


def parse_window(
    first: str | None, last: str | None, group: str | None, tz: str
) -> tuple[dt.date, dt.date, Grouping, bool]:
    """The requested window, or the current local year (``True`` when the input was bad)."""
    today = local_today(tz)
    default = (dt.date(today.year, 1, 1), dt.date(today.year, 12, 31))
    chosen = Grouping.WEEK if group == "week" else Grouping.MONTH
    if not first and not last:
        return *default, chosen, False
    try:
        start = dt.date.fromisoformat(first or "")
        end = dt.date.fromisoformat(last or "")
        stats.check_window(start, end)
    except (ValueError, DomainError):
        return *default, chosen, True
    return start, end, chosen, False


class ReportPages(Controller):
    path = "/structures/{slug:str}/bilan"
    include_in_schema = False

    @get(
        "/",
        summary="The Bilan page: figures, charts and downloads (web, managers and staff)",
        dependencies=SIGNED_IN,
    )
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
        first: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
        group: GroupParam = None,
    ) -> Template:
        _ = text.translator(viewer.lang)
        structure = await structure_by_slug(db_session, slug)
        start, end, grouping, invalid = parse_window(first, last, group, structure.timezone)
        report = await stats.structure_report(db_session, viewer.user, slug, start, end, grouping)
        query = f"from={start.isoformat()}&to={end.isoformat()}&group={grouping.value}"
        return page(
            request,
            viewer,
            "report.html",
            title=_("Bilan — {name}", name=structure.name),
            structure=structure,
            report=report,
            charts=charts_of(report, viewer.lang),
            tables=stats_export.report_tables(report, viewer.lang),
            query=query,
            first=start,
            last=end,
            group=grouping.value,
            invalid=invalid,
            cell=lambda value: display_cell(value, viewer.lang),
            is_manager=viewer.role_in(structure) == "manager",
        )

    @post(
        "/partage",
        summary="Share (or stop sharing) the figures with the territory (web)",
        dependencies=SIGNED_IN,
    )
    async def share(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        slug: FromPath[str],
    ) -> Redirect:
        """Managers only (the service checks): territory coordinators then see the sums."""
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        here = f"/structures/{slug}/bilan"
        with refusals_to(here):
            await structures.update_structure(
                db_session, viewer.user, slug, {"share_stats": form.get("share_stats") == "1"}
            )
        return redirect(request, viewer, here, _("Choix de partage enregistré."))

    @get("/graphique/{name:str}", summary="One chart of the Bilan as SVG (web)")
    async def chart(
        self,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        name: FromPath[str],
        first: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
        group: GroupParam = None,
    ) -> Response[str]:
        if viewer.user is None or not name.endswith(".svg") or name[:-4] not in CHARTS:
            raise NotFound()
        structure = await structure_by_slug(db_session, slug)
        start, end, grouping, _invalid = parse_window(first, last, group, structure.timezone)
        report = await stats.structure_report(db_session, viewer.user, slug, start, end, grouping)
        chart = next((c for c in charts_of(report, viewer.lang) if c.name == name[:-4]), None)
        if chart is None:
            raise NotFound()
        svg = await anyio.to_thread.run_sync(draw_svg, chart)
        return Response(
            svg,
            media_type="image/svg+xml",
            headers={"Cache-Control": "private, no-store"},  # CSP and nosniff: headers.py
        )

    @get("/export/{name:str}", summary="Download the Bilan's tables as CSV or XLSX (web)")
    async def export(
        self,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        name: FromPath[str],
        first: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
        group: GroupParam = None,
    ) -> Response[bytes]:
        if viewer.user is None or name not in {"bilan.csv", "bilan.xlsx"}:
            raise NotFound()
        structure = await structure_by_slug(db_session, slug)
        start, end, grouping, _invalid = parse_window(first, last, group, structure.timezone)
        report = await stats.structure_report(db_session, viewer.user, slug, start, end, grouping)
        tables = stats_export.report_tables(report, viewer.lang)
        if name.endswith(".csv"):
            body, media = stats_export.tables_csv(tables), "text/csv"
            filename = stats_export.export_name(report, "csv")
        else:
            body, media = stats_export.tables_xlsx(tables), stats_export.XLSX
            filename = stats_export.export_name(report, "xlsx")
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
