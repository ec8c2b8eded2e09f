"""The ASGI app mounted under /api in FastAPI: no lifespan runs, URLs carry the prefix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
from fastapi import FastAPI
from starlette.routing import Mount

from pgrest_core import Settings
from pgrest_server.app import PgrestApp, create_app


def demo_settings(uri: str) -> Settings:
    return Settings(db_uri=uri, db_anon_role="web_anon", db_pool=2, log_level="crit")


@asynccontextmanager
async def mounted(settings: Settings) -> AsyncIterator[tuple[PgrestApp, httpx.AsyncClient]]:
    """FastAPI with pgrest under /api; httpx's transport sends no lifespan events, like a Mount."""
    pgrest = create_app(settings)
    host = FastAPI(routes=[Mount("/api", app=pgrest)])
    transport = httpx.ASGITransport(app=host)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test:8080") as client:
            yield pgrest, client
    finally:
        await pgrest.shutdown()


def test_reads_writes_and_the_document_carry_the_mount_prefix(demo_db_uri: str) -> None:
    asyncio.run(asyncio.wait_for(_reads_writes_and_the_document_carry_the_mount_prefix(demo_db_uri), timeout=60))


async def _reads_writes_and_the_document_carry_the_mount_prefix(demo_db_uri: str) -> None:
    async with mounted(demo_settings(demo_db_uri)) as (_, client):
        films = await client.get("/api/films", params={"select": "title", "id": "eq.2"})
        assert (films.status_code, films.json()) == (200, [{"title": "Spirited Away"}])
        assert films.headers["content-location"] == "/api/films?id=eq.2&select=title"

        created = await client.post(
            "/api/directors",
            json={"first_name": "Jane", "last_name": "Campion"},
            headers={"Prefer": "return=headers-only"},
        )
        assert created.status_code == 201
        location = created.headers["location"]
        assert location.startswith("/api/directors?id=eq.")
        assert (await client.get(location.removeprefix("/api"))).status_code == 404  # outside the mount
        assert (await client.get(location)).json()[0]["last_name"] == "Campion"

        document = (await client.get("/api/")).json()
        assert (document["host"], document["basePath"]) == ("shop.test:8080", "/api")
        assert "/films" in document["paths"]

        allow = (await client.options("/api/films")).headers["allow"]
        assert allow == "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"


def test_the_proxy_uri_wins_for_the_document(demo_db_uri: str) -> None:
    asyncio.run(asyncio.wait_for(_the_proxy_uri_wins_for_the_document(demo_db_uri), timeout=60))


async def _the_proxy_uri_wins_for_the_document(demo_db_uri: str) -> None:
    settings = replace(demo_settings(demo_db_uri), openapi_server_proxy_uri="https://api.example.com/v2")
    async with mounted(settings) as (_, client):
        document = (await client.get("/api/")).json()
        assert (document["schemes"], document["host"], document["basePath"]) == (
            ["https"],
            "api.example.com:443",
            "/v2",
        )
        created = await client.post(
            "/api/actors", json={"first_name": "A", "last_name": "B"}, headers={"Prefer": "return=headers-only"}
        )
        assert created.headers["location"].startswith("/api/actors?id=eq.")


def test_concurrent_first_requests_start_the_app_once(demo_db_uri: str) -> None:
    asyncio.run(asyncio.wait_for(_concurrent_first_requests_start_the_app_once(demo_db_uri), timeout=60))


async def _concurrent_first_requests_start_the_app_once(demo_db_uri: str) -> None:
    async with mounted(demo_settings(demo_db_uri)) as (pgrest, client):
        starts = 0
        startup = pgrest.startup

        async def counted() -> None:
            nonlocal starts
            starts += 1
            await startup()

        pgrest.startup = counted  # type: ignore[method-assign]
        answers = await asyncio.wait_for(
            asyncio.gather(*(client.get("/api/films?select=id&limit=1") for _ in range(5))), timeout=30
        )
        assert [answer.status_code for answer in answers] == [200] * 5
        assert starts == 1


def test_the_root_path_becomes_the_base_path() -> None:
    app = create_app(Settings(log_level="crit"))
    assert app._options_under({"root_path": ""}) is app.options
    assert app._options_under({"root_path": "/api/"}).base_path == "/api"
    assert app._options_under({"root_path": "api/v1"}).base_path == "/api/v1"
    assert app._options_under({"root_path": "/api"}) is app._options_under({"root_path": "/api"})
