"""Writes through the ASGI app against a real PostgreSQL: POST, PUT, PATCH, DELETE, one
transaction each, and the checks that roll a write back (singular, max-affected, PUT's key)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from pgrest_core.config import Settings
from pgrest_server.app import create_app
from pgrest_server.postgres import TempPostgres

ROLE = "mutations_anon"
SCHEMA_SQL = f"""
create schema api;
grant usage on schema api to {ROLE};
create table api.films (
  id serial primary key,
  title text not null,
  year int,
  rating numeric default 5.0,
  tags text[]
);
create table api.reviews (
  film_id int references api.films(id) on delete cascade,
  author text,
  stars int,
  primary key (film_id, author)
);
create table api.log (entry text);
create table api.secret_ballots (id int primary key, vote text);
insert into api.films(title, year) values ('Alien', 1979), ('Heat', 1995), ('Up', 2009);
insert into api.reviews values (1, 'ann', 5), (1, 'bob', 4), (2, 'ann', 3);
grant select, insert, update, delete on all tables in schema api to {ROLE};
grant usage on all sequences in schema api to {ROLE};
revoke select on api.secret_ballots from {ROLE};
"""
_NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def role(pg: TempPostgres) -> Iterator[str]:
    with psycopg.connect(pg.uri(), autocommit=True) as conn:
        conn.execute(f"drop role if exists {ROLE}")
        conn.execute(f"create role {ROLE} nologin")
    yield ROLE
    with psycopg.connect(pg.uri(), autocommit=True) as conn:
        conn.execute(f"drop role if exists {ROLE}")


@pytest.fixture()
def settings(pg: TempPostgres, role: str) -> Iterator[Settings]:
    name = f"mutations_{next(_NUMBERS)}"
    uri = pg.create_database(name, sql_text=SCHEMA_SQL)
    yield Settings(db_uri=uri, db_schemas=("api",), db_anon_role=role, db_pool=2, log_level="crit")
    pg.drop_database(name)


Call = tuple[str, str, dict[str, str], Any]


def send(settings: Settings, *calls: Call) -> list[httpx.Response]:
    """Run the requests in order against one started app: (method, path, headers, json body)."""

    async def main() -> list[httpx.Response]:
        app = create_app(settings)
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                out = []
                for method, path, headers, body in calls:
                    content = body if isinstance(body, str) else None
                    json_body = None if isinstance(body, str) else body
                    out.append(
                        await client.request(method, path, headers=headers, json=json_body, content=content)
                    )
                return out
        finally:
            await app.shutdown()

    return asyncio.run(main())


REP = {"Prefer": "return=representation"}


def titles(settings: Settings) -> list[str]:
    (response,) = send(settings, ("GET", "/films?select=title&order=id", {}, None))
    return [row["title"] for row in response.json()]


# --- POST ------------------------------------------------------------------------------------


def test_insert_minimal_is_201_without_body(settings: Settings) -> None:
    (response,) = send(settings, ("POST", "/films", {}, {"title": "Ran", "year": 1985}))
    assert (response.status_code, response.content) == (201, b"")
    assert response.headers["content-range"] == "*/*"
    assert "content-type" not in response.headers
    assert titles(settings)[-1] == "Ran"


def test_bulk_insert_with_representation_select_and_embed(settings: Settings) -> None:
    body = [{"title": "Ran", "year": 1985, "tags": ["war"]}, {"title": "Ikiru", "year": 1952, "tags": []}]
    (response,) = send(settings, ("POST", "/films?select=title,tags,reviews(stars)", REP, body))
    assert response.status_code == 201
    assert response.json() == [
        {"title": "Ran", "tags": ["war"], "reviews": []},
        {"title": "Ikiru", "tags": [], "reviews": []},
    ]
    assert response.headers["preference-applied"] == "return=representation"


def test_headers_only_gives_the_location_of_the_new_row(settings: Settings) -> None:
    (response,) = send(
        settings,
        (
            "POST",
            "/reviews",
            {"Prefer": "return=headers-only"},
            {"film_id": 3, "author": "c d&e", "stars": 2},
        ),
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/reviews?film_id=eq.3&author=eq.c%20d%26e"


def test_missing_default_uses_column_defaults(settings: Settings) -> None:
    (response,) = send(
        settings,
        (
            "POST",
            "/films?columns=title,rating&select=title,rating",
            {"Prefer": "return=representation, missing=default"},
            [{"title": "A"}, {"title": "B", "rating": 9}],
        ),
    )
    assert response.json() == [{"title": "A", "rating": 5.0}, {"title": "B", "rating": 9}]
    assert response.headers["preference-applied"] == "missing=default, return=representation"


def test_csv_and_form_bodies(settings: Settings) -> None:
    csv_response, form_response = send(
        settings,
        ("POST", "/films", {"Content-Type": "text/csv", **REP, "Accept": "text/csv"}, "title,year\nRan,1985"),
        (
            "POST",
            "/films?select=title,year",
            {"Content-Type": "application/x-www-form-urlencoded", **REP},
            "title=Ikiru&year=1952",
        ),
    )
    assert csv_response.status_code == 201
    assert csv_response.text.startswith("id,title,year,rating,tags\n")
    assert form_response.json() == [{"title": "Ikiru", "year": 1952}]


def test_invalid_payloads(settings: Settings) -> None:
    empty, mismatched, unknown = send(
        settings,
        ("POST", "/films", {}, ""),
        ("POST", "/films", {}, [{"title": "a"}, {"year": 1}]),
        ("POST", "/films", {}, {"helicopter": 1}),
    )
    assert (empty.status_code, empty.json()["code"], empty.json()["message"]) == (
        400,
        "PGRST102",
        "Empty or invalid json",
    )
    assert mismatched.json()["message"] == "All object keys must match"
    assert (unknown.status_code, unknown.json()["code"]) == (400, "PGRST204")


def test_insert_without_select_privilege_with_return_minimal(settings: Settings) -> None:
    minimal, representation = send(
        settings,
        ("POST", "/secret_ballots", {}, {"id": 1, "vote": "yes"}),
        ("POST", "/secret_ballots", REP, {"id": 2, "vote": "no"}),
    )
    assert minimal.status_code == 201
    assert (representation.status_code, representation.json()["code"]) == (401, "42501")


# --- upserts ---------------------------------------------------------------------------------


def test_merge_duplicates_is_200_when_every_row_was_updated(settings: Settings) -> None:
    headers = {"Prefer": "return=representation, resolution=merge-duplicates"}
    updated, mixed = send(
        settings,
        ("POST", "/reviews?select=author,stars", headers, [{"film_id": 1, "author": "ann", "stars": 1}]),
        (
            "POST",
            "/reviews?select=author,stars",
            headers,
            [{"film_id": 1, "author": "bob", "stars": 2}, {"film_id": 1, "author": "cy", "stars": 3}],
        ),
    )
    assert (updated.status_code, updated.json()) == (200, [{"author": "ann", "stars": 1}])
    assert updated.headers["preference-applied"] == "resolution=merge-duplicates, return=representation"
    assert mixed.status_code == 201
    assert mixed.json() == [{"author": "bob", "stars": 2}, {"author": "cy", "stars": 3}]


def test_ignore_duplicates_returns_only_inserted_rows(settings: Settings) -> None:
    (response,) = send(
        settings,
        (
            "POST",
            "/reviews?select=author&on_conflict=film_id,author",
            {"Prefer": "return=representation, resolution=ignore-duplicates"},
            [{"film_id": 1, "author": "ann", "stars": 1}, {"film_id": 1, "author": "dee", "stars": 1}],
        ),
    )
    assert (response.status_code, response.json()) == (201, [{"author": "dee"}])


def test_put_inserts_then_updates(settings: Settings) -> None:
    inserted, updated, mismatch, bad_filter = send(
        settings,
        ("PUT", "/films?id=eq.10", REP, {"id": 10, "title": "New"}),
        ("PUT", "/films?id=eq.10", REP, [{"id": 10, "title": "Newer"}]),
        ("PUT", "/films?id=eq.11", {}, {"id": 12, "title": "x"}),
        ("PUT", "/films?title=eq.x", {}, {"id": 12, "title": "x"}),
    )
    assert (inserted.status_code, inserted.json()[0]["title"]) == (201, "New")
    assert (updated.status_code, updated.json()[0]["title"]) == (200, "Newer")
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "PGRST115")
    assert (bad_filter.status_code, bad_filter.json()["code"]) == (405, "PGRST105")


# --- PATCH and DELETE ------------------------------------------------------------------------


def test_patch_with_filters_and_representation(settings: Settings) -> None:
    minimal, representation = send(
        settings,
        ("PATCH", "/films?year=lt.1990", {}, {"rating": 8}),
        ("PATCH", "/films?or=(year.eq.1995,year.eq.2009)&select=title&order=title.desc", REP, {"year": 2000}),
    )
    assert (minimal.status_code, minimal.headers["content-range"]) == (204, "0-0/*")
    # The representation shows the updated rows although they no longer match the filter.
    assert representation.json() == [{"title": "Up"}, {"title": "Heat"}]
    assert representation.headers["content-range"] == "0-1/*"


def test_patch_with_an_empty_object_updates_nothing(settings: Settings) -> None:
    (response,) = send(settings, ("PATCH", "/films", REP, {}))
    assert (response.status_code, response.text, response.headers["content-range"]) == (200, "[]", "*/*")


def test_limited_patch_takes_the_first_rows_in_order(settings: Settings) -> None:
    (response,) = send(settings, ("PATCH", "/films?order=year.desc&limit=2&select=title", REP, {"rating": 1}))
    assert sorted(row["title"] for row in response.json()) == ["Heat", "Up"]


def test_delete_with_representation_and_count(settings: Settings) -> None:
    (response,) = send(
        settings,
        (
            "DELETE",
            "/films?id=eq.1&select=title,reviews(author)",
            {"Prefer": "return=representation, count=exact"},
            None,
        ),
    )
    assert response.status_code == 200
    # The embed reads the table as it was before the statement: the cascade is not visible yet.
    assert response.json() == [{"title": "Alien", "reviews": [{"author": "ann"}, {"author": "bob"}]}]
    assert response.headers["content-range"] == "*/1"
    assert titles(settings) == ["Heat", "Up"]


# --- checks that roll the transaction back ---------------------------------------------------


def test_singular_failure_rolls_back(settings: Settings) -> None:
    failed, one = send(
        settings,
        ("DELETE", "/films", {"Accept": "application/vnd.pgrst.object+json"}, None),
        ("DELETE", "/films?id=eq.3", {"Accept": "application/vnd.pgrst.object+json", **REP}, None),
    )
    assert (failed.status_code, failed.json()["details"]) == (406, "The result contains 3 rows")
    assert one.status_code == 200
    assert one.json()["title"] == "Up"
    assert titles(settings) == ["Alien", "Heat"]


def test_max_affected_with_strict_handling_rolls_back(settings: Settings) -> None:
    failed, allowed = send(
        settings,
        ("PATCH", "/films", {"Prefer": "handling=strict, max-affected=2"}, {"title": "same"}),
        ("DELETE", "/films?id=eq.1", {"Prefer": "handling=strict, max-affected=1"}, None),
    )
    assert (failed.status_code, failed.json()["code"], failed.json()["details"]) == (
        400,
        "PGRST124",
        "The query affects 3 rows",
    )
    assert allowed.status_code == 204
    assert allowed.headers["preference-applied"] == "handling=strict, max-affected=1"
    assert titles(settings) == ["Heat", "Up"]


def test_database_errors_keep_their_sqlstate(settings: Settings) -> None:
    duplicate, not_null = send(
        settings,
        ("POST", "/reviews", {}, {"film_id": 1, "author": "ann", "stars": 1}),
        ("POST", "/films", {}, {"year": 1}),
    )
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "23505")
    assert (not_null.status_code, not_null.json()["code"]) == (400, "23502")
