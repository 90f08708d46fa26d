"""Browser tests: Debian's Chromium driven by Playwright against a real server on loopback.

Nothing downloads a browser: Playwright is pointed at ``/usr/bin/chromium``. Without it
(or without the ``playwright`` package) every test here is skipped with the reason.
One Chromium per module, a new browser context per test. Each page visited is audited with
axe-core (no serious or critical violation allowed) and photographed, full length, at phone
(390 px) and desktop width into ``tests/screenshots/run/`` (every run; ignored by git).
With ``TIERSLIEU_SCREENSHOTS=update`` the pages named in ``CURATED`` are also written, one
screen high, to ``tests/screenshots/`` itself: the small set kept in the repository to show
the pages (see tests/screenshots/README.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import World
from tests.server_process import running_server

CHROMIUM = os.environ.get("TIERSLIEU_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
RUN_SCREENSHOTS = SCREENSHOTS / "run"
# The pages kept in the repository, each at the width that shows it best ("390" or "desktop").
CURATED = {
    "agenda-semaine": "desktop",
    "confirmation-annulation": "390",
    "horaires-erreurs": "desktop",
    "feuille-du-jour": "desktop",
    "cantine-jour-390": "390",
    "cantine-confirmation-390": "390",
    "ressource-390": "390",
    "ressource-choix-garde": "390",
    "cantine-feuille-de-production": "desktop",
}
PARIS = ZoneInfo("Europe/Paris")


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    for module in ("playwright", "axe_playwright_python"):
        if importlib.util.find_spec(module) is None:
            return f"browser tests need the {module} package (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(pytest.mark.slow)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def server(settings, world: World) -> Iterator[str]:
    """The world is created first (through the API on the same database), then the server."""
    with running_server(settings) as base_url:
        yield base_url


# One Chromium per module, a new browser context (its own cookies, storage and cache, as a
# fresh browser) per test. Playwright's sync API runs its event loop in this thread and
# leaves it marked as running between calls, which makes ``asyncio.run`` (used by the
# database fixtures: ``settings``, ``world``, ``run_db``) refuse to start. So the loop is
# marked as running only while the test body runs and around the Playwright calls of the
# fixtures below; fixture setup and teardown run without it. Inside a test, database
# helpers still go through ``off_loop``.
_PLAYWRIGHT_LOOP: dict[str, asyncio.AbstractEventLoop] = {}


@contextmanager
def _playwright_loop() -> Iterator[None]:
    """Mark Playwright's loop as running (as its sync API expects) for the block."""
    asyncio._set_running_loop(_PLAYWRIGHT_LOOP.get("loop"))
    try:
        yield
    finally:
        asyncio._set_running_loop(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    asyncio._set_running_loop(None)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _playwright_loop():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    asyncio._set_running_loop(None)
    yield
    asyncio._set_running_loop(None)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Chromium, launched once for the module's tests."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    except BaseException:
        playwright.stop()
        asyncio._set_running_loop(None)
        raise
    _PLAYWRIGHT_LOOP["loop"] = asyncio.get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield browser
    finally:
        with _playwright_loop():
            try:
                browser.close()
            finally:
                playwright.stop()
        _PLAYWRIGHT_LOOP.pop("loop", None)


@pytest.fixture
def page(chromium, server) -> Iterator[Any]:
    """A new browser context (fresh cookies and storage) and page per test, opened after the
    database fixtures and the server."""
    with _playwright_loop():
        context = chromium.new_context(
            base_url=server, viewport={"width": 1280, "height": 900}, locale="fr-FR"
        )
        context.set_default_timeout(15_000)
        new_page = context.new_page()
    try:
        yield new_page
    finally:
        with _playwright_loop():
            context.close()


def off_loop(work: Any, *args: Any) -> Any:
    """Run ``work(*args)`` (which may call ``asyncio.run``) in another thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work, *args).result()


def local_now() -> dt.datetime:
    return dt.datetime.now(PARIS)


def open_garden_daily(base_url: str, world: World) -> dt.date:
    """Open the garden every day 09:00–12:00 (1-hour slots) from today; return tomorrow."""
    today = local_now().date()
    response = httpx.post(
        f"{base_url}/api/assets/{world.garden['id']}/availability",
        json={
            "weekdays": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "09:00",
            "end_time": "12:00",
            "valid_from": today.isoformat(),
            "slot_minutes": 60,
        },
        headers=world.staff_a.headers,
    )
    assert response.status_code == 201, response.text
    return today + dt.timedelta(days=1)


def api_book(
    base_url: str,
    person: Any,
    asset_id: str,
    day: dt.date,
    hour: int,
    size: int,
    guest: str | None = None,
) -> Any:
    """POST /api/bookings; staff name the person they book for (``guest``)."""
    starts = dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS)
    return httpx.post(
        f"{base_url}/api/bookings",
        json={
            "asset_id": asset_id,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + dt.timedelta(hours=1)).isoformat(),
            "party_size": size,
            **({"guest": {"name": guest}} if guest else {}),
        },
        headers=person.headers,
    )


AUDITED: set[str] = set()


def check_page(page: Any, name: str, show: str | None = None) -> None:
    """axe-core audit (no serious or critical violation) and screenshots at 390 px and desktop;
    ``show``: a selector scrolled to the top of the screen for the curated one-screen shot."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(n.get("target")) for n in v.get("nodes", [])[:5])
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]
    assert not bad, f"accessibility violations on {name} ({page.url}):\n" + "\n".join(bad)
    AUDITED.add(name)
    RUN_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    keep = CURATED.get(name) if os.environ.get("TIERSLIEU_SCREENSHOTS") == "update" else None
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    results_phone = Axe().run(page)
    bad_phone = [
        f"{v['id']} ({v['impact']})"
        for v in results_phone.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]
    assert not bad_phone, f"accessibility violations on {name} at 390 px: {bad_phone}"
    page.screenshot(path=str(RUN_SCREENSHOTS / f"{name}-390.png"), full_page=True)
    if keep == "390":
        _scroll_to(page, show)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(RUN_SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    if keep == "desktop":
        _scroll_to(page, show)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    if size:
        page.set_viewport_size(size)


def _scroll_to(page: Any, selector: str | None) -> None:
    if selector:
        page.locator(selector).first.evaluate("e => e.scrollIntoView({block: 'start'})")


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
