"""HTTP through the ASGI app (httpx's ASGI transport) against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest

from pgrest_core.config import Settings
from pgrest_core.shape_cache import ShapeCache
from pgrest_server.app import PgrestApp, create_app
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database

SECRET = "a-secret-of-at-least-thirty-two-chars!!"

SCHEMA_SQL = """
create role asgi_anon nologin;
create role asgi_user nologin;
create schema api;
grant usage on schema api to asgi_anon, asgi_user;
create table api.items (id int primary key, name text);
insert into api.items values (1, 'one'), (2, 'two');
grant select on api.items to asgi_anon, asgi_user;
create table api.secrets (x int);
insert into api.secrets values (42);
create view api.whoami as
  select current_user::text as role, current_setting('request.headers', true)::json->>'x-probe' as probe,
         current_setting('request.cookies', true)::json->>'c' as cookie;
grant select on api.whoami to asgi_anon, asgi_user;
"""


def token(claims: dict[str, Any]) -> str:
    """An HS256 JWT signed with SECRET."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


@pytest.fixture(scope="module")
def asgi_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "asgi_tests", SCHEMA_SQL, ("asgi_anon", "asgi_user"))


@pytest.fixture()
def settings(asgi_uri: str) -> Settings:
    return Settings(
        db_uri=asgi_uri,
        db_schemas=("api",),
        db_anon_role="asgi_anon",
        db_pool=2,
        jwt_secret=SECRET,
        log_level="crit",
    )


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[PgrestApp, httpx.AsyncClient]]:
    """The app started (as an ASGI server's lifespan would) with a client talking to it."""
    app = create_app(settings)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client
    finally:
        await app.shutdown()


def run_with_client(
    settings: Settings, scenario: Callable[[PgrestApp, httpx.AsyncClient], Awaitable[Any]]
) -> Any:
    async def main() -> Any:
        async with serving(settings) as (app, client):
            return await scenario(app, client)

    return asyncio.run(main())


