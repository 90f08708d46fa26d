"""Domain exceptions: what a rule refused, and how to say it. Rendered by ``api.problems``.

Every refusal is a class with ``code`` (the problem type slug), ``status``, and two French
msgids marked with ``N_``: ``title`` and ``detail`` (``{param}`` placeholders). Parameters
carry codes, numbers, dates and user data, never French words: :func:`render_problem`
formats them in the reader's language when the problem is shown (``formats`` names the
label table of a code, or how a date is written). A refusal whose detail depends on a
count overrides :meth:`DomainError.describe` and uses ``_.ngettext``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, ClassVar

from tierslieu import i18n
from tierslieu.i18n import N_, Texts


class DomainError(Exception):
    """A rule of the field refused the request (the base: invalid input)."""

    code = "validation-error"
    status = 422
    title: ClassVar[str] = N_("Saisie à corriger")
    detail: ClassVar[str] = N_(
        "Certaines valeurs sont à corriger : voyez le message de chaque champ."
    )
    # How a parameter is shown: "label:<table>" (a code), "labels:<table>" (a list of codes),
    # "date", "moment" (date and time), "time", "money" (cents). Others are shown as given.
    formats: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        *,
        fields: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(self.code)
        self.params = params or {}
        self.fields = fields or []
        self.extra = extra or {}
        self.headers = headers or {}

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        """The detail in ``_``'s language; ``params`` are already formatted (numbers stay numbers)."""
        return _(cls.detail, **params)


class FieldError:
    """One invalid input field: where, and which message (translated at render time)."""

    __slots__ = ("field", "message_code", "params")

    def __init__(self, field: str, message_code: str, params: dict[str, Any] | None = None) -> None:
        self.field = field
        self.message_code = message_code
        self.params = params or {}


# --- rendering ---------------------------------------------------------------------------


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def problem_classes() -> list[type[DomainError]]:
    """Every refusal class that names a problem (its own ``code``), the base first."""
    _import_all()
    return [DomainError, *(c for c in _subclasses(DomainError) if "code" in c.__dict__)]


def _import_all() -> None:
    # The refusals defined beside their rules: imported so that a code shown before its
    # module was used (a web page, a test) still finds its texts.
    import tierslieu.calendar.errors
    import tierslieu.domain.bookings
    import tierslieu.domain.horizon
    import tierslieu.domain.series
    import tierslieu.runtime
    import tierslieu.services.canteen_errors
    import tierslieu.services.idempotency  # noqa: F401


@lru_cache(maxsize=1)
def _by_code() -> dict[str, type[DomainError]]:
    found: dict[str, type[DomainError]] = {}
    for cls in problem_classes():
        found.setdefault(cls.code, cls)
    return found


def problem_class(code: str) -> type[DomainError]:
    """The class that names ``code`` (an unknown code: an internal error)."""
    return _by_code().get(code) or _by_code()["internal-error"]


def format_params(
    lang: str, formats: dict[str, str], params: dict[str, Any] | None
) -> dict[str, Any]:
    """``params`` as the reader of ``lang`` reads them: labels, dates, money; numbers kept."""
    from tierslieu import labels, templating

    shown: dict[str, Any] = {}
    tz = (params or {}).get("tz")
    for name, value in (params or {}).items():
        how = formats.get(name, "")
        kind, _, table = how.partition(":")
        if kind == "label":
            shown[name] = labels.label(lang, table, str(value))
        elif kind == "labels":
            shown[name] = labels.joined(lang, table, value)
        elif kind == "money" and isinstance(value, int):
            shown[name] = templating.money(value, lang)
        elif kind == "time" and isinstance(value, dt.datetime):
            shown[name] = templating.clock(value, lang, tz)
        elif isinstance(value, dt.datetime):
            shown[name] = templating.moment(value, lang, tz)
        elif isinstance(value, dt.date):
            shown[name] = templating.long_date(value, lang)
        else:
            shown[name] = value
    return shown


def render_problem(
    code: str | DomainError | type[DomainError], lang: str, params: dict[str, Any] | None = None
) -> tuple[str, str]:
    """(title, detail) of a problem in ``lang``, its parameters formatted for that reader."""
    if isinstance(code, DomainError):
        cls: type[DomainError] = type(code)
        params = code.params if params is None else params
    elif isinstance(code, type):
        cls = code
    else:
        cls = problem_class(code)
    _ = i18n.texts(lang)
    shown = format_params(lang, cls.formats, params)
    return _(cls.title), cls.describe(_, shown)


def one_line(lang: str, title: str, detail: str) -> str:
    """« Titre : détail » on one line (a flash message): no capital after the colon
    (UX review §7.9), except for a word in capitals such as « EHPAD »."""
    if detail[:1].isupper() and not detail[1:2].isupper():
        detail = detail[0].lower() + detail[1:]
    return i18n.gettext(lang, _ONE_LINE, title=title, detail=detail)


_ONE_LINE = N_("{title} : {detail}")


# --- the refusals common to every feature ------------------------------------------------


