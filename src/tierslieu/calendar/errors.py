"""What can go wrong with an uploaded calendar, in both languages."""

from __future__ import annotations

from tierslieu.errors import DomainError


class CalendarTooLarge(DomainError):
    code = "calendar-too-large"
    status = 413
    messages = {
        "fr": (
            "Fichier trop volumineux",
            "Le fichier .ics dépasse {limit_kb} Ko : exportez une période plus courte.",
        ),
        "en": (
            "File too large",
            "The .ics file is larger than {limit_kb} KB: export a shorter period.",
        ),
    }


class MalformedCalendar(DomainError):
    code = "calendar-malformed"
    status = 422
    messages = {
        "fr": (
            "Calendrier illisible",
            "Le fichier n'est pas un calendrier iCalendar (.ics) valide : {reason}.",
        ),
        "en": (
            "Unreadable calendar",
            "The file is not a valid iCalendar (.ics) file: {reason}.",
        ),
    }


class UnknownTimezone(DomainError):
    code = "calendar-unknown-timezone"
    status = 422
    messages = {
        "fr": (
            "Fuseau horaire inconnu",
            "Le calendrier utilise un fuseau horaire inconnu et non décrit : {tzids}.",
        ),
        "en": (
            "Unknown time zone",
            "The calendar uses a time zone that is neither known nor described: {tzids}.",
        ),
    }


class TooManyOccurrences(DomainError):
    code = "calendar-too-many-occurrences"
    status = 422
    messages = {
        "fr": (
            "Trop de fermetures",
            "Le calendrier produit plus de {limit} fermetures sur la période importée.",
        ),
        "en": (
            "Too many closures",
            "The calendar yields more than {limit} closures over the imported period.",
        ),
    }


class TooManyComponents(DomainError):
    code = "calendar-too-many-components"
    status = 422
    messages = {
        "fr": (
            "Calendrier trop chargé",
            "Le fichier contient plus de {limit} éléments : exportez une période plus courte.",
        ),
        "en": (
            "Calendar too busy",
            "The file holds more than {limit} components: export a shorter period.",
        ),
    }


class RecurrenceTooCostly(DomainError):
    """Refused before any expansion: a repetition rule would generate too many instances."""

    code = "calendar-recurrence-too-costly"
    status = 422
    messages = {
        "fr": (
            "Répétition trop coûteuse",
            "Une règle de répétition (RRULE) produirait plus de {limit} occurrences depuis son "
            "début (DTSTART) : donnez-lui une fin proche (COUNT ou UNTIL), une fréquence d'au "
            "moins un jour, ou un début plus récent.",
        ),
        "en": (
            "Repetition too costly",
            "A repetition rule (RRULE) would yield more than {limit} occurrences from its "
            "start (DTSTART): give it a near end (COUNT or UNTIL), a frequency of at least "
            "one day, or a later start.",
        ),
    }
