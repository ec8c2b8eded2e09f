"""The runner against a real PostgreSQL: one transaction per request, its settings, its errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment, param, sql
from pgrest_core.prepared import Prepared, ResponseRecipe, ResultRow
from pgrest_core.runner.execute import Runner, Transaction, should_commit
from pgrest_core.sql.prelude import RequestContext, pre_request_call, prelude
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database

SCHEMA_SQL = """
create role runner_anon nologin;
create role runner_user nologin;
create schema api;
grant usage on schema api to runner_anon, runner_user;

create table api.items (id int primary key, name text);
insert into api.items values (1, 'one'), (2, 'two');
grant select on api.items to runner_anon;
grant select, insert, update, delete on api.items to runner_user;

create table api.secrets (x int);

create function api.whoami() returns text language sql stable as $$
  select current_user || ' ' || coalesce(current_setting('request.jwt.claims', true), '<none>')
$$;

create function api.request_info() returns json language sql stable as $$
  select json_build_object(
    'method', current_setting('request.method', true),
    'path', current_setting('request.path', true),
    'agent', current_setting('request.headers', true)::json->>'user-agent',
    'cookie', current_setting('request.cookies', true)::json->>'sid',
    'app', current_setting('app.settings.greeting', true),
    'search_path', current_setting('search_path'),
    'read_only', current_setting('transaction_read_only'))
$$;

create function api.teapot() returns void language plpgsql as $$
begin raise sqlstate 'PT418' using message = 'I am a teapot', detail = 'short', hint = 'stout'; end $$;

create function api.custom() returns void language plpgsql as $$
begin
  raise sqlstate 'PGRST' using
    message = '{"code":"ABC","message":"custom","details":"d","hint":"h"}',
    detail = '{"status":419,"headers":{"X-Why":"because"}}';
end $$;

create function api.custom_bad() returns void language plpgsql as $$
begin raise sqlstate 'PGRST' using message = '{"code":"ABC","message":"custom"}', detail = 'nope'; end $$;

create function api.guard() returns void language plpgsql as $$
begin
  if current_setting('request.headers', true)::json->>'x-block' = 'yes' then
    raise exception 'blocked by pre-request' using hint = 'ask nicely';
  end if;