class InvalidInput(DomainError):
    """One field is refused; its message says what to correct."""

    def __init__(self, field: str, message_code: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(fields=[FieldError(field, message_code, params)])


class MalformedBody(DomainError):
    code = "malformed-body"
    status = 400
    title = N_("Requête illisible")
    detail = N_("Le corps de la requête n'est pas un JSON valide.")


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    title = N_("Connexion requise")
    detail = N_("Connectez-vous pour continuer (jeton absent, invalide ou expiré).")

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer realm="tierslieu"'})


class InvalidCredentials(DomainError):
    code = "invalid-credentials"
    status = 401
    title = N_("Identifiants incorrects")
    detail = N_("L'adresse e-mail ou le mot de passe est incorrect.")


def _minutes(retry_after_seconds: int) -> int:
    return max(1, round(retry_after_seconds / 60))


class TooManyAttempts(DomainError):
    code = "too-many-attempts"
    status = 429
    title = N_("Trop de tentatives")
    detail = N_("Trop de tentatives de connexion échouées. Réessayez dans {minutes} minutes.")

    def __init__(self, retry_after_seconds: int = 60) -> None:
        super().__init__(
            {"minutes": _minutes(retry_after_seconds)},
            headers={"Retry-After": str(retry_after_seconds)},
        )

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        return _.ngettext(
            "Trop de tentatives de connexion échouées. Réessayez dans {n} minute.",
            "Trop de tentatives de connexion échouées. Réessayez dans {n} minutes.",
            int(params.get("minutes", 1)),
        )


class TooManyRegistrations(DomainError):
    code = "too-many-registrations"
    status = 429
    title = N_("Trop d'inscriptions")
    detail = N_("Trop d'inscriptions depuis cette adresse. Réessayez dans {minutes} minutes.")

    def __init__(self, retry_after_seconds: int = 60) -> None:
        super().__init__(
            {"minutes": _minutes(retry_after_seconds)},
            headers={"Retry-After": str(retry_after_seconds)},
        )

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        return _.ngettext(
            "Trop d'inscriptions depuis cette adresse. Réessayez dans {n} minute.",
            "Trop d'inscriptions depuis cette adresse. Réessayez dans {n} minutes.",
            int(params.get("minutes", 1)),
        )


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = N_("Accès refusé")
    detail = N_("Vous n'avez pas les droits nécessaires pour cette action.")


class NotFound(DomainError):
    code = "not-found"
    status = 404
    title = N_("Introuvable")
    detail = N_("La ressource demandée n'existe pas.")


class MethodNotAllowed(DomainError):
    code = "method-not-allowed"
    status = 405
    title = N_("Méthode non autorisée")
    detail = N_("Cette méthode n'est pas acceptée à cette adresse.")


class PayloadTooLarge(DomainError):
    code = "payload-too-large"
    status = 413
    title = N_("Requête trop volumineuse")
    detail = N_("Le corps de la requête dépasse la taille autorisée.")


class UnsupportedMediaType(DomainError):
    code = "unsupported-media-type"
    status = 415
    title = N_("Format non pris en charge")
    detail = N_("Ce format de contenu n'est pas accepté.")


class InternalError(DomainError):
    code = "internal-error"
    status = 500
    title = N_("Erreur interne")
    detail = N_("Une erreur inattendue s'est produite ; rien n'a été enregistré.")


class InvalidData(DomainError):
    code = "invalid-data"
    status = 422
    title = N_("Caractère refusé")
    detail = N_(
        "Une valeur envoyée contient un caractère qui ne peut pas être enregistré "
        "(caractère nul ou de contrôle) : retirez-le."
    )


class ServiceUnavailable(DomainError):
    code = "service-unavailable"
    status = 503
    title = N_("Service indisponible")
    detail = N_("La base de données ne répond pas.")


class Conflict(DomainError):
    """A refusal because of the current state (409); each subclass names its problem."""

    status = 409


class EmailTaken(Conflict):
    code = "email-taken"
    title = N_("Adresse déjà utilisée")
    detail = N_("Un compte existe déjà avec cette adresse e-mail.")


class SlugTaken(Conflict):
    code = "slug-taken"
    title = N_("Identifiant déjà pris")
    detail = N_("Une structure utilise déjà l'identifiant « {slug} ».")


class LastManager(Conflict):
    code = "last-manager"
    title = N_("Dernier responsable")
    detail = N_("La structure doit garder au moins un responsable : nommez-en un autre d'abord.")


class AssetArchived(Conflict):
    code = "asset-archived"
    title = N_("Ressource archivée")
    detail = N_("Cette ressource est archivée et ne peut plus être modifiée.")


class UnknownPerson(DomainError):
    code = "unknown-person"
    status = 422
    title = N_("Personne inconnue")
    detail = N_(
        "Aucun compte n'existe avec l'adresse {email} : la personne doit d'abord s'inscrire."
    )


# --- personal data (RGPD) ---------------------------------------------------------


class PasswordNotConfirmed(DomainError):
    code = "password-not-confirmed"
    status = 403
    title = N_("Mot de passe incorrect")
    detail = N_("Le mot de passe ne correspond pas : le compte n'a pas été supprimé.")


class LastPlatformAdmin(Conflict):
    code = "last-admin"
    title = N_("Dernier administrateur")
    detail = N_(
        "Vous êtes le dernier administrateur de la plateforme : créez-en un autre "
        "(`tierslieu create-admin`) avant de supprimer votre compte."
    )


class LastManagerOf(Conflict):
    code = "last-manager-of"
    title = N_("Dernier responsable")
    detail = N_(
        "Vous êtes le dernier responsable de : {structures}. Nommez un autre responsable "
        "dans chacune avant de supprimer votre compte."
    )


class NotAGuest(Conflict):
    code = "not-a-guest"
    title = N_("Pas une personne invitée")
    detail = N_(
        "Cette réservation appartient à un compte : seule la personne peut supprimer son "
        "compte (« Mon compte »)."
    )
