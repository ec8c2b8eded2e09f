"""Prepared statements on pooled connections: they survive every transaction end, and nothing
a request does (`GET /` rolls its privileges query back) can leave a connection behind that
names a statement the server no longer has."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from pgrest_core.config import Settings
from pgrest_core.demo import ANONYMOUS_ROLE, DEMO_SCHEMAS
from pgrest_server.app import PgrestApp
from tests.integration.test_asgi import serving

REPEATS = 6


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=60))


def demo_settings(uri: str, **overrides: Any) -> Settings:
    # One pooled connection: every request and the inspection below share it.
    base = Settings(
        db_uri=uri, db_schemas=DEMO_SCHEMAS, db_anon_role=ANONYMOUS_ROLE, db_pool=1, log_level="crit"
    )
    return Settings(**{**{name: getattr(base, name) for name in base.__slots__}, **overrides})




async def session_statements(app: PgrestApp) -> list[tuple[str, int]]:
    """(statement text, times executed) of the prepared statements of the pool's one connection."""
    assert app.runner is not None
    async with app.runner.pool.connection() as conn:
        cursor = await conn.execute(
            "select statement, generic_plans + custom_plans from pg_prepared_statements"
            " where from_sql = false order by prepare_time",
            prepare=False,
        )
        return [(str(text), int(count)) for text, count in await cursor.fetchall()]


def test_opening_the_api_root_leaves_pooled_connections_usable(demo_db_uri: str) -> None:
    """Issue 8 item 1: after `GET /`, every later request failed with 26000 (prepared statement
    "_pg3_N" does not exist) on the connection that served it."""

    async def scenario() -> list[int]:
        async with serving(demo_settings(demo_db_uri)) as (_, client):
            statuses = [(await client.get("/")).status_code]
            for _ in range(REPEATS):
                response = await client.get("/directors?select=id&limit=1")
                statuses.append(response.status_code)
                assert response.status_code == 200, response.text
            statuses.append((await client.get("/")).status_code)
            statuses.append((await client.get("/directors?select=id&limit=1")).status_code)
            return statuses

    assert run(scenario()) == [200] * (REPEATS + 3)


@pytest.mark.parametrize("tx_end", ["commit", "commit-allow-override", "rollback", "rollback-allow-override"])
def test_a_repeated_request_is_prepared_once_per_connection(demo_db_uri: str, tx_end: str) -> None:
    """Each statement of a repeated request shape is prepared once and then executed again,
    whatever ends the transaction: a ROLLBACK does not drop protocol-level prepared statements."""

    async def scenario() -> list[tuple[str, int]]:
        async with serving(demo_settings(demo_db_uri, db_tx_end=tx_end)) as (app, client):
            await client.get("/")  # a rolled-back read-only transaction in every mode
            for number in range(REPEATS):
                read = await client.get(f"/directors?select=id,last_name&id=eq.{number + 1}")
                assert read.status_code == 200, read.text
                write = await client.post(
                    "/directors",
                    json={"first_name": "A", "last_name": f"B{number}"},
                    headers={"Prefer": "tx=rollback"},
                )
                assert write.status_code == 201, write.text
            return await session_statements(app)

    statements = run(scenario())
    reads = [
        count
        for text, count in statements
        if text.startswith("WITH pgrst_source AS (SELECT") and "last_name" in text
    ]
    writes = [count for text, count in statements if "INSERT INTO" in text]
    preludes = [count for text, count in statements if text.startswith("select set_config")]
    assert reads == [REPEATS], statements
    assert writes == [REPEATS], statements
    # The prelude of reads (with transaction_read_only) and of writes, plus GET /'s.
    assert sum(preludes) == 2 * REPEATS + 1 and len(preludes) <= 2, statements


def test_db_prepared_statements_false_prepares_nothing(demo_db_uri: str) -> None:
    """Behind a transaction-pooling proxy (PgBouncer) named statements must not be used."""

    async def scenario() -> list[tuple[str, int]]:
        settings = demo_settings(demo_db_uri, db_prepared_statements=False, db_tx_end="rollback")
        async with serving(settings) as (app, client):
            for _ in range(REPEATS):
                assert (await client.get("/directors?select=id&limit=1")).status_code == 200
            return await session_statements(app)

    assert run(scenario()) == []


