"""Writes and calls served from compiled-shape templates, over HTTP against a real PostgreSQL.

The same shapes are sent many times with other values: from the third request on, each is
answered from a template (tests/property/test_shape_cache_writes.py proves the statements equal
fresh ones). Here the database shows that every request still wrote and read its own values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pgrest_core import shape_cache
from pgrest_core.config import Settings
from pgrest_server.app import PgrestApp
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database
from tests.integration.test_asgi import run_with_client

SCHEMA_SQL = """
create role shapes_anon nologin;
create schema api;
grant usage on schema api to shapes_anon;
create table api.notes (id int primary key, body text, stars int default 3);
grant select, insert, update, delete on api.notes to shapes_anon;
create function api.add(a int, b int) returns int language sql immutable as $$ select a + b $$;
create function api.all_notes() returns setof api.notes language sql stable as $$ select * from api.notes $$;
create function api.shout(text) returns text language sql immutable as $$ select upper($1) $$;
grant execute on all functions in schema api to shapes_anon;
"""

ROUNDS = 6


@pytest.fixture(scope="module")
def shapes_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "shape_cache_writes", SCHEMA_SQL, ("shapes_anon",))


@pytest.fixture()
def settings(shapes_uri: str) -> Settings:
    return Settings(
        db_uri=shapes_uri, db_schemas=("api",), db_anon_role="shapes_anon", db_pool=2, log_level="crit"
    )


def templates(app: PgrestApp) -> int:
    return sum(isinstance(entry, shape_cache._Template) for entry in app.shapes._entries.values())


def test_repeated_writes_and_calls_use_each_requests_values(settings: Settings) -> None:
    representation = {"Prefer": "return=representation"}

    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> dict[str, list[Any]]:
        seen: dict[str, list[Any]] = {"insert": [], "patch": [], "add": [], "add_get": [], "shout": []}
        for n in range(ROUNDS):
            inserted = await client.post(
                "/notes", json={"id": n, "body": f"note {n}"}, headers=representation
            )
            seen["insert"].append((inserted.status_code, inserted.json()))
        for n in range(ROUNDS):
            patched = await client.patch(f"/notes?id=eq.{n}", json={"stars": n}, headers=representation)
            seen["patch"].append(patched.json())
        for n in range(ROUNDS):
            seen["add"].append((await client.post("/rpc/add", json={"a": n, "b": 10})).json())
            seen["add_get"].append((await client.get(f"/rpc/add?a={n}&b=20")).json())
            shouted = await client.post(
                "/rpc/shout", content=f"hey {n}", headers={"Content-Type": "text/plain"}
            )
            seen["shout"].append(shouted.json())
        assert templates(app) == 5  # insert, patch, add by POST and by GET, shout
        return seen

    seen = run_with_client(settings, scenario)
    stars = 3  # the column default, since the insert's body has no `stars`
    assert seen["insert"] == [(201, [{"id": n, "body": f"note {n}", "stars": stars}]) for n in range(ROUNDS)]
    assert seen["patch"] == [[{"id": n, "body": f"note {n}", "stars": n}] for n in range(ROUNDS)]
    assert seen["add"] == [n + 10 for n in range(ROUNDS)]
    assert seen["add_get"] == [n + 20 for n in range(ROUNDS)]
    assert seen["shout"] == [f"HEY {n}" for n in range(ROUNDS)]


def test_repeated_deletes_and_filtered_calls(settings: Settings) -> None:
    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> list[Any]:
        rows = [{"id": 100 + n, "body": "x"} for n in range(ROUNDS)]
        assert (await client.post("/notes", json=rows)).status_code == 201
        answers = []
        for n in range(ROUNDS):
            # A call with no arguments and a filter: a GET whose raw shape the server splits,
            # yet a call's template is never answered from a raw shape.
            listed = await client.get(f"/rpc/all_notes?id=gte.{100 + n}&select=id")
            deleted = await client.delete(
                f"/notes?id=eq.{100 + n}", headers={"Prefer": "return=representation"}
            )
            answers.append((listed.status_code, [r["id"] for r in listed.json()], deleted.json()))
        assert templates(app) >= 2
        return answers

    answers = run_with_client(settings, scenario)
    for n, (status, listed, deleted) in enumerate(answers):
        assert status == 200
        assert listed == list(range(100 + n, 100 + ROUNDS))
        assert deleted == [{"id": 100 + n, "body": "x", "stars": 3}]


def test_a_bad_body_after_a_template_is_the_usual_error(settings: Settings) -> None:
    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> httpx.Response:
        for n in range(3):
            await client.post("/rpc/add", json={"a": n, "b": 1})
        return await client.post(
            "/rpc/add", content=b'{"a": 1, "b":', headers={"Content-Type": "application/json"}
        )

    response = run_with_client(settings, scenario)
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST102"
