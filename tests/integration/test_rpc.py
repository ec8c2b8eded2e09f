"""`/rpc/fn` through the ASGI app against a real PostgreSQL: results, arguments, transactions."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pgrest_core.config import Settings
from pgrest_server.app import PgrestApp
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database
from tests.integration.test_asgi import run_with_client

SCHEMA_SQL = """
create role rpc_anon nologin;
create schema api;
grant usage on schema api to rpc_anon;
create table api.items (id int primary key, name text);
insert into api.items values (1, 'one'), (2, 'two'), (3, 'three');
grant select on api.items to rpc_anon;
create sequence api.counter;
grant usage on sequence api.counter to rpc_anon;

create function api.add(a int, b int) returns int language sql immutable as $$ select a + b $$;
create function api.items_from(min int) returns setof api.items language sql stable as
  $$ select * from api.items where id >= min $$;
create function api.item(id int) returns api.items language sql stable as
  $$ select * from api.items i where i.id = item.id $$;
create function api.tick() returns bigint language sql as $$ select nextval('api.counter') $$;
create function api.nothing() returns void language sql as $$ select $$;
create function api.words(variadic w text[] default '{}') returns text[] language sql immutable as
  $$ select w $$;
create function api.echo(json) returns json language sql immutable as $$ select $1 $$;
create function api.shout(text) returns text language sql immutable as $$ select upper($1) $$;
"""


@pytest.fixture(scope="module")
def rpc_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "rpc_tests", SCHEMA_SQL, ("rpc_anon",))


@pytest.fixture()
def settings(rpc_uri: str) -> Settings:
    return Settings(db_uri=rpc_uri, db_schemas=("api",), db_anon_role="rpc_anon", db_pool=2, log_level="crit")


def send(
    settings: Settings,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(method, path, content=body, headers=headers)

    response: httpx.Response = run_with_client(settings, scenario)
    return response


def test_scalar_by_get_and_post(settings: Settings) -> None:
    assert send(settings, "GET", "/rpc/add?a=1&b=2").json() == 3
    response = send(settings, "POST", "/rpc/add", '{"a": 40, "b": 2}')
    assert (response.status_code, response.json()) == (200, 42)
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_set_returning_function_with_select_filters_order_and_count(settings: Settings) -> None:
    response = send(
        settings,
        "GET",
        "/rpc/items_from?min=1&select=name&id=neq.2&order=id.desc&limit=1",
        headers={"Prefer": "count=exact"},
    )
    assert (response.status_code, response.json()) == (206, [{"name": "three"}])
    assert response.headers["content-range"] == "0-0/2"


def test_single_composite_is_an_object(settings: Settings) -> None:
    assert send(settings, "GET", "/rpc/item?id=2").json() == {"id": 2, "name": "two"}


def test_void_is_204_without_content_type(settings: Settings) -> None:
    response = send(settings, "POST", "/rpc/nothing")
    assert (response.status_code, response.content) == (204, b"")
    assert "content-type" not in response.headers


def test_volatile_function_by_get_runs_read_only(settings: Settings) -> None:
    response = send(settings, "GET", "/rpc/tick")
    assert (response.status_code, response.json()["code"]) == (405, "25006")
    first = send(settings, "POST", "/rpc/tick", "{}").json()
    assert send(settings, "POST", "/rpc/tick", "{}").json() == first + 1  # runs once per request


def test_variadic_arguments(settings: Settings) -> None:
    assert send(settings, "GET", "/rpc/words?w=a&w=b").json() == ["a", "b"]
    assert send(settings, "GET", "/rpc/words").json() == []
    assert send(settings, "POST", "/rpc/words", '{"w": ["x", "y"]}').json() == ["x", "y"]


def test_whole_body_to_a_single_unnamed_parameter(settings: Settings) -> None:
    assert send(settings, "POST", "/rpc/echo", '{"k": [1, 2]}').json() == {"k": [1, 2]}
    response = send(
        settings, "POST", "/rpc/shout", "hi", {"Content-Type": "text/plain", "Accept": "text/plain"}
    )
    assert (response.status_code, response.text) == (200, "HI")


def test_unknown_function_is_404_with_a_hint(settings: Settings) -> None:
    response = send(settings, "GET", "/rpc/ad?a=1&b=2")
    assert response.status_code == 404
    assert response.json() == {
        "code": "PGRST202",
        "message": "Could not find the function api.ad(a, b) in the schema cache",
        "details": "Searched for the function api.ad with parameters a, b, but no matches were found "
        "in the schema cache.",
        "hint": None,
    }
