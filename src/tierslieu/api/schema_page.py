"""``/schema``: the OpenAPI document as JSON, and a server-rendered page listing the endpoints.

No script at all, so nothing is loaded from a CDN and the page keeps the strict
Content-Security-Policy of every page (see ``headers.py``). The interactive viewers that
Litestar offers (Redoc, Swagger UI…) load their JavaScript from third-party CDNs: not served.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin

from tierslieu import i18n
from tierslieu.templating import render
from tierslieu.web import text

METHODS = ("get", "post", "put", "patch", "delete")


class EndpointListRenderPlugin(OpenAPIRenderPlugin):
    """The endpoints grouped by tag: method, path, summary; a link to the JSON document."""

    def __init__(self) -> None:
        super().__init__(path="/")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        lang = i18n.negotiate(request.headers.get("accept-language"))
        groups: dict[str, list[dict[str, str]]] = {}
        for path, operations in sorted(openapi_schema.get("paths", {}).items()):
            for method in METHODS:
                operation = operations.get(method)
                if not operation:
                    continue
                tag = (operation.get("tags") or ["api"])[0]
                groups.setdefault(tag, []).append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": operation.get("summary", ""),
                    }
                )
        info = openapi_schema.get("info", {})
        return render(
            "api/schema.html",
            lang=lang,
            _=text.translator(lang),
            info=info,
            groups=sorted(groups.items()),
            json_url=self.get_openapi_json_route(request),
        ).encode()


def schema_render_plugins() -> list[OpenAPIRenderPlugin]:
    return [EndpointListRenderPlugin(), JsonRenderPlugin()]
