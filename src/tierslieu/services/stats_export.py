"""The statistics as tables: CSV for French spreadsheets and XLSX (one sheet per table).

CSV rules: ``;`` separator, UTF-8 with a byte-order mark, CRLF lines, decimal comma,
dates ``jj/mm/aaaa`` (and ``jj/mm/aaaa hh:mm``); a text cell starting with ``= + - @``,
a tab or a carriage return gets a leading apostrophe so no spreadsheet runs it as a
formula. Numbers are written by us, never neutralised.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

import xlsxwriter

from tierslieu import csvout, i18n, labels
from tierslieu.domain.stats import StatsReport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Cell = str | int | float | Decimal | dt.date | dt.datetime | None


@dataclass
class Table:
    sheet: str  # at most 31 characters, no []:*?/\
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def euros(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def report_tables(report: StatsReport, lang: str) -> list[Table]:
    """The report's tables, with headers in ``lang``; the same tables feed the Bilan page."""
    _ = i18n.texts(lang)

    def label(table: str, value: str) -> str:
        return labels.label(lang, table, value)

    bookings = Table(
        _("Réservations"),
        _("Réservations par ressource et par période"),
        [
            _("Ressource"),
            _("Période"),
            _("Du"),
            _("Au"),
            _("Réservations"),
            _("Places"),
            _("Personnes différentes"),
            *[label("stats_kind", k) for k in STATS_KINDS],
            _("Venues"),
            _("Absences"),
            _("Annulations"),
            _("dont tardives"),
            _("Refusées"),
            _("Heures d'utilisation"),
            _("Places-heures réservées"),
            _("Places-heures offertes"),
            _("Taux d'occupation (%)"),
        ],
    )
    for asset in report.assets:
        for f in [*asset.periods, asset.total]:
            bookings.rows.append(
                [
                    asset.name,
                    _("Total") if f.period == "total" else f.period,
                    f.first_day,
                    f.last_day,
                    f.bookings,
                    f.places,
                    f.people,
                    *[f.people_by_kind.get(k, 0) for k in STATS_KINDS],
                    f.attended,
                    f.no_show,
                    f.cancelled,
                    f.cancelled_late,
                    f.declined,
                    f.hours_of_use,
                    f.booked_place_hours,
                    f.offered_place_hours,
                    f.occupancy_percent,
                ]
            )
    tables = [bookings]
    canteen = report.canteen
    if canteen is not None:
        tables.append(
            Table(
                _("Repas par tarif"),
                _("Repas et recettes par tarif"),
                [
                    _("Période"),
                    _("Tarif"),
                    _("Commandes"),
                    _("Repas"),
                    _("Recettes (€)"),
                    _("Repas suspendus servis"),
                ],
                [
                    [
                        t.period,
                        t.tariff,
                        t.orders,
                        t.meals,
                        euros(t.revenue_cents),
                        t.suspended_meals_served,
                    ]
                    for t in canteen.by_tariff
                ],
            )
        )
        tables.append(
            Table(
                _("Repas suspendus"),
                _("Repas suspendus achetés, donnés et en réserve"),
                [_("Période"), _("Achetés"), _("Donnés"), _("En réserve en fin de période")],
                [[s.period, s.bought, s.given, s.pool_at_end] for s in canteen.suspended_meals],
            )
        )
        tables.append(
            Table(
                _("Retraits"),
                _("Commandes par créneau de retrait"),
                [_("Créneau de retrait"), _("Commandes")],
                [[w.window, w.orders] for w in canteen.pickup_windows],
            )
        )
        tables.append(
            Table(
                _("Plats épuisés"),
                _("Plats épuisés, et quand"),
                [_("Date"), _("Service"), _("Plat"), _("Portions"), _("Épuisé le")],
                [
                    [
                        d.service_date,
                        label("meal", d.meal),
                        d.dish,
                        d.portions,
                        d.sold_out_at.replace(tzinfo=None) if d.sold_out_at else None,
                    ]
                    for d in canteen.sold_out
                ],
            )
        )
    return tables


STATS_KINDS = ("neighbour", "resident", "professional", "guest")


# --- CSV ------------------------------------------------------------------------------


def tables_csv(tables: list[Table]) -> bytes:
    """Every table one after the other (title line when several, header, rows), UTF-8 + BOM."""
    titled = len(tables) > 1
    return csvout.sections(
        (table.title if titled else None, table.columns, table.rows) for table in tables
    ).encode("utf-8")


# --- XLSX -----------------------------------------------------------------------------


def tables_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table; dates as real dates, euros as numbers with a € format."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    moment = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    money = book.add_format({"num_format": '#,##0.00 "€"'})
    for table in tables:
        sheet = book.add_worksheet(table.sheet[:31])
        sheet.write_row(0, 0, table.columns, bold)
        sheet.freeze_panes(1, 0)
        for r, row in enumerate(table.rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, moment)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), day)
                elif isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value), money)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))
        for c, name in enumerate(table.columns):
            sheet.set_column(c, c, max(10, min(40, len(name) + 2)))
    book.close()
    return out.getvalue()


def export_name(report: StatsReport, extension: str) -> str:
    return f"bilan-{report.structure}-{report.first_day}-{report.last_day}.{extension}"
