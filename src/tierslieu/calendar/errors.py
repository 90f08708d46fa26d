"""What can go wrong with an uploaded calendar (French msgids, translated when shown)."""

from __future__ import annotations

from typing import Any

from tierslieu.errors import DomainError
from tierslieu.i18n import N_, Texts

# Why a file is not a calendar, by code (other reasons are the parser's own words).
REASONS = {
    "not-utf8": N_("encodage autre que UTF-8"),
    "no-vcalendar": N_("BEGIN:VCALENDAR absent"),
    "vcalendar-expected": N_("VCALENDAR attendu"),
    "vevent-without-dtstart": N_("VEVENT sans DTSTART"),
    "dtstart-unreadable": N_("DTSTART illisible"),
}


class CalendarTooLarge(DomainError):
    code = "calendar-too-large"
    status = 413
    title = N_("Fichier trop volumineux")
    detail = N_("Le fichier .ics dépasse {limit_kb} Ko : exportez une période plus courte.")


class MalformedCalendar(DomainError):
    code = "calendar-malformed"
    status = 422
    title = N_("Calendrier illisible")
    detail = N_("Le fichier n'est pas un calendrier iCalendar (.ics) valide : {reason}.")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        reason = str(params.get("reason", ""))
        return _(cls.detail, reason=_(REASONS[reason]) if reason in REASONS else reason)


class UnknownTimezone(DomainError):
    code = "calendar-unknown-timezone"
    status = 422
    title = N_("Fuseau horaire inconnu")
    detail = N_("Le calendrier utilise un fuseau horaire inconnu et non décrit : {tzids}.")


class TooManyOccurrences(DomainError):
    code = "calendar-too-many-occurrences"
    status = 422
    title = N_("Trop de fermetures")
    detail = N_("Le calendrier produit plus de {limit} fermetures sur la période importée.")


class TooManyComponents(DomainError):
    code = "calendar-too-many-components"
    status = 422
    title = N_("Calendrier trop chargé")
    detail = N_("Le fichier contient plus de {limit} éléments : exportez une période plus courte.")


class RecurrenceTooCostly(DomainError):
    """Refused before any expansion: a repetition rule would generate too many instances."""

    code = "calendar-recurrence-too-costly"
    status = 422
    title = N_("Répétition trop coûteuse")
    detail = N_(
        "Une règle de répétition (RRULE) produirait plus de {limit} occurrences depuis "
        "son début (DTSTART) : donnez-lui une fin proche (COUNT ou UNTIL), une fréquence "
        "d'au moins un jour, ou un début plus récent."
    )