def test_the_statement_cache_is_bounded_and_closes_what_it_evicts(demo_db_uri: str) -> None:
    """A bounded LRU per connection: the server never holds more than its capacity, and an
    evicted shape is simply prepared again when it comes back."""
    capacity = 4
    shapes = [f"/directors?select=id&id=eq.{n}&limit={n}" for n in range(1, 4)] + [
        "/films?select=id&limit=1",
        "/films?select=title&limit=1",
        "/actors?select=id&limit=1",
    ]

    async def scenario() -> tuple[list[str], int]:
        async with serving(demo_settings(demo_db_uri)) as (app, client):
            assert app.runner is not None
            async with app.runner.pool.connection() as conn:
                conn.statements.capacity = capacity
            for path in shapes + shapes[:2]:
                response = await client.get(path)
                assert response.status_code == 200, response.text
            async with app.runner.pool.connection() as conn:
                cursor = await conn.execute(
                    "select name from pg_prepared_statements where from_sql = false", prepare=False
                )
                names = [str(name) for (name,) in await cursor.fetchall()]
                return names, len(conn.statements.evicted)

    names, not_yet_closed = run(scenario())
    # What the last request evicted is closed at the start of the connection's next batch.
    assert len(names) <= capacity + not_yet_closed, names
    assert all(name.startswith("_pgrst_") for name in names), names


def test_a_request_survives_its_statements_being_deallocated(demo_db_uri: str) -> None:
    """Someone ran DEALLOCATE ALL on the connection: the request is run again with its
    statements prepared anew, instead of answering 26000."""

    async def scenario() -> list[int]:
        async with serving(demo_settings(demo_db_uri)) as (app, client):
            assert app.runner is not None
            statuses = [(await client.get("/directors?select=id&limit=1")).status_code]
            async with app.runner.pool.connection() as conn:
                await conn.execute("DEALLOCATE ALL", prepare=False)
            for _ in range(2):
                response = await client.get("/directors?select=id&limit=1")
                assert response.status_code == 200, response.text
                statuses.append(response.status_code)
            return statuses

    assert run(scenario()) == [200, 200, 200]


# --- checked writes that roll back: one batch ----------------------------------------------------

DEFERRED_SQL = """
create table public.deferred_child (
    id int primary key,
    director_id int references public.directors (id) deferrable initially deferred
);
grant select, insert on public.deferred_child to web_anon;
"""


def _count_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from pgrest_core.runner import statements

    sent: list[int] = []
    original = statements.Batch.run_all

    async def counting(self: statements.Batch) -> statements.Outcome:
        sent.append(len(self._commands))
        return await original(self)

    monkeypatch.setattr(statements.Batch, "run_all", counting)
    return sent


def _post(client: httpx.AsyncClient, body: object, *, tx: str, accept: str = "application/json") -> Any:
    return client.post(
        "/deferred_child",
        json=body,
        headers={"Prefer": f"return=representation, tx={tx}", "Accept": accept},
    )


@pytest.mark.parametrize(("tx", "batches"), [("rollback", 1), ("commit", 2)])
def test_a_checked_write_that_rolls_back_takes_one_round_trip(
    demo_db_uri: str, monkeypatch: pytest.MonkeyPatch, tx: str, batches: int
) -> None:
    import psycopg

    with psycopg.connect(demo_db_uri, autocommit=True) as conn:
        conn.execute(DEFERRED_SQL)
    sent = _count_batches(monkeypatch)

    async def scenario() -> tuple[int, int, int]:
        settings = demo_settings(demo_db_uri, db_tx_end="commit-allow-override")
        async with serving(settings) as (_, client):
            sent.clear()
            ok = await _post(client, {"id": 1, "director_id": 1}, tx=tx)
            assert ok.status_code == 201, ok.text
            count = len(sent)
            # A deferred violation is still reported, after the statement ran.
            violation = await _post(client, {"id": 2, "director_id": 999}, tx=tx)
            assert violation.json()["code"] == "23503", violation.text
            # The check's error comes before the deferred violation, as with two round trips.
            both = await _post(
                client,
                [{"id": 3, "director_id": 999}, {"id": 4, "director_id": 999}],
                tx=tx,
                accept="application/vnd.pgrst.object+json",
            )
            assert both.json()["code"] == "PGRST116", both.text
            return count, violation.status_code, both.status_code

    assert run(scenario()) == (batches, 409, 406)
