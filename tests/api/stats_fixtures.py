"""A known February and March 2026 for the statistics, counted by hand.

The garden of EHPAD Les Tilleuls opens Tuesday and Saturday 09:00–12:00 (1-hour slots,
8 places, cancellation until 2 hours before); closed Saturday 14 March (staff training).
Past bookings are written directly (the API refuses to book the past). The CHRS Le
Relais canteen served one lunch on Thursday 5 March 2026.

Hand count, garden, March 2026 (see each booking's comment):
  held bookings 7, places 9; people 5 (Jeanne, Karim, Mme Dupont once although her phone
  was typed two ways, two anonymised bookings as two persons); by kind neighbour 1,
  professional 1, guest 3; attended 4 (6 places); no-show 1; cancelled 2 of which late 1;
  declined 1; hours of use 4 (3 Mar 10h, 10 Mar 9h, 17 Mar 9h, 21 Mar 11h); booked
  place-hours 9; offered: 9 opening days × 3 slots × 8 places = 216, minus the closed
  Saturday (24) = 192; occupancy 9/192 = 4.6875 % → 4.7.
February: 1 booking (Jeanne), offered 8 days × 24 = 192, occupancy 0.5.
Both months: 8 bookings, 10 places, people 5 (Jeanne counted once), hours 5,
  offered 384, occupancy 10/384 = 2.6.
Canteen, March: professionnel 1 order, 1 meal, 11,50 €; habitant 1 order (one other was
  cancelled), 2 meals, 12,00 €; solidaire 1 order, 1 meal paid by a voucher, 0 €.
  Repas suspendus: February bought 3 (pool 3); March bought 1, given 1 (pool 3).
  Pickups 12:00 → 2 orders, 12:15 → 1. Couscous sold out at 10:05 (last order).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import World, run_db
from tierslieu.models import (
    Asset,
    AvailabilityRule,
    Booking,
    Closure,
    MealOrder,
    MealOrderLine,
    MealService,
    MenuItem,
    PickupWindow,
    Structure,
    SuspendedMealEntry,
    SuspendedMealVoucher,
)
from tierslieu.settings import Settings

PARIS = ZoneInfo("Europe/Paris")


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PARIS).astimezone(dt.UTC)


def build_known_months(settings: Settings, world: World) -> None:
    garden_id = uuid.UUID(world.garden["id"])
    jeanne = uuid.UUID(world.neighbour.id)
    karim = uuid.UUID(world.professional.id)

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(Asset).where(Asset.id == garden_id).values(cancel_until_minutes=120)
        )
        session.add(
            AvailabilityRule(
                asset_id=garden_id,
                weekdays=[2, 6],
                start_time=dt.time(9),
                end_time=dt.time(12),
                valid_from=dt.date(2026, 1, 1),
                slot_minutes=60,
                capacity=8,
            )
        )
        session.add(
            Closure(
                asset_id=garden_id,
                starts_at=local(14, 0),
                ends_at=local(15, 0),
                starts_on=dt.date(2026, 3, 14),
                ends_on=dt.date(2026, 3, 14),
                reason="formation",
            )
        )

        def booking(
            day: int, hour: int, status: str, party: int = 1, month: int = 3, **kw: Any
        ) -> None:
            session.add(
                Booking(
                    asset_id=garden_id,
                    starts_at=local(day, hour, month=month),
                    ends_at=local(day, hour + 1, month=month),
                    party_size=party,
                    status=status,
                    **kw,
                )
            )

        booking(3, 10, "attended", 2, user_id=jeanne)  # 1 neighbour
        booking(7, 10, "no_show", 1, user_id=jeanne)  # 2 held, not used
        booking(3, 10, "confirmed", 1, user_id=karim)  # 3 same slot as 1
        booking(10, 9, "attended", 2, guest_name="Mme Dupont", guest_phone="01 02 03 04 05")
        booking(17, 9, "attended", 1, guest_name="Mme  Dupont", guest_phone="0102030405")
        booking(21, 11, "attended", 1, guest_name="")  # 6 anonymised
        booking(21, 11, "confirmed", 1, guest_name="")  # 7 anonymised, another person
        booking(24, 10, "cancelled", 1, user_id=karim, cancelled_at=local(21, 10))  # in time
        booking(24, 11, "cancelled", 2, user_id=jeanne, cancelled_at=local(24, 10, 30))  # late
        booking(28, 9, "declined", 1, user_id=jeanne)
        booking(24, 10, "attended", 1, month=2, user_id=jeanne)  # February
        booking(1, 10, "attended", 1, month=4, user_id=jeanne)  # April: outside the window
        await session.flush()

        relais = await session.scalar(select(Structure).where(Structure.slug == "chrs-le-relais"))
        assert relais is not None
        canteen = Asset(
            structure_id=relais.id,
            name="Cantine du Relais",
            kind="canteen",
            booking_mode="shared",
            capacity=60,
            audience=["neighbours", "professionals"],
            min_notice_minutes=0,
            max_advance_days=14,
            cancel_until_minutes=0,
            max_party_size=1,
        )
        session.add(canteen)
        await session.flush()
        service = MealService(
            asset_id=canteen.id,
            structure_id=relais.id,
            service_date=dt.date(2026, 3, 5),
            order_cutoff=local(5, 10, 30),
        )
        session.add(service)
        await session.flush()
        noon = PickupWindow(
            service_id=service.id, starts_at=local(5, 12), ends_at=local(5, 12, 15), capacity=10
        )
        quarter = PickupWindow(
            service_id=service.id,
            starts_at=local(5, 12, 15),
            ends_at=local(5, 12, 30),
            capacity=10,
        )

        def dish(name: str, kind: str, portions: int, sold: int, position: int) -> MenuItem:
            return MenuItem(
                service_id=service.id,
                name=name,
                kind=kind,
                portions=portions,
                sold=sold,
                position=position,
                allergens=[],
                diets=[],
                prices={"professionnel": 950, "habitant": 600, "solidaire": 100},
            )

        couscous = dish("Couscous", "main", 3, 3, 0)
        lasagnes = dish("Lasagnes", "main", 5, 1, 1)
        tarte = dish("Tarte", "dessert", 10, 1, 2)
        session.add_all([noon, quarter, couscous, lasagnes, tarte])
        voucher = SuspendedMealVoucher(
            structure_id=relais.id, code_hash="x" * 64, code_hint="ABCD", used_at=local(5, 11)
        )
        session.add(voucher)
        await session.flush()

        def order(
            window: PickupWindow, tariff: str, status: str, paid: bool, at: dt.datetime, **kw: Any
        ) -> MealOrder:
            placed = MealOrder(
                service_id=service.id,
                structure_id=relais.id,
                pickup_window_id=window.id,
                tariff_code=tariff,
                status=status,
                paid=paid,
                total_cents=0,
                created_at=at,
                **kw,
            )
            session.add(placed)
            return placed

        o1 = order(quarter, "professionnel", "collected", True, local(5, 9), user_id=karim,
                   suspended_meals=1, suspended_meal_cents=600)  # fmt: skip
        o2 = order(noon, "habitant", "collected", True, local(5, 10, 5), guest_name="Client")
        o3 = order(quarter, "habitant", "cancelled", False, local(5, 10, 20), user_id=jeanne)
        o4 = order(noon, "solidaire", "collected", False, local(5, 9, 30),
                   guest_name="Bénéficiaire", voucher_id=voucher.id)  # fmt: skip
        await session.flush()
        session.add_all(
            [
                MealOrderLine(order_id=o1.id, item_id=couscous.id, quantity=1, unit_cents=950),
                MealOrderLine(order_id=o1.id, item_id=tarte.id, quantity=1, unit_cents=200),
                MealOrderLine(order_id=o2.id, item_id=couscous.id, quantity=2, unit_cents=600),
                MealOrderLine(order_id=o3.id, item_id=lasagnes.id, quantity=1, unit_cents=600),
                MealOrderLine(
                    order_id=o4.id,
                    item_id=lasagnes.id,
                    quantity=1,
                    unit_cents=100,
                    free_quantity=1,
                ),
                SuspendedMealEntry(
                    structure_id=relais.id,
                    kind="paid_forward",
                    delta=3,
                    created_at=local(20, 12, month=2),
                ),
                SuspendedMealEntry(
                    structure_id=relais.id,
                    kind="paid_forward",
                    delta=1,
                    order_id=o1.id,
                    created_at=local(5, 9, 1),
                ),
                SuspendedMealEntry(
                    structure_id=relais.id,
                    kind="voucher",
                    delta=-1,
                    voucher_id=voucher.id,
                    created_at=local(4, 15),
                ),
            ]
        )
        await session.commit()

    run_db(settings, work)