end $$;
"""

RECIPE = ResponseRecipe(content_type="application/json; charset=utf-8", body_format="json")


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def runner_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "runner_tests", SCHEMA_SQL, ("runner_anon", "runner_user"))


def context(role: str = "runner_anon", **overrides: Any) -> RequestContext:
    values: dict[str, Any] = {
        "schema": "api",
        "role": role,
        "claims": {"role": role},
        "method": "GET",
        "path": "/items",
    }
    values.update(overrides)
    return RequestContext(**values)


def _with_params(text: str, params: tuple[object, ...]) -> Fragment:
    """`text` with each `?` replaced by the next parameter."""
    pieces = text.split("?")
    fragment = sql(pieces[0])
    for value, piece in zip(params, pieces[1:], strict=True):
        fragment = fragment + param(value) + sql(piece)
    return fragment


def body_statement(expression: str, *params: object) -> Fragment:
    """A main statement of the standard shape whose body is `expression`."""
    return (
        sql("select null::bigint as total_count, 1 as page_count, (")
        + _with_params(expression, params)
        + sql(")::text as body, null::text as response_headers, null::text as response_status")
    )


def write_statement(write: str, *params: object) -> Fragment:
    """A main statement running the data-modifying `write` (… returning …); the body counts its rows."""
    return _with_params("with w as (" + write + ") ", params) + body_statement("(select count(*) from w)")


async def run_once(
    uri: str,
    statement: Fragment,
    *,
    ctx: RequestContext | None = None,
    read_only: bool = True,
    commit: bool = True,
    pre_request: str | None = None,
    authenticated: bool = False,
    count_statement: Fragment | None = None,
) -> ResultRow:
    runner = Runner(uri, pool_size=2, acquisition_timeout=5)
    await runner.open()
    try:
        prepared = Prepared(statement, RECIPE, read_only=read_only, count_statement=count_statement)
        transaction = Transaction(
            prelude=prelude(ctx or context()),
            pre_request=pre_request_call(pre_request) if pre_request else None,
            commit=commit,
        )
        return await runner.run(prepared, transaction, authenticated=authenticated)
    finally:
        await runner.close()


def run_error(uri: str, statement: Fragment, **kwargs: Any) -> PgrstError:
    with pytest.raises(PgrstError) as caught:
        run(run_once(uri, statement, **kwargs))
    return caught.value


# --- the transaction's settings ----------------------------------------------------------------


def test_role_and_claims_are_visible_to_sql(runner_uri: str) -> None:
    ctx = context("runner_user", claims={"role": "runner_user", "sub": "ana"})
    row = run(run_once(runner_uri, body_statement("api.whoami()"), ctx=ctx))
    assert row == ResultRow(
        total_count=None, page_count=1, body='runner_user {"role":"runner_user","sub":"ana"}'
    )


def test_request_method_path_headers_cookies_app_settings(runner_uri: str) -> None:
    ctx = context(
        method="POST",
        path="/rpc/request_info",
        headers=(("user-agent", "curl/8"),),
        cookies=(("sid", "s3cr3t"),),
        app_settings=(("greeting", "hello"),),
        extra_search_path=("public",),
    )
    row = run(run_once(runner_uri, body_statement("api.request_info()"), ctx=ctx))
    assert row.body is not None
    assert json.loads(row.body) == {
        "method": "POST",
        "path": "/rpc/request_info",
        "agent": "curl/8",
        "cookie": "s3cr3t",
        "app": "hello",
        "search_path": '"api", "public"',
        "read_only": "on",
    }


def test_write_transactions_are_not_read_only(runner_uri: str) -> None:
    statement = body_statement("current_setting('transaction_read_only')")
    row = run(run_once(runner_uri, statement, read_only=False))
    assert row.body == "off"


def test_values_are_bound_parameters(runner_uri: str) -> None:
    row = run(run_once(runner_uri, body_statement("? || '!'", "it's %s; drop table x")))
    assert row.body == "it's %s; drop table x!"


def test_planned_count_comes_from_explain(runner_uri: str) -> None:
    counted = sql("select * from generate_series(1, 123)")
    row = run(run_once(runner_uri, body_statement("'x'"), count_statement=counted))
    assert (row.body, row.planned_count) == ("x", 123)


def test_plan_requests_read_the_explain_output(runner_uri: str) -> None:
    async def explain(options: str) -> ResultRow:
        runner = Runner(runner_uri, pool_size=1)
        await runner.open()
        try:
            recipe = ResponseRecipe(content_type="application/vnd.pgrst.plan", body_format="plan")
            statement = sql(f"EXPLAIN ({options}) select * from api.items")
            prepared = Prepared(statement, recipe)
            return await runner.run(prepared, Transaction(prelude=prelude(context())), authenticated=False)
        finally:
            await runner.close()

    as_json = run(explain("FORMAT JSON"))
    assert as_json.body is not None and json.loads(as_json.body)[0]["Plan"]["Relation Name"] == "items"
    as_text = run(explain("FORMAT TEXT, COSTS OFF"))
    assert as_text.body == "Seq Scan on items"


def test_pre_request_function_runs_after_the_prelude(runner_uri: str) -> None:
    ok = run(run_once(runner_uri, body_statement("'ran'"), pre_request="api.guard"))
    assert ok.body == "ran"
    blocked = context(headers=(("x-block", "yes"),))
    error = run_error(runner_uri, body_statement("'ran'"), ctx=blocked, pre_request="api.guard")
    assert (error.status, error.body()) == (
        400,
        {"code": "P0001", "message": "blocked by pre-request", "details": None, "hint": "ask nicely"},
    )


# --- transaction end ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tx_end", "preference", "commits"),
    [
        ("commit", None, True),
        ("commit", "rollback", True),
        ("commit-allow-override", "rollback", False),
        ("commit-allow-override", None, True),
        ("rollback", "commit", False),
        ("rollback-allow-override", "commit", True),
        ("rollback-allow-override", None, False),
    ],
)
def test_should_commit(tx_end: str, preference: str | None, commits: bool) -> None:
    assert should_commit(tx_end, preference) is commits


def _count_items(uri: str) -> int:
    row = run(run_once(uri, body_statement("(select count(*) from api.items)")))
    return int(row.body or "0")


def test_rollback_discards_writes_and_commit_keeps_them(runner_uri: str) -> None:
    writer = context("runner_user")
    before = _count_items(runner_uri)
    insert = "insert into api.items values (?, 'new') returning id"
    row = run(run_once(runner_uri, write_statement(insert, "100"), ctx=writer, read_only=False, commit=False))
    assert row.body == "1"
    assert _count_items(runner_uri) == before
    run(run_once(runner_uri, write_statement(insert, "101"), ctx=writer, read_only=False, commit=True))
    assert _count_items(runner_uri) == before + 1


# --- errors ------------------------------------------------------------------------------------


def test_read_only_transaction_rejects_writes_with_405(runner_uri: str) -> None:
    statement = write_statement("delete from api.items returning 1")
    error = run_error(runner_uri, statement, ctx=context("runner_user"))
    assert (error.code, error.status) == ("25006", 405)
    assert error.message == "cannot execute SELECT in a read-only transaction"


def test_unique_violation_is_409(runner_uri: str) -> None:
    statement = write_statement("insert into api.items values (1, 'dup') returning 1")
    error = run_error(runner_uri, statement, ctx=context("runner_user"), read_only=False)
    assert (error.status, error.body()) == (
        409,
        {
            "code": "23505",
            "message": 'duplicate key value violates unique constraint "items_pkey"',
            "details": "Key (id)=(1) already exists.",
            "hint": None,
        },
    )


def test_undefined_table_is_404(runner_uri: str) -> None:
    error = run_error(runner_uri, body_statement("(select count(*) from api.nothing)"))
    assert (error.code, error.status) == ("42P01", 404)
    assert error.message == 'relation "api.nothing" does not exist'


def test_permission_denied_is_401_for_anonymous_and_403_when_authenticated(runner_uri: str) -> None:
    statement = body_statement("(select count(*) from api.secrets)")
    anonymous = run_error(runner_uri, statement)
    assert (anonymous.code, anonymous.status) == ("42501", 401)
    assert anonymous.headers == (("WWW-Authenticate", "Bearer"),)
    assert anonymous.message == "permission denied for table secrets"
    signed_in = run_error(runner_uri, statement, ctx=context("runner_user"), authenticated=True)
    assert (signed_in.code, signed_in.status, signed_in.headers) == ("42501", 403, ())


def test_unknown_role_is_401(runner_uri: str) -> None:
    error = run_error(runner_uri, body_statement("1"), ctx=context("no such role"), authenticated=True)
    assert (error.code, error.status, error.message) == ("22023", 401, 'role "no such role" does not exist')


def test_invalid_timezone_is_400(runner_uri: str) -> None:
    error = run_error(runner_uri, body_statement("1"), ctx=context(timezone="Mars/Olympus"))
    assert (error.code, error.status) == ("22023", 400)
    assert error.message == 'invalid value for parameter "TimeZone": "Mars/Olympus"'


def test_raise_pt_status(runner_uri: str) -> None:
    error = run_error(runner_uri, body_statement("api.teapot()"), read_only=False)
    assert (error.status, error.body()) == (
        418,
        {"code": "PT418", "message": "I am a teapot", "details": "short", "hint": "stout"},
    )


def test_raise_pgrst_sets_status_headers_and_body(runner_uri: str) -> None:
    error = run_error(runner_uri, body_statement("api.custom()"), read_only=False)
    assert (error.status, error.headers, error.body()) == (
        419,
        (("X-Why", "because"),),
        {"code": "ABC", "message": "custom", "details": "d", "hint": "h"},
    )


def test_raise_pgrst_with_bad_detail_is_pgrst121(runner_uri: str) -> None:
    error = run_error(runner_uri, body_statement("api.custom_bad()"), read_only=False)
    assert (error.code, error.status) == ("PGRST121", 500)
    assert error.details == "Invalid JSON value for DETAIL: 'nope'"


def test_pool_timeout_is_pgrst003(runner_uri: str) -> None:
    async def scenario() -> PgrstError:
        runner = Runner(runner_uri, pool_size=1, acquisition_timeout=0.2)
        await runner.open()
        try:
            async with runner.pool.connection():  # hold the only connection
                with pytest.raises(PgrstError) as caught:
                    prepared = Prepared(body_statement("1"), RECIPE)
                    await runner.run(prepared, Transaction(prelude=prelude(context())), authenticated=False)
                return caught.value
        finally:
            await runner.close()

    error = run(scenario())
    assert (error.code, error.status) == ("PGRST003", 504)


def test_connection_is_reusable_after_an_error(runner_uri: str) -> None:
    async def scenario() -> ResultRow:
        runner = Runner(runner_uri, pool_size=1, acquisition_timeout=5)
        await runner.open()
        try:
            transaction = Transaction(prelude=prelude(context()))
            failing = Prepared(body_statement("1/0"), RECIPE)
            fine = Prepared(body_statement("'fine'"), RECIPE)
            with pytest.raises(PgrstError):
                await runner.run(failing, transaction, authenticated=False)
            return await runner.run(fine, transaction, authenticated=False)
        finally:
            await runner.close()

    assert run(scenario()).body == "fine"


# --- reads that commit run as one implicit transaction (no BEGIN/COMMIT) -------------------------


def test_implicit_read_transaction_is_read_only_and_leaves_nothing_behind(runner_uri: str) -> None:
    """A read whose prelude sets transaction_read_only skips BEGIN/COMMIT: writes still fail
    with 25006, and the prelude's role and settings end with the pipeline's Sync."""

    async def scenario() -> tuple[PgrstError, str]:
        runner = Runner(runner_uri, pool_size=1, acquisition_timeout=5)
        await runner.open()
        try:
            ctx = context("runner_user", extra=(("transaction_read_only", "on"),))
            transaction = Transaction(prelude=prelude(ctx), prelude_sets_read_only=True)
            write = Prepared(write_statement("delete from api.items returning 1"), RECIPE, read_only=True)
            with pytest.raises(PgrstError) as caught:
                await runner.run(write, transaction, authenticated=True)
            read = Prepared(body_statement("select current_user"), RECIPE, read_only=True)
            await runner.run(read, transaction, authenticated=True)
            async with runner.pool.connection() as conn:  # the same, single connection
                cursor = await conn.execute(
                    "select current_user || ' ' || current_setting('transaction_read_only')"
                )
                after = await cursor.fetchone()
            assert after is not None
            return caught.value, str(after[0])
        finally:
            await runner.close()

    error, after = run(scenario())
    assert (error.code, error.status) == ("25006", 405)
    assert not after.startswith("runner_user") and after.endswith(" off")