def get(settings: Settings, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(path, headers=headers)

    response: httpx.Response = run_with_client(settings, scenario)
    return response


def test_read_through_the_whole_pipeline(settings: Settings) -> None:
    response = get(settings, "/items?select=id,name&order=id.desc")
    assert response.status_code == 200
    assert response.json() == [{"id": 2, "name": "two"}, {"id": 1, "name": "one"}]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-length"] == str(len(response.content))


def test_repeated_reads_answered_from_raw_shapes_keep_each_requests_role_and_headers(
    settings: Settings,
) -> None:
    """From the fourth request on, the shape is answered without parsing (a raw-shape link); the
    role, headers and cookies still come from each request, and so does the filter value."""

    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> list[tuple[int, Any, str]]:
        answers = []
        for index in range(8):
            headers = {"X-Probe": f"p{index}", "Cookie": f"c=k{index}"}
            if index % 2:
                headers["Authorization"] = "Bearer " + token({"role": "asgi_user"})
            other = "nobody" if index % 3 else "asgi_user"
            response = await client.get(f"/whoami?role=neq.{other}&select=role,probe,cookie", headers=headers)
            answers.append((response.status_code, response.json(), response.headers["content-location"]))
        assert len(app.shapes._raw) == 1  # the raw shape was linked (and so used from then on)
        return answers

    answers = run_with_client(settings, scenario)
    for index, (status, body, location) in enumerate(answers):
        role = "asgi_user" if index % 2 else "asgi_anon"
        other = "nobody" if index % 3 else "asgi_user"
        assert status == 200
        assert body == ([] if role == other else [{"role": role, "probe": f"p{index}", "cookie": f"k{index}"}])
        assert location == f"/whoami?role=neq.{other}&select=role%2Cprobe%2Ccookie"


def test_request_errors_are_json_with_proxy_status(settings: Settings) -> None:
    response = get(settings, "/a/b/c")
    assert response.status_code == 404
    assert response.json()["code"] == "PGRST125"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["proxy-status"] == "PostgREST; error=PGRST125"


def test_permission_denied_is_401_for_anonymous_with_www_authenticate(settings: Settings) -> None:
    response = get(settings, "/secrets")
    assert (response.status_code, response.json()) == (
        401,
        {"code": "42501", "message": "permission denied for table secrets", "details": None, "hint": None},
    )
    assert response.headers["www-authenticate"] == "Bearer"


def test_jwt_role_runs_the_request_as_that_role(settings: Settings) -> None:
    response = get(settings, "/secrets", {"Authorization": "Bearer " + token({"role": "asgi_user"})})
    assert (response.status_code, response.json()["code"]) == (403, "42501")
    assert "www-authenticate" not in response.headers


def test_invalid_jwt_is_rejected_before_the_database(settings: Settings) -> None:
    response = get(settings, "/items", {"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert response.json()["code"].startswith("PGRST3")


def test_server_timing_header_when_enabled(settings: Settings) -> None:
    response = get(replace(settings, server_timing_enabled=True), "/items")
    timing = response.headers["server-timing"]
    phases = [part.split(";")[0] for part in timing.split(", ")]
    assert phases == ["jwt", "parse", "plan", "transaction", "response"]
    assert "server-timing" not in get(settings, "/items").headers


def test_head_has_no_body_and_no_content_length(settings: Settings) -> None:
    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> httpx.Response:
        return await client.head("/items")

    response: httpx.Response = run_with_client(settings, scenario)
    assert (response.status_code, response.content) == (200, b"")
    assert "content-length" not in response.headers


def test_unexpected_errors_are_500_without_traceback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ShapeCache, "prepare", broken)
    with caplog.at_level(logging.ERROR, logger="pgrest"):
        response = get(replace(settings, log_level="error"), "/items")
    assert response.status_code == 500
    assert response.json() == {
        "code": "PGRSTX00",
        "message": "Internal server error",
        "details": None,
        "hint": None,
    }
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text  # the traceback is logged


def test_notify_reloads_the_schema_cache(settings: Settings, asgi_uri: str) -> None:
    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> tuple[int, int]:
        before = (await client.get("/late")).status_code
        async with await psycopg.AsyncConnection.connect(asgi_uri, autocommit=True) as conn:
            await conn.execute("create table api.late (id int); grant select on api.late to asgi_anon")
            await asyncio.sleep(0.3)  # let the listener connect and LISTEN
            await conn.execute("notify pgrst, 'reload schema'")
        for _ in range(50):
            after = (await client.get("/late")).status_code
            if after == 200:
                break
            await asyncio.sleep(0.1)
        return before, after

    assert run_with_client(settings, scenario) == (404, 200)


def test_unreachable_database_answers_503_until_the_cache_loads(settings: Settings) -> None:
    unreachable = replace(settings, db_uri="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    response = get(unreachable, "/items")
    assert (response.status_code, response.json()["code"]) == (503, "PGRST002")


def test_lifespan_protocol_starts_and_stops(settings: Settings) -> None:
    async def main() -> list[str]:
        app = create_app(settings)
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sent: list[str] = []
        await inbox.put({"type": "lifespan.startup"})
        await inbox.put({"type": "lifespan.shutdown"})

        async def send(message: Any) -> None:
            sent.append(message["type"])

        await app({"type": "lifespan"}, inbox.get, send)
        return sent

    assert asyncio.run(main()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_cors_preflight_is_answered_permissively(settings: Settings) -> None:
    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> httpx.Response:
        return await client.options(
            "/items",
            headers={
                "Origin": "http://example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Foo, bar,authorization",
            },
        )

    response: httpx.Response = run_with_client(settings, scenario)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD"
    assert response.headers["access-control-allow-headers"] == (
        "Authorization, Foo, bar, Accept, Accept-Language, Content-Language"
    )
    assert response.headers["access-control-max-age"] == "86400"


def test_cors_allowed_origins_and_trace_header(settings: Settings) -> None:
    configured = replace(
        settings, server_cors_allowed_origins=("http://good.example",), server_trace_header="X-Request-Id"
    )
    good = get(configured, "/items", {"Origin": "http://good.example", "X-Request-Id": "abc"})
    assert good.headers["access-control-allow-origin"] == "http://good.example"
    assert good.headers["access-control-allow-credentials"] == "true"
    assert "Content-Range" in good.headers["access-control-expose-headers"]
    assert good.headers["x-request-id"] == "abc"
    other = get(configured, "/items", {"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    assert other.headers["x-request-id"] == ""  # echoed empty when absent, as PostgREST does


def test_minimal_error_verbosity_hides_details_and_hint(settings: Settings) -> None:
    response = get(replace(settings, client_error_verbosity="minimal"), "/secrets")
    assert (response.status_code, response.json()) == (
        401,
        {"code": "42501", "message": "permission denied for table secrets"},
    )
