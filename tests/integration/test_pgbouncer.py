"""Behind PgBouncer in transaction pooling mode (`db-prepared-statements = false`).

One server connection (pool_size 1) serves every request in turn, so anything a request left in
the session (role, GUCs, search_path, prepared statements) would show in the next one. Each
answer is compared with what the same app answers on a direct connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from psycopg import sql

from pgrest_core import Settings
from pgrest_server.app import create_app
from pgrest_server.postgres import SUPERUSER, PostgresUnavailable, TempPgBouncer, TempPostgres

DATABASE = "pgbouncer_session_state"
ROLES = ("pb_anon", "pb_alice", "pb_bob")
SECRET = "a-secret-of-at-least-thirty-two-characters"
SCHEMA_SQL = """
create role pb_anon nologin;
create role pb_alice nologin;
create role pb_bob nologin;
grant pb_anon, pb_alice, pb_bob to current_user;
create schema s1;
create schema s2;
-- What a request's session looks like from inside it; the same in both schemas but for its tag.
create function public.session_state(tag text) returns json language sql stable as $$
  select json_build_object(
    'schema', tag,
    'role', current_user,
    'timezone', current_setting('timezone'),
    -- A custom GUC once set in a session reads '' afterwards, not NULL: both mean "not set".
    'greeting', nullif(current_setting('app.greeting', true), ''),
    'search_path', current_setting('search_path'),
    'now_offset', to_char(now(), 'OF'))
$$;
create function s1.state() returns json language sql stable as $$ select public.session_state('s1') $$;
create function s2.state() returns json language sql stable as $$ select public.session_state('s2') $$;
-- The pre-request sets an app GUC from a request header, only when the header is sent.
create function public.pre() returns void language plpgsql as $$
begin
  if current_setting('request.headers', true)::json ->> 'x-greeting' is not null then
    perform set_config('app.greeting', current_setting('request.headers', true)::json ->> 'x-greeting', true);
  end if;
end $$;
grant usage on schema s1, s2 to pb_anon, pb_alice, pb_bob;
grant execute on all functions in schema public, s1, s2 to pb_anon, pb_alice, pb_bob;
"""


@pytest.fixture(scope="module")
def bouncer(pg: TempPostgres) -> Iterator[TempPgBouncer]:
    try:
        proxy = TempPgBouncer(pg, users=(SUPERUSER,), pool_size=1)
    except PostgresUnavailable as reason:
        print(f"skipping the PgBouncer tests: {reason}")
        pytest.skip(str(reason))
    pg.create_database(DATABASE, sql_text=SCHEMA_SQL)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
        pg.drop_database(DATABASE)
        with psycopg.connect(pg.uri(), autocommit=True) as conn:
            for role in ROLES:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _settings(uri: str) -> Settings:
    return Settings(
        db_uri=uri,
        db_schemas=("s1", "s2"),
        db_anon_role="pb_anon",
        db_extra_search_path=("public",),
        db_pre_request="public.pre",
        db_prepared_statements=False,
        db_pool=2,
        # LISTEN needs a session of its own, which transaction pooling does not give.
        db_channel_enabled=False,
        jwt_secret=SECRET,
        log_level="crit",
    )


def _token(role: str) -> str:
    return "Bearer " + jwt.encode({"role": role}, SECRET, algorithm="HS256")


# Requests that each change the session in a different way, and plain ones in between.
REQUESTS: tuple[dict[str, str], ...] = (
    {},
    {"Authorization": _token("pb_alice"), "Prefer": "timezone=America/New_York"},
    {},
    {"Accept-Profile": "s2", "X-Greeting": "hello"},
    {"Authorization": _token("pb_bob")},
    {"Prefer": "timezone=Asia/Tokyo", "Accept-Profile": "s2"},
    {"X-Greeting": "bonjour", "Authorization": _token("pb_alice")},
    {},
)


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            yield client
    finally:
        await app.shutdown()


async def _answers(settings: Settings) -> list[tuple[int, Any]]:
    answers = []
    async with _client(settings) as client:
        for headers in REQUESTS:
            for response in (
                await client.get("/rpc/state", headers=headers),
                await client.post("/rpc/state", headers=headers, json={}),
            ):
                answers.append((response.status_code, response.json()))
    return answers


def test_session_state_never_leaks_through_pgbouncer(pg: TempPostgres, bouncer: TempPgBouncer) -> None:
    direct = asyncio.run(asyncio.wait_for(_answers(_settings(pg.uri(DATABASE))), timeout=60))
    proxied = asyncio.run(asyncio.wait_for(_answers(_settings(bouncer.uri(DATABASE))), timeout=60))
    assert all(status == 200 for status, _ in direct), direct
    assert proxied == direct
    # The requests did change their sessions, so the comparison above means something.
    states = [body for _, body in direct]
    assert {state["role"] for state in states} == set(ROLES)
    assert {state["schema"] for state in states} == {"s1", "s2"}
    assert {state["greeting"] for state in states} == {None, "hello", "bonjour"}
    assert {state["timezone"] for state in states} >= {"America/New_York", "Asia/Tokyo"}
    # And the one server connection behind PgBouncer is back to its defaults afterwards.
    with psycopg.connect(pg.uri(DATABASE), autocommit=True) as conn:
        defaults = conn.execute("select current_setting('timezone'), current_setting('search_path')").fetchone()
    with psycopg.connect(bouncer.uri(DATABASE), autocommit=True, prepare_threshold=None) as conn:
        row = conn.execute(
            "select current_user, current_setting('timezone'), current_setting('search_path'),"
            " coalesce(current_setting('app.greeting', true), ''),"
            " (select count(*) from pg_prepared_statements)"
        ).fetchone()
    assert defaults is not None
    assert row == (SUPERUSER, defaults[0], defaults[1], "", 0)


def test_a_proxied_app_with_prepared_statements_off_answers_repeated_reads(bouncer: TempPgBouncer) -> None:
    """The same shape many times (where a prepared statement would be reused): always 200."""

    async def scenario() -> list[int]:
        settings = replace(_settings(bouncer.uri(DATABASE)), db_pool=3)
        async with _client(settings) as client:
            responses = await asyncio.gather(*(client.get("/rpc/state") for _ in range(30)))
            return [response.status_code for response in responses]

    assert asyncio.run(asyncio.wait_for(scenario(), timeout=60)) == [200] * 30
