"""Media type handlers against a real PostgreSQL: domains named after media types returned by
functions (sent raw) and aggregates over a relation's rows (their result is the body)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from pgrest_core.config import Settings
from pgrest_core.runner.introspect import load_schema_cache_sync
from pgrest_core.schema.model import MediaHandler, QualifiedName
from pgrest_server.app import PgrestApp
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database
from tests.integration.test_asgi import run_with_client

SCHEMA_SQL = """
create role mh_anon nologin;
create schema api;
create schema media;
grant usage on schema api, media to mh_anon;
create domain media."text/plain" as text;
create domain media."image/png" as bytea;
create domain media."application/vnd.ex+json" as jsonb;
create domain media."text/tsv" as text;
create domain media."*/*" as bytea;

create table api.items (id int primary key, name text);
insert into api.items values (1, 'one'), (2, 'two');
create table api.blobs (n int);
insert into api.blobs values (7);
grant select on api.items, api.blobs to mh_anon;

create function api.hello() returns media."text/plain" language sql as
  $$ select 'hello'::media."text/plain" $$;
create function api.pixel() returns media."image/png" language sql as
  $$ select '\\x89504e47ff00'::bytea::media."image/png" $$;
create function api.anything() returns media."*/*" language sql as
  $$ select 'any'::bytea::media."*/*" $$;
create function api.hellos() returns setof media."text/plain" language sql as
  $$ select 'a'::media."text/plain" $$;
create function api.all_items() returns setof api.items language sql as $$ select * from api.items $$;

create function api.tsv_trans(state media."text/tsv", next api.items) returns media."text/tsv"
  language sql as $$ select (state || next.id || E'\\t' || next.name || E'\\n')::media."text/tsv" $$;
create aggregate api.tsv_agg(api.items) (initcond = '', stype = media."text/tsv", sfunc = api.tsv_trans);

create function api.ex_trans(state media."application/vnd.ex+json", next anyelement)
  returns media."application/vnd.ex+json" language sql as
  $$ select (state || to_jsonb(next))::media."application/vnd.ex+json" $$;
create aggregate api.ex_agg(anyelement) (
  initcond = '[]', stype = media."application/vnd.ex+json", sfunc = api.ex_trans);

create function api.any_trans(state media."*/*", next api.blobs) returns media."*/*" language sql as
  $$ select (state || next.n::text::bytea)::media."*/*" $$;
create aggregate api.any_agg(api.blobs) (initcond = '', stype = media."*/*", sfunc = api.any_trans);
"""


@pytest.fixture(scope="module")
def media_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "media_handler_tests", SCHEMA_SQL, ("mh_anon",))


@pytest.fixture()
def settings(media_uri: str) -> Settings:
    return Settings(
        db_uri=media_uri, db_schemas=("api",), db_anon_role="mh_anon", db_pool=2, log_level="crit"
    )


def get(settings: Settings, path: str, accept: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept is not None else {}

    async def scenario(app: PgrestApp, client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(path, headers=headers)

    response: httpx.Response = run_with_client(settings, scenario)
    return response


def test_introspection_finds_handlers_and_media_type_domains(media_uri: str) -> None:
    with psycopg.connect(media_uri) as conn:
        cache = load_schema_cache_sync(conn, ("api",))
    assert cache.media_types[QualifiedName("media", "image/png")] == "bytea"
    assert cache.media_handler(QualifiedName("api", "items"), "text/tsv") == MediaHandler(
        "text/tsv", QualifiedName("api", "tsv_agg"), "text", QualifiedName("api", "items")
    )
    anyelement = cache.media_handler(None, "application/vnd.ex+json")
    assert anyelement is not None and anyelement.base_type == "jsonb"


def test_function_returning_a_media_type_is_sent_raw(settings: Settings) -> None:
    response = get(settings, "/rpc/hello", "text/plain")
    assert (response.status_code, response.text) == (200, "hello")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert get(settings, "/rpc/hello").json() == "hello"  # JSON stays the default
    assert get(settings, "/rpc/hello", "text/xml").status_code == 406


def test_binary_values_keep_their_bytes(settings: Settings) -> None:
    response = get(settings, "/rpc/pixel", "image/png, */*")
    assert (response.status_code, response.content) == (200, bytes.fromhex("89504e47ff00"))
    assert response.headers["content-type"] == "image/png"


def test_any_media_type_function_answers_as_octet_stream(settings: Settings) -> None:
    response = get(settings, "/rpc/anything", "made/up")
    assert (response.status_code, response.content) == (200, b"any")
    assert response.headers["content-type"] == "application/octet-stream"


def test_sets_of_media_type_values_are_not_handlers(settings: Settings) -> None:
    assert get(settings, "/rpc/hellos", "text/plain").status_code == 406


def test_relation_handler_builds_the_body(settings: Settings) -> None:
    response = get(settings, "/items?order=id", "text/tsv")
    assert (response.status_code, response.text) == (200, "1\tone\n2\ttwo\n")
    assert response.headers["content-type"] == "text/tsv"
    # Only with the default select: other columns are not the relation's rows.
    assert get(settings, "/items?select=id", "text/tsv").status_code == 406


def test_anyelement_handler_serves_every_relation_and_function(settings: Settings) -> None:
    response = get(settings, "/items?select=id&order=id", "application/vnd.ex+json")
    assert response.status_code == 200
    assert response.content == b'\x01[{"id": 1}, {"id": 2}]'  # jsonb's binary format
    rows = get(settings, "/rpc/all_items?select=name&id=eq.2", "application/vnd.ex+json")
    assert rows.content == b'\x01[{"name": "two"}]'


def test_any_handler_answers_unknown_media_types(settings: Settings) -> None:
    response = get(settings, "/blobs", "unknown/thing")
    assert (response.status_code, response.content) == (200, b"7")
    assert response.headers["content-type"] == "application/octet-stream"
    assert get(settings, "/blobs", "application/json").json() == [{"n": 7}]
    assert get(settings, "/items", "unknown/thing").status_code == 406
