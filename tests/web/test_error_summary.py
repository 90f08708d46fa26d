"""After a form is sent with errors: one summary at the top of the form (announced, focusable,
focused by a same-origin script), one link per field to the message beside that field."""

from __future__ import annotations

import html
import re

import pytest

from tests.scenarios.garden import MARCH_15, open_garden
from tests.web.helpers import post_form, sign_in
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def _summary(page: str) -> str:
    match = re.search(
        r'<div class="problem" role="alert" id="probleme" tabindex="-1"[^>]*>(.*?)</div>',
        page,
        re.S,
    )
    assert match, "no error summary"
    return match.group(1)


def _links_reach_their_fields(page: str) -> list[str]:
    targets = re.findall(r'<a href="#([\w.-]+)">', _summary(page))
    for target in targets:
        assert f'id="{target}"' in page, f"the summary links to #{target}, which is not on the page"
    return targets


def test_an_opening_rule_with_errors_links_each_field(client, world):
    garden = open_garden(client, world)
    sign_in(client, world.manager_a.email)
    schedule = f"/structures/ehpad-les-tilleuls/ressources/{garden['id']}/horaires"
    response = post_form(
        client,
        schedule,
        f"{schedule}/regles",
        {"start_time": "12:00", "end_time": "9:00", "valid_from": "2027-04-01"},
    )
    assert response.status_code in (400, 422)
    page = response.text
    targets = _links_reach_their_fields(page)
    assert targets, "each wrong field is linked from the summary"
    # The summary stands at the top of the form it is about, and the script that focuses it.
    form = page.index(f'action="{schedule}/regles"')
    assert form < page.index('id="probleme"') < page.index('id="f-start_time"')
    assert '<script src="/static/focus.js" defer></script>' in page


def test_registration_errors_link_to_their_fields(client, world):
    response = post_form(
        client,
        "/inscription",
        "/inscription",
        {"display_name": "", "email": "pas-une-adresse", "password": "x", "kind": "neighbour"},
    )
    assert response.status_code in (400, 422)
    targets = _links_reach_their_fields(response.text)
    assert targets
    assert html.unescape(_summary(response.text)).strip()


def test_a_refusal_about_one_field_is_said_once_in_the_summary(client, world):
    garden = open_garden(client, world)
    sign_in(client, world.neighbour.email)
    response = post_form(
        client,
        f"/ressources/{garden['id']}",
        f"/ressources/{garden['id']}/reserver",
        {"party_size": "1"},
    )
    summary = html.unescape(_summary(response.text))
    assert summary.count("Choisissez un créneau.") == 1
    assert '<a href="#f-slot-error">' in summary
