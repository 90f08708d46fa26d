"""Renderer: the staff digest — new booking requests await approval.

One per manager or staff member, per structure and UTC hour, sent at the end of the hour
(``services/notify.staff_digest``). It is written by the hour's first request and not
updated by the next ones, so it gives no count: it says that requests arrived during that
hour and links to the dashboard, which lists the ones still waiting when staff look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tierslieu import i18n
from tierslieu.domain.notifications import Kind
from tierslieu.services.mail import Mail, renderer
from tierslieu.services.mail.layout import Body, compose, greeting, link, when
from tierslieu.settings import Settings
from tierslieu.templating import clock, long_date


@renderer(Kind.STAFF_DIGEST)
def staff_digest(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    tz = params["timezone"]
    hour = when(params["hour"])
    ends = hour + dt.timedelta(hours=1)
    structure = params["structure"]
    body = Body(
        greeting=greeting(lang, params.get("name")),
        paragraphs=[
            _(
                "De nouvelles demandes de réservation attendent votre accord à {structure} "
                "(reçues le {date} entre {start} et {end}).",
                structure=structure,
                date=long_date(hour, lang, tz),
                start=clock(hour, lang, tz),
                end=clock(ends, lang, tz),
            ),
            _(
                "Le tableau de bord les liste : acceptez-les ou refusez-les, la personne "
                "est prévenue aussitôt."
            ),
        ],
        link_text=_("Ouvrir le tableau de bord"),
        link_url=link(settings, params["path"]),
        footer=[
            _(
                "Vous recevez ce résumé au plus une fois par heure, parce que vous êtes "
                "membre de l'équipe de {structure}.",
                structure=structure,
            )
        ],
    )
    subject = _("Demandes de réservation à examiner : {structure}", structure=structure)
    return compose(subject, body, lang)
