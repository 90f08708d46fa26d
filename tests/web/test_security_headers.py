"""Security headers on every kind of response (review D8, D16, I-1, I-2).

Pages and printable sheets may not be framed, load only same-origin resources (no inline
script or style), are never sniffed; pages whose URL or content holds a secret send no
Referer at all; the OpenAPI pages load no third-party script; over https every cookie,
the CSRF one included, is Secure; problem details never reflect raw markup.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import World
from tests.scenarios.relais import Canteen
from tests.web.helpers import sign_in
from tierslieu.app import create_app

PAGE_CSP = "default-src 'self'; frame-ancestors 'none'"


def assert_page_headers(response: Any, referrer: str = "same-origin") -> None:
    csp = response.headers.get("content-security-policy", "")
    assert csp.startswith(PAGE_CSP), (response.url, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == referrer
    # Nothing the CSP would have to allow: no inline style or script, no foreign resource.
    html = response.text
    # Scripts only as same-origin files (progressive enhancement), never inline code.
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert all(not body.strip() for body in scripts)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert re.fullmatch(r'<script src="/static/[\w-]+\.js" defer>', tag), tag
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    # (plain <a href> links to other sites, e.g. OpenStreetMap, load nothing)
    assert not re.search(r"""\ssrc=["'](?:https?:)?//""", html)
    assert not re.search(r"""<link\b[^>]*\shref=["'](?:https?:)?//""", html)


def assert_data_headers(response: Any, referrer: str = "same-origin") -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == referrer


def test_every_page_kind_sends_the_security_headers(client: TestClient[Any], world: World) -> None:
    assert_page_headers(client.get("/"))
    assert_page_headers(client.get("/connexion"))
    assert_page_headers(client.get(f"/ressources/{world.garden['id']}"))
    # Error pages: unknown structure (404 page), CSRF refusal (403 page).
    missing = client.get("/structures/nulle-part/tableau", follow_redirects=False)
    assert missing.status_code == 303  # to the login page
    assert missing.headers["x-frame-options"] == "DENY"
    forged = client.post("/connexion", data={"email": "x@y.z", "password": "x"})
    assert forged.status_code == 403
    assert_page_headers(forged, "same-origin")
    sign_in(client, world.staff_a.email)
    # /mes-reservations shows the private calendar link once: no Referer from there.
    assert_page_headers(client.get("/mes-reservations"), "no-referrer")
    # Staff pages can show a one-time staff feed link or voucher code.
    board = client.get("/structures/ehpad-les-tilleuls/tableau")
    assert board.status_code == 200
    assert_page_headers(board, "no-referrer")
    not_found = client.get("/structures/nulle-part/tableau")
    assert not_found.status_code == 404
    assert_page_headers(not_found, "no-referrer")


def test_sheets_under_the_api_are_pages_too(client: TestClient[Any], relais: Canteen) -> None:
    world = relais.world
    chef = relais.chef
    sheet = client.get(
        f"/api/meal-services/{relais.service['id']}/kitchen-sheet?format=html",
        headers=chef.headers,
    )
    assert sheet.status_code == 200
    assert_page_headers(sheet)
    assert '<link rel="stylesheet" href="/static/kitchen-sheet.css">' in sheet.text
    assert client.get("/static/kitchen-sheet.css").status_code == 200
    csv = client.get(
        f"/api/meal-services/{relais.service['id']}/kitchen-sheet?format=csv",
        headers=chef.headers,
    )
    assert_data_headers(csv)
    day = client.get(
        f"/api/assets/{world.garden['id']}/day-sheet?date=2026-12-01",
        headers=world.staff_a.headers,
    )
    assert day.status_code == 200
    assert_page_headers(day)
    assert client.get("/static/day-sheet.css").status_code == 200


def test_api_answers_and_problems_are_never_sniffed(client: TestClient[Any], world: World) -> None:
    listing = client.get("/api/assets")
    assert listing.status_code == 200
    assert_data_headers(listing)
    problem = client.get("/api/structures/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert_data_headers(problem)
    # I-2: the instance is the percent-encoded path, never raw markup.
    assert problem.json()["instance"] == "/api/structures/%3Cscript%3Ealert%281%29%3C/script%3E"
    assert "<script>" not in problem.text
    unknown = client.get("/nulle/part/%3Cb%3E")
    assert unknown.status_code == 404
    assert_data_headers(unknown)
    assert "<b>" not in unknown.text


def test_feeds_send_no_referrer(client: TestClient[Any], world: World) -> None:
    feed = client.get(f"/ical/assets/{world.garden['id']}.ics")
    assert feed.status_code == 200
    assert_data_headers(feed, "no-referrer")
    issued = client.post("/api/me/feed-token", headers=world.neighbour.headers)
    assert issued.status_code in (200, 201), issued.text
    assert_data_headers(issued, "no-referrer")


def test_schema_pages_load_no_third_party_script(client: TestClient[Any]) -> None:
    index = client.get("/schema")
    assert index.status_code == 200
    assert_page_headers(index)
    assert "/api/bookings" in index.text and "/schema/openapi.json" in index.text
    assert client.get("/schema/openapi.json").json()["info"]["title"] == "tierslieu"
    for path in ("/schema/swagger", "/schema/redoc", "/schema/elements", "/schema/rapidoc"):
        response = client.get(path)
        assert '<script src="http' not in response.text
        assert "cdn." not in response.text
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("base_url", ["https://testserver.local"])
def test_over_https_the_csrf_cookie_is_secure_like_the_session(
    settings: Any, world: World, base_url: str
) -> None:
    """I-1: the public URL is http (a proxy terminates TLS), the request itself is https."""
    assert not settings.public_url.startswith("https://")
    with TestClient(app=create_app(settings), base_url=base_url) as https_client:
        page = https_client.get("/connexion")
        csrf = [c for c in page.headers.get_list("set-cookie") if c.startswith("tl_csrf=")]
        assert csrf and all("; Secure" in c for c in csrf), csrf
        signed_in = sign_in(https_client, world.neighbour.email)
        cookies = signed_in.headers.get_list("set-cookie")
        session = [c for c in cookies if c.startswith("tl_session=")]
        assert session and "Secure" in session[0]
        assert all("Secure" in c for c in cookies), cookies
    with TestClient(app=create_app(settings)) as plain:
        page = plain.get("/connexion")
        csrf = [c for c in page.headers.get_list("set-cookie") if c.startswith("tl_csrf=")]
        assert csrf and "Secure" not in csrf[0]
