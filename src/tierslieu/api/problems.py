"""The one mapping from exceptions to RFC 9457 problem details, in the caller's language."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import msgspec
from asyncpg import PostgresError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError

from tierslieu import i18n
from tierslieu.errors import DomainError, FieldError, render_problem
from tierslieu.runtime import for_log

logger = logging.getLogger("tierslieu")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://tierslieu.org/problems/"


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details; some problems add members (e.g. ``remaining``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[FieldProblem] | msgspec.UnsetType = msgspec.UNSET


_PROBLEM_STATUSES = {
    400: "Malformed request or header (problem details)",
    401: "Not signed in, or the token is invalid (problem details)",
    403: "Signed in without the right for this action (problem details)",
    404: "Does not exist, or the caller may not know it exists (problem details)",
    409: "Conflict with the current state (problem details)",
    413: "Request body too large (problem details)",
    422: "Invalid input or a broken rule (problem details)",
    429: "Too many attempts or active items (problem details)",
}


def document_problems(app: Any) -> None:
    """Declare the problem-details answers on every operation, for clients and schemathesis."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            path = next(iter(handler.paths), "")
            if path.startswith("/schema"):
                continue
            documented = {
                status: ResponseSpec(
                    data_container=ProblemDetails,
                    description=description,
                    media_type=PROBLEM_MEDIA_TYPE,
                    generate_examples=False,
                )
                for status, description in _PROBLEM_STATUSES.items()
            }
            documented.update(handler.responses or {})
            handler.responses = documented


def request_language(request: Request[Any, Any, Any]) -> str:
    return i18n.negotiate(request.headers.get("accept-language"))


def problem_response(
    request: Request[Any, Any, Any],
    *,
    code: str,
    status: int,
    params: dict[str, Any] | None = None,
    fields: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    lang = request_language(request)
    title, detail = render_problem(code, lang, params)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": quote(request.url.path),  # percent-encoded, never raw markup (I-2)
        "code": code,
    }
    if fields:
        body["errors"] = [
            {"field": f.field, "message": i18n.field_message(f.message_code, lang, f.params)}
            for f in fields
        ]
    if extra:
        body.update(extra)
    response_headers = {"Content-Language": lang, **(headers or {})}
    return Response(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=response_headers
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem_response(
        request,
        code=exc.code,
        status=exc.status,
        params=exc.params,
        fields=exc.fields,
        extra=exc.extra,
        headers=exc.headers,
    )


_FIELD_IN_KEY = re.compile(r"\$\.(?P<path>[\w.\[\]]+)")
_NESTED_KEY = re.compile(r"` - at `\$\.?")


def handle_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    """Litestar's 400 for bad parameters and bodies becomes 422 with translated fields."""
    detail = str(exc.detail or "")
    if "Malformed JSON" in detail or "JSON is malformed" in detail or _is_decode_error(exc):
        return problem_response(request, code="malformed-body", status=400)
    fields: list[FieldError] = []
    for item in exc.extra or []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        code, params, named_field = i18n.translate_validation(message)
        key = item.get("key") or named_field or ""
        # A nested error arrives as "name` - at `$.guest": the innermost field comes first.
        key = ".".join(reversed(_NESTED_KEY.split(key)))
        path_match = _FIELD_IN_KEY.search(message)
        if named_field and key in {"", "data"}:
            key = named_field
        elif path_match and key in {"", "data"}:
            key = path_match.group("path")
        elif named_field and path_match:
            key = f"{path_match.group('path')}.{named_field}"
        fields.append(FieldError(str(key), code, params))
    if not fields:
        fields.append(FieldError("", "invalid"))
    return problem_response(request, code="validation-error", status=422, fields=fields)


def _is_decode_error(exc: ValidationException) -> bool:
    for item in exc.extra or []:
        if isinstance(item, dict) and "JSON is malformed" in str(item.get("message", "")):
            return True
    return False


_STATUS_CODES = {
    400: "malformed-body",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "too-many-attempts",
    503: "service-unavailable",
}


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        logger.error("HTTP %s on %s: %s", status, for_log(request.url.path), for_log(exc.detail))
    code = _STATUS_CODES.get(status, "internal-error" if status >= 500 else "validation-error")
    headers = dict(exc.headers or {})
    return problem_response(request, code=code, status=status, headers=headers)


def handle_database_error(
    request: Request[Any, Any, Any], exc: DBAPIError | PostgresError
) -> Response[Any]:
    """A data exception (SQLSTATE class 22, e.g. a NUL byte in a query parameter) is the
    caller's input, not our failure: 422, and the transaction was rolled back. Through
    SQLAlchemy or from asyncpg itself (``db.fetch_raw``: the hot reads)."""
    if _sqlstate(exc).startswith("22"):
        return problem_response(request, code="invalid-data", status=422)
    return handle_unexpected(request, exc)


def _sqlstate(exc: DBAPIError | PostgresError) -> str:
    orig = getattr(exc, "orig", None)
    for candidate in (exc, orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None)
        if code:
            return str(code)
    return ""


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception(
        "unexpected error on %s %s",
        for_log(request.method),
        for_log(request.url.path),
        exc_info=exc,
    )
    return problem_response(request, code="internal-error", status=HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    DBAPIError: handle_database_error,
    PostgresError: handle_database_error,
    Exception: handle_unexpected,
}
