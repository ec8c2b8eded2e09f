"""The root endpoint answers the OpenAPI 3.1 document when asked or configured; the docs page."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
from openapi_spec_validator import validate

from pgrest_core.config import Settings
from tests.integration.test_asgi import asgi_uri, serving, settings

__all__ = ["asgi_uri", "settings"]  # fixtures shared with the ASGI tests

V31 = "application/openapi+json;version=3.1"


async def get(app_settings: Settings, path: str, accept: str | None = None) -> httpx.Response:
    async with serving(app_settings) as (_, client):
        return await client.get(path, headers={"Accept": accept} if accept else None)


def test_version_31_when_asked(settings: Settings) -> None:
    response = asyncio.run(get(settings, "/", V31))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/openapi+json; version=3.1; charset=utf-8"
    document = response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert "/items" in document["paths"] and "/secrets" not in document["paths"]  # follow-privileges


def test_swagger_20_stays_the_default(settings: Settings) -> None:
    assert asyncio.run(get(settings, "/")).json()["swagger"] == "2.0"
    assert asyncio.run(get(settings, "/", "application/openapi+json;version=2.0")).json()["swagger"] == "2.0"


def test_openapi_default_version_makes_31_the_default(settings: Settings) -> None:
    configured = replace(settings, openapi_default_version="3.1")
    assert asyncio.run(get(configured, "/")).json()["openapi"] == "3.1.0"
    assert asyncio.run(get(configured, "/", "application/json")).json()["openapi"] == "3.1.0"
    assert asyncio.run(get(configured, "/", "application/openapi+json;version=2.0")).json()["swagger"] == "2.0"


def test_docs_page_is_off_by_default_and_served_where_configured(settings: Settings) -> None:
    assert asyncio.run(get(settings, "/docs")).status_code == 404  # a table named docs, as far as the API knows
    configured = replace(settings, openapi_docs_path="/docs")
    page = asyncio.run(get(configured, "/docs/"))
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    asset = asyncio.run(get(configured, "/docs/swagger-ui.css"))
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/css")
    assert asyncio.run(get(configured, "/items")).status_code == 200  # the API is unaffected
