"""Domain exceptions: what a rule refused, with its messages. Rendered by ``api.problems``."""

from __future__ import annotations

from typing import Any, ClassVar

from tierslieu import i18n


class DomainError(Exception):
    """A rule of the field refused the request.

    Subclasses set ``code`` (the problem type slug) and ``status``; a subclass that
    introduces a new code also sets ``messages`` = {"fr": (title, detail), "en": (…)},
    with ``{param}`` placeholders filled from ``params``. They are registered in the
    i18n catalogue when the class is defined, so messages live beside their error.
    """

    code = "validation-error"
    status = 422
    messages: ClassVar[dict[str, tuple[str, str]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.messages:
            if set(cls.messages) != set(i18n.LANGUAGES):
                raise TypeError(f"{cls.__name__}.messages must have exactly {i18n.LANGUAGES}")
            i18n.PROBLEMS[cls.code] = dict(cls.messages)

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


class FieldError:
    """One invalid input field: where, and which message (translated at render time)."""

    __slots__ = ("field", "message_code", "params")

    def __init__(self, field: str, message_code: str, params: dict[str, Any] | None = None) -> None:
        self.field = field
        self.message_code = message_code
        self.params = params or {}


class InvalidInput(DomainError):
    code = "validation-error"
    status = 422

    def __init__(self, field: str, message_code: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(fields=[FieldError(field, message_code, params)])


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer realm="tierslieu"'})


class InvalidCredentials(DomainError):
    code = "invalid-credentials"
    status = 401


class TooManyAttempts(DomainError):
    code = "too-many-attempts"
    status = 429

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            {"minutes": max(1, round(retry_after_seconds / 60))},
            headers={"Retry-After": str(retry_after_seconds)},
        )


class TooManyRegistrations(DomainError):
    code = "too-many-registrations"
    status = 429
    messages: ClassVar[dict[str, tuple[str, str]] | None] = {
        "fr": (
            "Trop d'inscriptions",
            "Trop d'inscriptions depuis cette adresse. Réessayez dans {minutes} minutes.",
        ),
        "en": (
            "Too many registrations",
            "Too many registrations from this address. Try again in {minutes} minutes.",
        ),
    }

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            {"minutes": max(1, round(retry_after_seconds / 60))},
            headers={"Retry-After": str(retry_after_seconds)},
        )


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not-found"
    status = 404


class Conflict(DomainError):
    status = 409


class EmailTaken(Conflict):
    code = "email-taken"


class SlugTaken(Conflict):
    code = "slug-taken"


class LastManager(Conflict):
    code = "last-manager"


class AssetArchived(Conflict):
    code = "asset-archived"


class UnknownPerson(DomainError):
    code = "unknown-person"
    status = 422


# --- personal data (RGPD) ---------------------------------------------------------


class PasswordNotConfirmed(DomainError):
    code = "password-not-confirmed"
    status = 403
    messages = {
        "fr": (
            "Mot de passe incorrect",
            "Le mot de passe ne correspond pas : le compte n'a pas été supprimé.",
        ),
        "en": ("Wrong password", "The password does not match: the account was not deleted."),
    }


class LastPlatformAdmin(Conflict):
    code = "last-admin"
    messages = {
        "fr": (
            "Dernier administrateur",
            "Vous êtes le dernier administrateur de la plateforme : créez-en un autre "
            "(`tierslieu create-admin`) avant de supprimer votre compte.",
        ),
        "en": (
            "Last administrator",
            "You are the platform's last administrator: create another one "
            "(`tierslieu create-admin`) before deleting your account.",
        ),
    }


class LastManagerOf(Conflict):
    code = "last-manager-of"
    messages = {
        "fr": (
            "Dernier responsable",
            "Vous êtes le dernier responsable de : {structures}. Nommez un autre responsable "
            "dans chacune avant de supprimer votre compte.",
        ),
        "en": (
            "Last manager",
            "You are the last manager of: {structures}. Appoint another manager in each "
            "before deleting your account.",
        ),
    }


class NotAGuest(Conflict):
    code = "not-a-guest"
    messages = {
        "fr": (
            "Pas une personne invitée",
            "Cette réservation appartient à un compte : seule la personne peut supprimer son "
            "compte (« Mon compte »).",
        ),
        "en": (
            "Not a guest",
            "This belongs to an account: only its owner can delete it (« Mon compte »).",
        ),
    }
