"""« Courriels » (/admin/courriels): the platform admin sees what was kept, sent or failed."""

from __future__ import annotations

from tests.integration.test_delivery import (  # noqa: F401 (an autouse fixture)
    _enqueue,
    registered_test_renderer,
)
from tests.mailbox import deliver_now
from tests.notifications.helpers import clear_outbox
from tests.web.helpers import sign_in


def test_admin_reads_kept_messages_others_are_refused(client, world, settings):
    clear_outbox(settings)  # the world's registrations queued address confirmations
    _enqueue(settings, 2)
    deliver_now(settings)  # no SMTP server configured: kept
    assert client.get("/admin/courriels", follow_redirects=False).status_code in (302, 303)
    sign_in(client, world.neighbour.email)
    refused = client.get("/admin/courriels")
    assert refused.status_code == 403
    assert "Accès refusé" in refused.text
    client.cookies.clear()
    sign_in(client, world.admin.email)
    page = client.get("/admin/courriels")
    assert page.status_code == 200
    assert "Aucun serveur SMTP" in page.text
    assert "Réservation confirmée n° 1" in page.text
    assert "personne0@exemple.test" in page.text
    assert "votre réservation n° 0 est confirmée" in page.text  # the text of a kept message
    assert "Gardés (2)" in page.text
    assert "Réservation confirmée" not in client.get("/admin/courriels?statut=failed").text
    assert client.get("/admin/courriels?statut=nimporte").status_code == 400
    assert client.get("/admin/courriels?page=100000").status_code == 400
    client.get("/langue/en?next=/admin/courriels")
    assert "No SMTP server" in client.get("/admin/courriels").text
