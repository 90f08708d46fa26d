"""The kitchen production sheet as plain data, then as printable HTML or CSV.

Labels (dish kinds, allergens, diets, order statuses) are in the reader's language; the
HTML and CSV texts go through gettext, times are « 12 h 00 » (Babel, the structure's zone).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from tierslieu import csvout, i18n, templating
from tierslieu.domain import localtime
from tierslieu.i18n import N_
from tierslieu.labels import capitalized, label
from tierslieu.services.canteen_orders import KitchenSheet, OrderView, order_ref


def _labels(lang: str, table: str, codes: list[str]) -> list[dict[str, str]]:
    return [{"code": c, "label": capitalized(label(lang, table, c))} for c in codes]


def _order(v: OrderView, tz: str, lang: str) -> dict[str, Any]:
    o = v.order
    return {
        "id": str(o.id),
        "reference": order_ref(o.id),
        "name": v.customer_name or "",
        "guest": o.user_id is None,
        "status": o.status,
        "status_label": capitalized(label(lang, "order_status", o.status)),
        "paid": o.paid,
        "total_cents": o.total_cents,
        "tariff": o.tariff_code,
        "tariff_label": v.tariff_label,
        "voucher": o.voucher_id is not None,
        "suspended_meals": o.suspended_meals,
        "note": o.note,
        "lines": [
            {
                "item_id": str(line.item_id),
                "name": item.name,
                "quantity": line.quantity,
                "allergens": list(item.allergens),
            }
            for line, item in v.lines
        ],
    }


def _window_start(menu: Any, v: OrderView) -> dt.datetime:
    return next(w.starts_at for w in menu.windows if w.id == v.order.pickup_window_id)


def sheet_data(sheet: KitchenSheet, lang: str = "fr") -> dict[str, Any]:
    """Portions per dish, pickups per window, allergens and diets to watch, notes, tariffs.

    The ``label`` fields are in ``lang``; a pickup window's ``label`` stays « 12:00–12:15 »
    (a key for programs); people read ``starts_at``/``ends_at`` formatted by the sheet."""
    menu = sheet.menu
    tz = menu.structure.timezone
    local = lambda value: localtime.to_local(value, tz)  # noqa: E731
    ordered: dict[Any, int] = defaultdict(int)
    for v in sheet.views:
        for line, _item in v.lines:
            ordered[line.item_id] += line.quantity
    items = [
        {
            "id": str(i.id),
            "name": i.name,
            "kind": i.kind,
            "kind_label": label(lang, "dish_kind", i.kind),
            "portions": i.portions,
            "ordered": ordered[i.id],
            "remaining": i.remaining,
            "allergens": _labels(lang, "allergen", i.allergens),
            "diets": _labels(lang, "diet", i.diets),
            "withdrawn": i.withdrawn_at is not None,
        }
        for i in menu.items
    ]
    allergens: dict[str, dict[str, Any]] = {}
    diets: dict[str, dict[str, Any]] = {}
    for i in menu.items:
        if not ordered[i.id]:
            continue
        for code in i.allergens:
            entry = allergens.setdefault(
                code,
                {
                    "code": code,
                    "label": label(lang, "allergen", code),
                    "portions": 0,
                    "items": [],
                },
            )
            entry["portions"] += ordered[i.id]
            entry["items"].append(i.name)
        for code in i.diets:
            entry = diets.setdefault(
                code,
                {
                    "code": code,
                    "label": capitalized(label(lang, "diet", code)),
                    "portions": 0,
                },
            )
            entry["portions"] += ordered[i.id]
    windows = []
    for w in menu.windows:
        views = sheet.orders_by_window.get(w.id, [])
        windows.append(
            {
                "id": str(w.id),
                "starts_at": local(w.starts_at).isoformat(),
                "ends_at": local(w.ends_at).isoformat(),
                "label": f"{local(w.starts_at):%H:%M}–{local(w.ends_at):%H:%M}",
                "capacity": w.capacity,
                "taken": w.taken,
                "orders": [_order(v, tz, lang) for v in views],
            }
        )
    tariffs: dict[str, dict[str, Any]] = {}
    for v in sheet.views:
        o = v.order
        t = tariffs.setdefault(
            o.tariff_code,
            {
                "code": o.tariff_code,
                "label": v.tariff_label,
                "orders": 0,
                "portions": 0,
                "amount_cents": 0,
                "paid_cents": 0,
            },
        )
        t["orders"] += 1
        t["portions"] += sum(line.quantity for line, _ in v.lines)
        t["amount_cents"] += o.total_cents
        t["paid_cents"] += o.total_cents if o.paid else 0
    notes = [
        {
            "reference": order_ref(v.order.id),
            "name": v.customer_name or "",
            "window": f"{local(_window_start(menu, v)):%H:%M}",
            "window_starts_at": local(_window_start(menu, v)).isoformat(),
            "note": v.order.note,
        }
        for v in sheet.views
        if v.order.note.strip()
    ]
    return {
        "service": {
            "id": str(menu.service.id),
            "date": menu.service.service_date.isoformat(),
            "meal": menu.service.meal,
            "order_cutoff": local(menu.service.order_cutoff).isoformat(),
            "asset": menu.asset.name,
            "structure": menu.structure.name,
        },
        "generated_at": local(sheet.generated_at).isoformat(),
        "items": items,
        "pickup_windows": windows,
        "allergens_to_watch": sorted(allergens.values(), key=lambda a: a["label"]),
        "diets": sorted(diets.values(), key=lambda d: d["label"]),
        "notes": notes,
        "tariffs": sorted(tariffs.values(), key=lambda t: t["code"]),
        "suspended_meals": {
            "paid_forward": sum(v.order.suspended_meals for v in sheet.views),
            "vouchers_redeemed": sum(1 for v in sheet.views if v.order.voucher_id is not None),
        },
        "totals": {
            "orders": len(sheet.views),
            "portions": sum(ordered.values()),
            "amount_cents": sum(v.order.total_cents for v in sheet.views),
            "paid_cents": sum(v.order.total_cents for v in sheet.views if v.order.paid),
        },
    }


def sheet_html(data: dict[str, Any], lang: str = "fr", back: str | None = None) -> str:
    """The printable sheet in ``lang``: dates and times read in the structure's zone.

    ``back`` (web pages only): the page to return to, shown with a print button (not on paper).
    """
    return templating.render(
        "kitchen/sheet.html",
        sheet=data,
        lang=lang,
        back=back,
        _=i18n.texts(lang),
        ngettext=i18n.texts(lang).ngettext,
        day=dt.date.fromisoformat(data["service"]["date"]),
        when=lambda iso: dt.datetime.fromisoformat(iso),
    )


# The CSV columns (French msgids; the header is in the reader's language).
CSV_COLUMNS = [
    N_("Créneau"),
    N_("Référence"),
    N_("Nom"),
    N_("Plat"),
    N_("Quantité"),
    N_("Allergènes"),
    N_("Tarif"),
    N_("Montant (€)"),
    N_("Payé"),
    N_("Statut"),
    N_("Repas suspendus"),
    N_("Bon"),
    N_("Remarque"),
]


def sheet_csv(data: dict[str, Any], lang: str = "fr") -> str:
    """One line per ordered dish, through ``csvout`` (BOM, ``;``, formulas neutralised)."""
    _ = i18n.texts(lang)
    yes, no = _("oui"), _("non")
    rows = [
        [
            w["label"],
            o["reference"],
            o["name"],
            line["name"],
            line["quantity"],
            ", ".join(label(lang, "allergen", a) for a in line["allergens"]),
            o["tariff_label"],
            templating.decimal(o["total_cents"] / 100, lang),
            yes if o["paid"] else no,
            o["status_label"],
            o["suspended_meals"],
            yes if o["voucher"] else no,
            o["note"],
        ]
        for w in data["pickup_windows"]
        for o in w["orders"]
        for line in o["lines"]
    ]
    return csvout.document([_(c) for c in CSV_COLUMNS], rows)
