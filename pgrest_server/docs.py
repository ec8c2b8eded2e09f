"""Interactive API docs: Swagger UI for the live API, at a configurable path (off by default).

    docs = ApiDocs("/docs")
    docs.answer("/docs/", root_url="/")        # the page
    docs.answer("/docs/swagger-ui.css", ...)    # its assets, from the swagger-ui-bundle package
    docs.answer("/films", ...)                  # None: not ours, the API answers

The page loads the API's own OpenAPI document from the root endpoint, asking for the Swagger
2.0 document: the Swagger UI that the swagger-ui-bundle package ships (4.x) renders 2.0 and
3.0 documents, not 3.1. The assets are served from the installed package, never copied here.
"""

from __future__ import annotations

import html
import json
import mimetypes
from functools import cache
from pathlib import Path

from pgrest_core.prepared import Response

_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")
# The root endpoint answers the 2.0 document to this, whatever the configured default.
SWAGGER2_ACCEPT = "application/openapi+json;version=2.0, application/json;q=0.5"


class DocsUnavailable(RuntimeError):
    """openapi-docs-path is set but the swagger-ui-bundle package is not installed."""


@cache
def _asset_dir() -> Path:
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]
    except ImportError as error:
        raise DocsUnavailable(
            'openapi-docs-path needs the swagger-ui-bundle package: pip install "pgrest-compiler[server]"'
        ) from error
    return Path(swagger_ui_bundle.swagger_ui_path)


def _page(assets: str, root_url: str) -> bytes:
    config = {
        "url": root_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
    }
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>API docs</title>
<link rel="stylesheet" href="{html.escape(assets)}/swagger-ui.css">
<link rel="icon" type="image/png" href="{html.escape(assets)}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{html.escape(assets)}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle(Object.assign({json.dumps(config)}, {{
  requestInterceptor: function (request) {{
    if (request.url === {json.dumps(root_url)} || request.loadSpec) {{
      request.headers["Accept"] = {json.dumps(SWAGGER2_ACCEPT)};
    }}
    return request;
  }}
}}));
</script>
</body>
</html>
""".encode()


class ApiDocs:
    """Answers the docs page and its assets under `path`; everything else is left to the API."""

    def __init__(self, path: str) -> None:
        self.path = "/" + path.strip("/")
        _asset_dir()  # fail at startup, not on the first visit

    def answer(self, request_path: str, *, root_url: str) -> Response | None:
        if request_path in (self.path, self.path + "/", self.path + "/index.html"):
            # Assets are found relative to the page's own URL, mounted or not.
            assets = root_url.rstrip("/") + self.path
            headers = (("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache"))
            return Response(200, headers, _page(assets, root_url))
        name = request_path.removeprefix(self.path + "/")
        if name == request_path or name not in _ASSETS:
            return None  # only the listed files: no path in a request reaches the file system
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        body = (_asset_dir() / name).read_bytes()
        return Response(200, (("Content-Type", content_type), ("Cache-Control", "max-age=86400")), body)
