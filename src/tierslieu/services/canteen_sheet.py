"""The kitchen production sheet as plain data, then as printable French HTML or CSV."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import jinja2

from tierslieu import csvout
from tierslieu.domain import canteen as rules
from tierslieu.services.canteen_orders import KitchenSheet, OrderView, order_ref

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("tierslieu", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["euros"] = rules.format_cents


def _labels(codes: list[str], table: dict[Any, str]) -> list[dict[str, str]]:
    return [{"code": c, "label": table.get(c, c)} for c in codes]  # type: ignore[call-overload]


def _order(v: OrderView, tz: str) -> dict[str, Any]:
    o = v.order
    return {
        "id": str(o.id),
        "reference": order_ref(o.id),
        "name": v.customer_name or "",
        "guest": o.user_id is None,
        "status": o.status,
        "status_label": rules.ORDER_STATUS_LABELS_FR[rules.OrderStatus(o.status)],
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


def sheet_data(sheet: KitchenSheet) -> dict[str, Any]:
    """Portions per dish, pickups per window, allergens and diets to watch, notes, tariffs."""
    menu = sheet.menu
    tz = menu.structure.timezone
    local = lambda value: rules.to_local(value, tz)  # noqa: E731
    ordered: dict[Any, int] = defaultdict(int)
    for v in sheet.views:
        for line, _item in v.lines:
            ordered[line.item_id] += line.quantity
    items = [
        {
            "id": str(i.id),
            "name": i.name,
            "kind": i.kind,
            "kind_label": rules.DISH_KIND_LABELS_FR[rules.DishKind(i.kind)],
            "portions": i.portions,
            "ordered": ordered[i.id],
            "remaining": i.portions - i.sold,
            "allergens": _labels(i.allergens, rules.ALLERGEN_LABELS_FR),
            "diets": _labels(i.diets, rules.DIET_LABELS_FR),
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
                    "label": rules.ALLERGEN_LABELS_FR.get(code, code),  # type: ignore[call-overload]
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
                    "label": rules.DIET_LABELS_FR.get(code, code),  # type: ignore[call-overload]
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
                "orders": [_order(v, tz) for v in views],
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
            "window": f"{local(next(w.starts_at for w in menu.windows if w.id == v.order.pickup_window_id)):%H:%M}",
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


def sheet_html(data: dict[str, Any]) -> str:
    return _env.get_template("kitchen/sheet.html").render(sheet=data, dt_local=_fr_date)


def _fr_date(iso: str) -> str:
    days = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    value = dt.datetime.fromisoformat(iso) if "T" in iso else dt.date.fromisoformat(iso)
    text = f"{days[value.weekday()]} {value.day} {months[value.month - 1]} {value.year}"
    if isinstance(value, dt.datetime):
        text += f" à {value:%H:%M}"
    return text


CSV_HEADER = [
    "creneau",
    "reference",
    "nom",
    "plat",
    "quantite",
    "allergenes",
    "tarif",
    "montant_eur",
    "paye",
    "statut",
    "repas_suspendus",
    "bon",
    "note",
]


def sheet_csv(data: dict[str, Any]) -> str:
    """One line per ordered dish, through ``csvout`` (BOM, ``;``, formulas neutralised)."""
    rows = [
        [
            w["label"],
            o["reference"],
            o["name"],
            line["name"],
            line["quantity"],
            ", ".join(
                rules.ALLERGEN_LABELS_FR.get(a, a)  # type: ignore[call-overload]
                for a in line["allergens"]
            ),
            o["tariff_label"],
            f"{o['total_cents'] / 100:.2f}".replace(".", ","),
            "oui" if o["paid"] else "non",
            o["status_label"],
            o["suspended_meals"],
            "oui" if o["voucher"] else "non",
            o["note"],
        ]
        for w in data["pickup_windows"]
        for o in w["orders"]
        for line in o["lines"]
    ]
    return csvout.document(CSV_HEADER, rows)
