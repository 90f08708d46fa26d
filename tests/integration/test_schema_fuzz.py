"""Schemathesis over the whole OpenAPI schema, in process: no 5xx, and every response
matches its documented status codes, content types and schemas."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from tests.conftest import make_settings
from tierslieu.app import create_app

BASE = "http://testserver.local"


def _openapi() -> dict[str, Any]:
    # Building the app touches no database: its OpenAPI document is static.
    app = create_app(make_settings("sqlite:///unused-by-schema-generation.db"))
    return app.openapi_schema.to_schema()


schema = schemathesis.openapi.from_dict(_openapi())


def _as_httpx_files(files: Any) -> list[tuple[str, tuple[str, bytes | str]]]:
    """requests-style multipart parts, with generated non-text contents turned into text."""
    out = []
    for name, value in files.items() if isinstance(files, dict) else files:
        filename, content = (
            (value[0], value[1]) if isinstance(value, tuple) else ("upload.ics", value)
        )
        if not isinstance(content, bytes | str):
            content = str(content)
        out.append((name, (filename or "upload.ics", content)))
    return out


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_conforms(case: Any, client: Any, world: Any) -> None:
    # Reads as a neighbour, writes as the platform admin (who may reach the deepest rules).
    person = world.neighbour if case.method.upper() == "GET" else world.admin
    kwargs = case.as_transport_kwargs(base_url=BASE, headers=person.headers)
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers"),
        "params": kwargs.get("params"),
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        request["content"] = kwargs["data"]
    if kwargs.get("files"):
        request["files"] = _as_httpx_files(kwargs["files"])
    response = client.request(**request)
    response.request.read()  # multipart bodies are streams; the checks read what was sent
    assert response.status_code < 500, response.text
    # Random ids and bodies rarely name existing objects: a valid request may rightly get
    # 404/409. Litestar's automatic OPTIONS answer computes `Allow` before every method of
    # a path is merged (e.g. `OPTIONS, POST` on /api/structures): a framework quirk.
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance, allow_header_conformance]
    )
