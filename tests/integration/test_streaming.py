"""server-stream-responses: streamed reads answer what whole ones do, rows fetched in batches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from pgrest_core.config import Settings
from pgrest_core.runner import stream as runner_stream
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database
from tests.integration.test_asgi import serving

SCHEMA_SQL = """
create role stream_anon nologin;
create schema api;
grant usage on schema api to stream_anon;
create table api.authors (id int primary key, name text);
create table api.books (id int primary key, title text, note text, author_id int references api.authors);
insert into api.authors select i, 'author ' || i from generate_series(1, 50) i;
insert into api.books select i, 'book ' || i, case when i % 3 = 0 then null else 'n' end, 1 + i % 50
  from generate_series(1, 5000) i;
create table api.hidden (x int);
grant select on api.authors, api.books to stream_anon;
create function api.pre() returns void language sql as
  $$ select set_config('response.headers', '[{"X-Pre": "yes"}]', true) $$;
grant execute on function api.pre() to stream_anon;
"""


@pytest.fixture(scope="module")
def stream_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "stream_tests", SCHEMA_SQL, ("stream_anon",))


def settings(uri: str, **changes: Any) -> Settings:
    base = Settings(db_uri=uri, db_schemas=("api",), db_anon_role="stream_anon", db_pool=2, log_level="crit")
    return replace(base, **changes)


async def both(uri: str, path: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, httpx.Response]:
    """The same request to a whole-response server and to a streaming one."""
    async with serving(settings(uri)) as (_, whole_client):
        whole = await whole_client.get(path, headers=headers)
    async with serving(settings(uri, server_stream_responses=True)) as (_, stream_client):
        streamed = await stream_client.get(path, headers=headers)
    return whole, streamed


@pytest.mark.parametrize(
    "path",
    [
        "/books?order=id",
        "/books?select=id,title,author:authors(name)&id=lt.700&order=id.desc",
        "/books?id=gt.9999",
        "/authors?select=name,books(title)&limit=3&order=id",
        "/books?order=id&offset=4990",
    ],
)
def test_streamed_bodies_equal_whole_ones(stream_uri: str, path: str) -> None:
    whole, streamed = asyncio.run(both(stream_uri, path))
    assert streamed.status_code == whole.status_code == 200
    assert json.loads(streamed.content) == json.loads(whole.content)
    assert streamed.headers["content-type"] == whole.headers["content-type"]
    assert "content-range" in whole.headers and "content-range" not in streamed.headers


def test_rows_arrive_in_batches(stream_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []
    original = runner_stream.RowStream.batches

    async def counted(self: runner_stream.RowStream) -> Any:
        self.batch_rows = 700
        async for batch in original(self):
            batches.append(len(batch))
            yield batch

    monkeypatch.setattr(runner_stream.RowStream, "batches", counted)
    _, streamed = asyncio.run(both(stream_uri, "/books?order=id"))
    assert len(json.loads(streamed.content)) == 5000
    assert batches == [700] * 7 + [100]


def test_stripped_nulls_stream_too(stream_uri: str) -> None:
    accept = {"Accept": "application/vnd.pgrst.array+json;nulls=stripped"}
    whole, streamed = asyncio.run(both(stream_uri, "/books?id=lte.6&order=id", accept))
    assert json.loads(streamed.content) == json.loads(whole.content)
    assert "note" not in json.loads(streamed.content)[2]


def test_counts_singular_and_csv_are_answered_whole(stream_uri: str) -> None:
    whole, streamed = asyncio.run(both(stream_uri, "/books?limit=2", {"Prefer": "count=exact"}))
    assert streamed.headers["content-range"] == whole.headers["content-range"] == "0-1/5000"
    whole, streamed = asyncio.run(both(stream_uri, "/books?id=eq.1", {"Accept": "application/vnd.pgrst.object+json"}))
    assert streamed.content == whole.content
    whole, streamed = asyncio.run(both(stream_uri, "/books?id=lt.3", {"Accept": "text/csv"}))
    assert streamed.content == whole.content


def test_errors_before_the_first_row_are_ordinary_answers(stream_uri: str) -> None:
    whole, streamed = asyncio.run(both(stream_uri, "/hidden"))
    assert streamed.status_code == whole.status_code == 401
    assert streamed.json() == whole.json()
    whole, streamed = asyncio.run(both(stream_uri, "/books?id=eq.notanumber"))
    assert streamed.status_code == whole.status_code == 400
    assert streamed.json()["code"] == "22P02"


def test_pre_request_headers_apply(stream_uri: str) -> None:
    async def scenario() -> httpx.Response:
        async with serving(settings(stream_uri, server_stream_responses=True, db_pre_request="api.pre")) as (_, c):
            return await c.get("/books?limit=1")

    response = asyncio.run(scenario())
    assert response.status_code == 200 and response.headers["x-pre"] == "yes"


def test_the_pool_connection_is_returned(stream_uri: str) -> None:
    async def scenario() -> list[int]:
        async with serving(settings(stream_uri, server_stream_responses=True)) as (_, client):
            statuses = []
            for _ in range(6):  # more than db-pool = 2
                statuses.append((await client.get("/books?limit=10")).status_code)
            return statuses

    assert asyncio.run(scenario()) == [200] * 6
