"""pgrest_core.runner.host: the async and the sync runner give PostgREST's transaction semantics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest

import pgrest_core
from pgrest_core import Authenticator, AuthResult, Options, Response
from pgrest_core.runner.host import RunOptions, anonymous, run_prepared, run_request, run_request_sync
from pgrest_core.shape_cache import ShapeCache
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database

SETUP = """
create role host_anon nologin;
create role host_user nologin;
create table items (id int primary key, name text not null, deferred_ref int);
insert into items values (1, 'one', null), (2, 'two', null), (3, 'three', null);
create table hidden (x int);
grant select, insert, update, delete on items to host_anon, host_user;
grant select on hidden to host_user;
create function whoami() returns json language sql stable as $$
  select json_build_object('user', current_user, 'path', current_setting('request.path', true),
                           'claims', current_setting('request.jwt.claims', true)::json,
                           'app', current_setting('app.settings.shop', true),
                           'read_only', current_setting('transaction_read_only'))
$$;
grant execute on function whoami() to host_anon, host_user;
create function guard() returns void language plpgsql as $$
begin
  perform set_config('response.headers', '[{"X-Guarded": "yes"}]', true);
  if current_setting('request.headers', true)::json->>'x-block' = 'yes' then
    raise exception 'blocked by the pre-request function' using errcode = 'P0001';
  end if;
