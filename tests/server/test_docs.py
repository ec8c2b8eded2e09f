"""The docs page and its assets, from the swagger-ui-bundle package."""

from __future__ import annotations

import pytest

from pgrest_server.docs import SWAGGER2_ACCEPT, ApiDocs


@pytest.mark.parametrize("path", ["/docs", "/docs/", "/docs/index.html"])
def test_the_page_loads_the_root_document(path: str) -> None:
    response = ApiDocs("docs/").answer(path, root_url="/api/")
    assert response is not None and response.status == 200
    page = response.body.decode()
    assert '"url": "/api/"' in page
    assert 'href="/api/docs/swagger-ui.css"' in page
    assert SWAGGER2_ACCEPT in page


def test_assets_come_from_the_package() -> None:
    response = ApiDocs("/docs").answer("/docs/swagger-ui-bundle.js", root_url="/")
    assert response is not None
    assert dict(response.headers)["Content-Type"] in ("application/javascript", "text/javascript")
    assert b"SwaggerUIBundle" in response.body


@pytest.mark.parametrize(
    "path", ["/films", "/docsx", "/docs/../pyproject.toml", "/docs/index.j2", "/docs/%2e%2e/x", "/"]
)
def test_anything_else_is_left_to_the_api(path: str) -> None:
    assert ApiDocs("/docs").answer(path, root_url="/") is None
