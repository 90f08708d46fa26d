"""Helpers for web page tests: read the CSRF field, post forms like a browser would."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from tests.conftest import PASSWORD

CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def post_form(client: TestClient[Any], page_url: str, action: str, data: dict[str, Any]) -> Any:
    """GET the page holding the form (sets the CSRF cookie), then POST with its token."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(
        action, data={**data, "_csrf_token": csrf_of(page.text)}, follow_redirects=False
    )


def sign_in(client: TestClient[Any], email: str, password: str = PASSWORD) -> Any:
    response = post_form(
        client, "/connexion", "/connexion", {"email": email, "password": password, "next": ""}
    )
    assert response.status_code == 303, response.text
    return response