end $$;
grant execute on function guard() to host_anon, host_user;
"""

OPTIONS = Options(schemas=("public",), plan_enabled=True)
ANON = anonymous("host_anon")
DEFAULTS = RunOptions()


@pytest.fixture(scope="module")
def uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "host_runner", SETUP, ("host_anon", "host_user"))


@pytest.fixture(scope="module")
def cache(uri: str) -> pgrest_core.SchemaCache:
    return pgrest_core.load_schema_sync(uri, OPTIONS.schemas)


def call(
    kind: str,
    uri: str,
    cache: pgrest_core.SchemaCache,
    method: str,
    path: str,
    query: str = "",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    *,
    auth: AuthResult | Authenticator = ANON,
    run_options: RunOptions = DEFAULTS,
    shapes: ShapeCache | None = None,
) -> Response:
    """One request through the async or the sync runner, on a fresh autocommit connection."""
    args: tuple[Any, ...] = (method, path, query, list(headers), body)
    kwargs: dict[str, Any] = {"cache": cache, "options": OPTIONS, "auth": auth, "run_options": run_options}
    kwargs["shapes"] = shapes
    if kind == "sync":
        with psycopg.connect(uri, autocommit=True) as conn:
            return run_request_sync(conn, *args, **kwargs)

    async def main() -> Response:
        async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
            return await run_request(conn, *args, **kwargs)

    return asyncio.run(asyncio.wait_for(main(), timeout=30))


def items(uri: str) -> list[tuple[int, str]]:
    with psycopg.connect(uri) as conn:
        return [(r[0], r[1]) for r in conn.execute("select id, name from items order by id")]


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_prelude_sets_role_path_claims_and_read_only(kind: str, uri: str, cache: Any) -> None:
    options = RunOptions(app_settings=(("shop", "films"),))
    me = json.loads(call(kind, uri, cache, "GET", "/rpc/whoami", run_options=options).body)
    assert me == {
        "user": "host_anon",
        "path": "/rpc/whoami",
        "claims": {"role": "host_anon"},
        "app": "films",
        "read_only": "on",
    }
    user = AuthResult(role="host_user", claims={"role": "host_user", "sub": "42"}, authenticated=True)
    assert json.loads(call(kind, uri, cache, "GET", "/rpc/whoami", auth=user).body)["claims"]["sub"] == "42"


def test_a_shape_cache_serves_repeated_requests_with_the_same_answers(kind: str, uri: str, cache: Any) -> None:
    shapes = ShapeCache()
    reads = [("GET", "/items", f"id=eq.{n}&select=id,name", [("X-N", str(n))], None) for n in (1, 2, 3, 1, 2)]
    others = [
        ("GET", "/rpc/whoami", "", [("Cookie", "a=b")], None),
        ("POST", "/items", "", [("Prefer", "return=representation")], b'{"id": 9, "name": "x"}'),
    ]
    rolled_back = RunOptions(tx_end="rollback")  # the insert leaves nothing behind
    for method, path, query, headers, body in reads + others * 3:
        cached = call(kind, uri, cache, method, path, query, headers, body, run_options=rolled_back, shapes=shapes)
        fresh = call(kind, uri, cache, method, path, query, headers, body, run_options=rolled_back)
        assert (cached.status, cached.headers, cached.body) == (fresh.status, fresh.headers, fresh.body)
    assert len(shapes._raw) == 1  # the repeated read was answered from its raw shape


def test_counts_planned_and_exact(kind: str, uri: str, cache: Any) -> None:
    exact = call(kind, uri, cache, "GET", "/items", "select=id&limit=1", [("Prefer", "count=exact")])
    assert (exact.status, dict(exact.headers)["Content-Range"]) == (206, "0-0/3")
    planned = call(kind, uri, cache, "GET", "/items", "select=id&limit=1", [("Prefer", "count=planned")])
    total = dict(planned.headers)["Content-Range"].split("/")[1]
    assert total.isdigit() and int(total) > 0


def test_the_plan_media_type_returns_the_explain_output(kind: str, uri: str, cache: Any) -> None:
    plan = call(kind, uri, cache, "GET", "/items", "", [("Accept", "application/vnd.pgrst.plan+json")])
    assert plan.status == 200
    assert "Plan" in json.loads(plan.body)[0]
    text = call(kind, uri, cache, "GET", "/items", "", [("Accept", "application/vnd.pgrst.plan+text")])
    assert text.body.decode().startswith("Aggregate")


def test_a_failing_response_rolls_the_write_back(kind: str, uri: str, cache: Any) -> None:
    before = items(uri)
    single = call(
        kind, uri, cache, "PATCH", "/items", "", [("Accept", "application/vnd.pgrst.object+json")], b'{"name":"x"}'
    )
    assert (single.status, json.loads(single.body)["code"]) == (406, "PGRST116")
    strict = call(
        kind, uri, cache, "DELETE", "/items", "id=gt.0", [("Prefer", "handling=strict, max-affected=1")]
    )
    assert (strict.status, json.loads(strict.body)["code"]) == (400, "PGRST124")
    assert items(uri) == before


def test_tx_end_and_the_tx_preference(kind: str, uri: str, cache: Any) -> None:
    override = RunOptions(tx_end="commit-allow-override")
    body = json.dumps({"id": 10, "name": "ten"}).encode()
    rolled = call(kind, uri, cache, "POST", "/items", "", [("Prefer", "tx=rollback")], body, run_options=override)
    assert rolled.status == 201 and ("Preference-Applied", "tx=rollback") in rolled.headers
    assert (10, "ten") not in items(uri)
    always = call(kind, uri, cache, "POST", "/items", "", [], body, run_options=RunOptions(tx_end="rollback"))
    assert always.status == 201 and (10, "ten") not in items(uri)
    ignored = call(kind, uri, cache, "POST", "/items", "", [("Prefer", "tx=rollback")], body)
    assert ignored.status == 201 and all(name != "Preference-Applied" for name, _ in ignored.headers)
    assert (10, "ten") in items(uri)
    call(kind, uri, cache, "DELETE", "/items", "id=eq.10")


def test_the_pre_request_function_runs_first(kind: str, uri: str, cache: Any) -> None:
    guarded = RunOptions(pre_request="guard")
    ok = call(kind, uri, cache, "GET", "/items", "id=eq.1", run_options=guarded)
    assert ok.status == 200 and ("X-Guarded", "yes") in ok.headers
    blocked = call(kind, uri, cache, "GET", "/items", "", [("X-Block", "yes")], run_options=guarded)
    assert (blocked.status, json.loads(blocked.body)["message"]) == (400, "blocked by the pre-request function")


def test_errors_become_postgrest_responses(kind: str, uri: str, cache: Any) -> None:
    denied = call(kind, uri, cache, "GET", "/hidden")
    assert (denied.status, json.loads(denied.body)["code"]) == (401, "42501")
    user = AuthResult(role="host_user", claims={}, authenticated=True)
    forbidden = call(kind, uri, cache, "DELETE", "/hidden", auth=user)
    assert forbidden.status == 403
    duplicate = call(kind, uri, cache, "POST", "/items", "", [], b'{"id":1,"name":"again"}')
    assert (duplicate.status, json.loads(duplicate.body)["code"]) == (409, "23505")
    unknown = call(kind, uri, cache, "GET", "/nope")
    assert (unknown.status, json.loads(unknown.body)["code"]) == (404, "PGRST205")
    minimal = call(kind, uri, cache, "GET", "/nope", run_options=RunOptions(verbose_errors=False))
    assert set(json.loads(minimal.body)) == {"code", "message"}


def test_options_and_the_document_follow_the_role(kind: str, uri: str, cache: Any) -> None:
    allow = dict(call(kind, uri, cache, "OPTIONS", "/items").headers)["Allow"]
    assert allow == "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"
    anon_paths = json.loads(call(kind, uri, cache, "GET", "/").body)["paths"]
    assert "/items" in anon_paths and "/hidden" not in anon_paths
    user = AuthResult(role="host_user", claims={}, authenticated=True)
    assert "/hidden" in json.loads(call(kind, uri, cache, "GET", "/", auth=user).body)["paths"]


def test_a_jwt_authenticator_picks_the_role(kind: str, uri: str, cache: Any) -> None:
    authenticator = pgrest_core.Authenticator.from_settings(
        pgrest_core.Settings(db_anon_role="host_anon", jwt_secret="x" * 32)
    )
    me = call(kind, uri, cache, "GET", "/rpc/whoami", auth=authenticator)
    assert json.loads(me.body)["user"] == "host_anon"
    bad = call(kind, uri, cache, "GET", "/rpc/whoami", "", [("Authorization", "Bearer nope")], auth=authenticator)
    assert (bad.status, json.loads(bad.body)["code"]) == (401, "PGRST301")


def test_connections_must_be_in_autocommit_mode(uri: str, cache: Any) -> None:
    request = pgrest_core.parse_request("GET", "/items", "", [], schemas=OPTIONS.schemas)
    prepared = pgrest_core.prepare(request, cache, OPTIONS)
    with psycopg.connect(uri) as conn, pytest.raises(ValueError, match="autocommit"):
        run_request_sync(conn, "GET", "/items", "", [], None, cache=cache, options=OPTIONS, auth=ANON)

    async def main() -> None:
        async with await psycopg.AsyncConnection.connect(uri) as conn:
            await run_prepared(conn, request, prepared, auth=ANON)

    with pytest.raises(ValueError, match="autocommit"):
        asyncio.run(main())
