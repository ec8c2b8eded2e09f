"""Issue 8 through the ASGI app on the demo database: bodies that used to answer 500 or 503,
and CSV output as PostgREST writes it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from pgrest_core import demo
from pgrest_core.config import Settings
from pgrest_server.app import create_app
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database

Call = tuple[str, str, dict[str, str], bytes | None]
JSON = {"Content-Type": "application/json"}
CSV_IN = {"Content-Type": "text/csv"}


@pytest.fixture()
def settings(demo_db_uri: str) -> Settings:
    return Settings(
        db_uri=demo_db_uri,
        db_schemas=demo.DEMO_SCHEMAS,
        db_anon_role=demo.ANONYMOUS_ROLE,
        db_pool=2,
        db_tx_end="commit-allow-override",
        log_level="crit",
    )


def send(settings: Settings, *calls: Call) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        app = create_app(settings)
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
                return [
                    await client.request(method, path, headers=headers, content=body)
                    for method, path, headers, body in calls
                ]
        finally:
            await app.shutdown()

    return asyncio.run(asyncio.wait_for(main(), 120))


def error(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()["code"]


DEPTH = 100_000
DEEP = b"[" * DEPTH + b"]" * DEPTH


def test_deeply_nested_bodies_are_client_errors_or_reach_postgresql(settings: Settings) -> None:
    film = b'{"title": "x", "director_id": 1, "year": 2000, "genre": "drama", "language": '
    rows, rpc, shallow_enough = send(
        settings,
        ("POST", "/films", JSON, DEEP),
        ("POST", "/rpc/search_films", JSON, DEEP),
        # Deeper than Python decodes, not too deep for PostgreSQL: written as sent.
        (
            "POST",
            "/films",
            {**JSON, "Prefer": "tx=rollback,return=representation"},
            film + b"[" * 3000 + b"]" * 3000 + b"}",
        ),
    )
    assert error(rows) == (400, "PGRST102")
    assert rows.json()["message"] == "All object keys must match"
    assert error(rpc) == (400, "PGRST102")
    assert shallow_enough.status_code == 201
    assert shallow_enough.json()[0]["language"] == "[" * 3000 + "]" * 3000


def test_a_bare_carriage_return_in_a_csv_body_ends_a_line(settings: Settings) -> None:
    insert, call = send(
        settings,
        ("POST", "/films", CSV_IN, b"x\ry"),
        ("POST", "/rpc/search_films", CSV_IN, b"x\ry"),
    )
    # The body is read as header `x` and row `y`: errors about names, not a 500.
    assert error(insert) == (400, "PGRST204")
    assert error(call) == (404, "PGRST202")


def test_malformed_csv_is_pgrst102(settings: Settings) -> None:
    (response,) = send(settings, ("POST", "/films", CSV_IN, b'title\n"open'))
    assert error(response) == (400, "PGRST102")


def test_a_nul_in_an_rpc_argument_is_the_same_400_as_in_an_insert(settings: Settings) -> None:
    call, insert = send(
        settings,
        ("POST", "/rpc/search_films", JSON, b'{"q": "a\\u0000b"}'),
        ("POST", "/films", JSON, b'{"title": "a\\u0000b", "director_id": 1, "year": 2000, "genre": "x"}'),
    )
    assert call.status_code == insert.status_code == 400
    assert (
        call.json()
        == insert.json()
        == {
            "code": "22P05",
            "details": "\\u0000 cannot be converted to text.",
            "hint": None,
            "message": "unsupported Unicode escape sequence",
        }
    )


def test_csv_output_quotes_values_as_postgresql_record_text(settings: Settings) -> None:
    accept = {"Accept": "text/csv"}
    films, empty, embedded = send(
        settings,
        ("GET", "/films?select=id,title,rating,sequel_of&id=in.(1,3)&order=id", accept, None),
        ("GET", "/films?id=eq.-1", accept, None),
        ("GET", "/films?select=id,director:directors(last_name)&id=eq.1", accept, None),
    )
    assert films.text == 'id,title,rating,sequel_of\n1,"Cléo from 5 to 7",8.1,\n3,Arrival,8.4,'
    assert empty.text == "\n"
    assert embedded.text == 'id,director\n1,"{""last_name"":""Varda""}"'


# --- item 7: functions a request cannot call are not exposed -------------------------------------

UNNAMED_ROLE = "hardening_unnamed_anon"
UNNAMED_SQL = f"""
create role {UNNAMED_ROLE} nologin;
create schema api;
grant usage on schema api to {UNNAMED_ROLE};
create table api.items (id int primary key, name text);
insert into api.items values (1, 'one');
grant select on api.items to {UNNAMED_ROLE};
create function api.two_unnamed(int, int) returns int language sql as 'select $1 + $2';
create function api.one_unnamed_int(int) returns int language sql as 'select $1';
create function api.mixed(int, b int) returns int language sql as 'select $1 + b';
create function api.whole_text(text) returns text language sql as 'select $1';
create function api.whole_json(json) returns json language sql as 'select $1';
create function api.named(a int, b int) returns int language sql as 'select a + b';
create function api.label(api.items) returns text language sql as 'select $1.name || ''!''';
"""


@pytest.fixture(scope="module")
def unnamed_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "hardening_unnamed", UNNAMED_SQL, (UNNAMED_ROLE,))


def test_functions_with_unnamed_parameters_are_neither_documented_nor_callable(unnamed_uri: str) -> None:
    settings = Settings(db_uri=unnamed_uri, db_schemas=("api",), db_anon_role=UNNAMED_ROLE, log_level="crit")
    root, two, one, mixed, text, json_body, named, computed = send(
        settings,
        ("GET", "/", {}, None),
        ("POST", "/rpc/two_unnamed", JSON, b"{}"),
        ("GET", "/rpc/one_unnamed_int", {}, None),
        ("POST", "/rpc/mixed", JSON, b'{"b": 1}'),
        ("POST", "/rpc/whole_text", {"Content-Type": "text/plain"}, b"hi"),
        ("POST", "/rpc/whole_json", JSON, b'{"x": 1}'),
        ("GET", "/rpc/named?a=1&b=2", {}, None),
        ("GET", "/items?select=id,label", {}, None),
    )
    paths = root.json()["paths"]
    assert {path for path in paths if path.startswith("/rpc/")} == {
        "/rpc/whole_text",
        "/rpc/whole_json",
        "/rpc/named",
    }
    # Valid Swagger 2.0: `required` names are unique (a single unnamed parameter is "", as in PostgREST).
    for operations in paths.values():
        for operation in operations.values():
            assert len(set(_required(operation))) == len(_required(operation))
    assert error(two) == (404, "PGRST202")
    assert error(one) == (404, "PGRST202")
    assert error(mixed) == (404, "PGRST202")
    assert (text.status_code, text.json()) == (200, "hi")
    assert (json_body.status_code, json_body.json()) == (200, {"x": 1})
    assert (named.status_code, named.json()) == (200, 3)
    assert computed.json() == [{"id": 1, "label": "one!"}]


def _required(operation: Any) -> list[str]:
    names: list[str] = []
    for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
        schema = parameter.get("schema", {}) if isinstance(parameter, dict) else {}
        names.extend(schema.get("required", []))
    return names


# --- audit: pagination edge cases and error wording ------------------------------------------------


def _ids(response: httpx.Response) -> list[int]:
    return [row["id"] for row in response.json()]


def test_pagination_edge_cases_as_postgrest(settings: Settings) -> None:
    films = "/films?select=id&order=id"
    (everything,) = send(settings, ("GET", films, {}, None))
    all_ids = _ids(everything)
    (
        negative_limit,
        negative_offset,
        garbage,
        zero,
        zero_offset,
        header_and_limit,
        header_past,
        embed_limit,
    ) = send(
        settings,
        ("GET", films + "&limit=-1", {}, None),
        ("GET", films + "&offset=-4", {}, None),
        ("GET", films + "&limit=abc&offset=x", {}, None),
        ("GET", films + "&limit=0", {"Range": "0-3"}, None),
        ("GET", films + "&limit=0&offset=2", {}, None),
        ("GET", films + "&limit=2", {"Range": "1-5"}, None),
        ("GET", films + "&limit=2", {"Range": "5-8"}, None),
        ("GET", "/directors?select=id,films(id)&films.limit=-1", {}, None),
    )
    limit_details = "Limit should be greater than or equal to zero."
    assert (negative_limit.status_code, negative_limit.json()["details"]) == (416, limit_details)
    assert _ids(negative_offset) == all_ids  # a negative offset is a no-op
    assert _ids(garbage) == all_ids  # values that are not integers are ignored
    assert (zero.status_code, zero.json(), zero.headers["Content-Range"]) == (200, [], "*/*")
    assert (zero_offset.status_code, zero_offset.json()["code"]) == (416, "PGRST103")
    assert (_ids(header_and_limit), header_and_limit.headers["Content-Range"]) == (all_ids[1:2], "1-1/*")
    assert (header_past.status_code, header_past.json()["details"]) == (416, limit_details)
    # An embed's negative limit reaches PostgreSQL, which rejects it (2201W, a client error).
    assert (embed_limit.status_code, embed_limit.json()["code"]) == (400, "2201W")


def test_db_max_rows_caps_every_level(settings: Settings) -> None:
    capped = replace(settings, db_max_rows=1)
    top, embedded, limited = send(
        capped,
        ("GET", "/directors?select=id&order=id", {}, None),
        ("GET", "/directors?select=id,films(id)&id=eq.3&films.order=id", {}, None),
        ("GET", "/directors?select=id,films(id)&id=eq.3&films.limit=5", {}, None),
    )
    assert (len(top.json()), top.headers["Content-Range"]) == (1, "0-0/*")
    (director,) = embedded.json()
    assert len(director["films"]) == 1
    assert len(limited.json()[0]["films"]) == 1


def test_error_details_say_rows_whatever_the_number(settings: Settings) -> None:
    single = {"Accept": "application/vnd.pgrst.object+json"}
    none, two, past, affected = send(
        settings,
        ("GET", "/films?id=eq.-1", single, None),
        ("GET", "/films?id=in.(1,2)", single, None),
        ("GET", "/films?id=eq.1&offset=2", {"Prefer": "count=exact"}, None),
        (
            "PATCH",
            "/films?id=eq.1",
            {**JSON, "Prefer": "handling=strict, max-affected=0, tx=rollback"},
            b'{"rating": 1}',
        ),
    )
    cannot = "Cannot coerce the result to a single JSON object"
    assert (none.status_code, none.json()["message"], none.json()["details"]) == (
        406,
        cannot,
        "The result contains 0 rows",
    )
    assert two.json()["details"] == "The result contains 2 rows"
    assert (past.status_code, past.json()["details"]) == (
        416,
        "An offset of 2 was requested, but there are only 1 rows.",
    )
    assert (affected.status_code, affected.json()["code"], affected.json()["details"]) == (
        400,
        "PGRST124",
        "The query affects 1 rows",
    )


# --- audit: deprecation Warning header ---------------------------------------------------------------

LEGACY_TEXT = (
    '299 PostgRESTv16 "Embedded resource was referenced by relation name even though it has an alias. '
    "This is deprecated and will stop working in a future release. "
    'Update `films` to `work` in query string filters, orders or limits."'
)


def test_a_target_name_used_for_an_aliased_embed_gets_a_deprecation_warning(settings: Settings) -> None:
    legacy, by_alias, call = send(
        settings,
        ("GET", "/directors?select=id,work:films(id)&films.order=id.desc&films.limit=1&id=eq.3", {}, None),
        ("GET", "/directors?select=id,work:films(id)&work.limit=1&id=eq.3", {}, None),
        ("GET", "/rpc/search_films?q=a&select=id,director:directors(id)&directors.id=eq.3", {}, None),
    )
    assert legacy.json() == [{"id": 3, "work": [{"id": 5}]}]
    assert legacy.headers.get_list("Warning") == [LEGACY_TEXT]
    assert "Warning" not in by_alias.headers
    assert call.status_code == 200
    assert "`directors` to `director`" in call.headers["Warning"]


def test_no_warning_when_legacy_target_names_are_off(settings: Settings) -> None:
    strict = replace(settings, url_use_legacy_target_names=False)
    (response,) = send(strict, ("GET", "/directors?select=id,work:films(id)&films.limit=1", {}, None))
    assert (response.status_code, response.json()["code"]) == (400, "PGRST108")
    assert "Warning" not in response.headers
