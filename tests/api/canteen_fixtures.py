"""Kept for imports written before tests/scenarios: the canteen scenario lives in
:mod:`tests.scenarios.relais` (its fixtures are registered for every test)."""

from tests.scenarios.relais import *  # noqa: F403
from tests.scenarios.relais import (  # noqa: F401
    CANTEEN,
    CUTOFF_UTC,
    MONDAY_MORNING,
    PARIS,
    PRICES_MAIN,
    RELAIS,
    TARIFFS,
    THURSDAY,
    THURSDAY_MENU,
    Canteen,
    Clock,
    clock,
    relais,
    setup_relais_canteen,
)
