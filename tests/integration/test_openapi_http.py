"""`GET /` over HTTP (ASGI app + real PostgreSQL): the OpenAPI document and openapi-mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from pgrest_core.config import Settings
from pgrest_server.app import create_app
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database

SECRET = "a-secret-of-at-least-thirty-two-chars!!"

SCHEMA_SQL = """
create role oa_anon nologin;
create role oa_writer nologin;
create schema api;
comment on schema api is 'Shop API
Things for sale';
grant usage on schema api to oa_anon, oa_writer;
create table api.products (id int primary key, name text not null);
comment on table api.products is 'Products';
grant select on api.products to oa_anon, oa_writer;
create table api.orders (id int primary key, product_id int references api.products (id));
grant all on api.orders to oa_writer;
create function api.price(id int) returns numeric language sql stable as $$ select 1.0 $$;
create function api.restock() returns void language sql as $$ select $$;
revoke execute on function api.restock() from public;
grant execute on function api.restock() to oa_writer;
create schema other;
grant usage on schema other to oa_anon;
create table other.things (x int);
grant select on other.things to oa_anon;
"""


def _token(role: str) -> str:
    import jwt

    return jwt.encode({"role": role}, SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
def openapi_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "openapi_tests", SCHEMA_SQL, ("oa_anon", "oa_writer"))


@pytest.fixture()
def settings(openapi_uri: str) -> Settings:
    return Settings(
        db_uri=openapi_uri,
        db_schemas=("api", "other"),
        db_anon_role="oa_anon",
        db_pool=2,
        jwt_secret=SECRET,
        log_level="crit",
    )


def request(settings: Settings, method: str = "GET", headers: dict[str, str] | None = None) -> httpx.Response:
    async def main() -> httpx.Response:
        app = create_app(settings)
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, "/", headers=headers)
        finally:
            await app.shutdown()

    return asyncio.run(main())


def test_follow_privileges_shows_what_the_anonymous_role_may_use(settings: Settings) -> None:
    response = request(settings, headers={"Accept": "application/openapi+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/openapi+json; charset=utf-8"
    assert response.headers["content-profile"] == "api"
    doc = response.json()
    assert doc["info"]["title"] == "Shop API"
    assert doc["info"]["description"] == "Things for sale"
    assert set(doc["paths"]) == {"/", "/products", "/rpc/price"}
    assert doc["paths"]["/products"]["get"]["summary"] == "Products"
    assert doc["definitions"]["products"]["required"] == ["id", "name"]


def test_follow_privileges_with_a_jwt_role(settings: Settings) -> None:
    response = request(settings, headers={"Authorization": "Bearer " + _token("oa_writer")})
    doc = response.json()
    assert {"/orders", "/rpc/restock"} <= set(doc["paths"])
    assert set(doc["paths"]["/rpc/restock"]) == {"post"}
    note = doc["definitions"]["orders"]["properties"]["product_id"]["description"]
    assert note == "Note:\nThis is a Foreign Key to `products.id`.<fk table='products' column='id'/>"


def test_ignore_privileges_shows_everything(settings: Settings) -> None:
    doc = request(replace(settings, openapi_mode="ignore-privileges")).json()
    assert {"/products", "/orders", "/rpc/price", "/rpc/restock"} <= set(doc["paths"])


def test_accept_profile_selects_the_schema(settings: Settings) -> None:
    response = request(settings, headers={"Accept-Profile": "other"})
    assert response.headers["content-profile"] == "other"
    assert set(response.json()["paths"]) == {"/", "/things"}


def test_head_has_headers_only(settings: Settings) -> None:
    response = request(settings, "HEAD")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/openapi+json; charset=utf-8"


def test_disabled_is_404(settings: Settings) -> None:
    response = request(replace(settings, openapi_mode="disabled"))
    assert response.status_code == 404
    assert response.json()["code"] == "PGRST126"


def test_unacceptable_media_type_is_406(settings: Settings) -> None:
    assert request(settings, headers={"Accept": "text/csv"}).status_code == 406


def test_proxy_uri_and_security(settings: Settings) -> None:
    configured = replace(
        settings, openapi_server_proxy_uri="https://api.example.com/v1", openapi_security_active=True
    )
    doc = request(configured).json()
    assert (doc["host"], doc["basePath"], doc["schemes"]) == ("api.example.com:443", "/v1", ["https"])
    assert doc["security"] == [{"JWT": []}]
