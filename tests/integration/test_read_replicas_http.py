"""db-uri-read-replicas through the app, against a real streaming standby (pg_basebackup -R).

`pg_is_in_recovery()` seen from SQL says where a request ran: true on the standby.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import psycopg
import pytest

from pgrest_core import Settings
from pgrest_server.app import create_app
from pgrest_server.postgres import SUPERUSER, TempPostgres

DATABASE = "read_replica_http"
SCHEMA_SQL = """
create schema api;
create function api.where_am_i() returns boolean language sql stable as $$ select pg_is_in_recovery() $$;
create function api.where_am_i_volatile() returns boolean language sql volatile
  as $$ select pg_is_in_recovery() $$;
create view api.here as select pg_is_in_recovery() as standby;
create table api.notes (id serial primary key, written_on_standby boolean default pg_is_in_recovery());
"""


@pytest.fixture(scope="module")
def standby(pg: TempPostgres) -> Iterator[TempPostgres]:
    pg.create_database(DATABASE, sql_text=SCHEMA_SQL)
    replica = pg.start_standby()
    try:
        _wait_for_replay(replica)
        yield replica
    finally:
        replica.stop()
        pg.drop_database(DATABASE)


def _wait_for_replay(replica: TempPostgres, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(replica.uri(DATABASE), connect_timeout=2) as conn:
                row = conn.execute("select to_regclass('api.notes') is not null").fetchone()
                if row == (True,):
                    return
        except psycopg.OperationalError:
            pass
        time.sleep(0.1)
    raise AssertionError("the standby did not replay the schema in time")


def _settings(pg: TempPostgres, standby: TempPostgres, max_lag: int = 10) -> Settings:
    return Settings(
        db_uri=pg.uri(DATABASE),
        db_schemas=("api",),
        db_anon_role=SUPERUSER,
        db_pool=2,
        db_uri_read_replicas=(standby.uri(DATABASE),),
        db_read_replicas_max_lag=max_lag,
        log_level="crit",
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


async def _on_standby(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> bool:
    response = await client.get("/rpc/where_am_i", headers=headers)
    assert response.status_code == 200, response.text  # never a 5xx, whatever the standby does
    result = response.json()
    assert isinstance(result, bool)
    return result


async def _until_on_standby(client: httpx.AsyncClient, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await _on_standby(client):
        if time.monotonic() > deadline:
            raise AssertionError("reads did not go to the standby in time")
        await asyncio.sleep(0.2)


def test_reads_go_to_the_standby_and_writes_to_the_primary(pg: TempPostgres, standby: TempPostgres) -> None:
    asyncio.run(asyncio.wait_for(_reads_and_writes(pg, standby), timeout=120))


async def _reads_and_writes(pg: TempPostgres, standby: TempPostgres) -> None:
    async with _client(_settings(pg, standby)) as client:
        await _until_on_standby(client)
        assert (await client.get("/here")).json() == [{"standby": True}]  # GET on a relation
        assert (await client.head("/here")).status_code == 200
        assert (await client.post("/rpc/where_am_i", json={})).json() is True  # POST to a STABLE function
        assert (await client.post("/rpc/where_am_i_volatile", json={})).json() is False
        written = await client.post("/notes", json={}, headers={"Prefer": "return=representation"})
        assert (written.status_code, written.json()[0]["written_on_standby"]) == (201, False)
        # The escape hatch: a read that must see its own writes asks for the primary.
        assert await _on_standby(client, {"Pgrest-Read-From": "primary"}) is False
        assert await _on_standby(client, {"Pgrest-Read-From": "replica"}) is True


def test_a_stopped_standby_falls_back_to_the_primary_and_rejoins(pg: TempPostgres, standby: TempPostgres) -> None:
    asyncio.run(asyncio.wait_for(_stopped_standby(pg, standby), timeout=180))


async def _stopped_standby(pg: TempPostgres, standby: TempPostgres) -> None:
    async with _client(_settings(pg, standby)) as client:
        await _until_on_standby(client)
        await asyncio.to_thread(standby.pause)
        try:
            # The pool still holds a connection to the stopped standby: the first read finds it
            # broken and runs on the primary; later ones skip the standby altogether.
            for _ in range(5):
                assert await _on_standby(client) is False
            assert (await client.get("/here")).json() == [{"standby": False}]
        finally:
            await asyncio.to_thread(standby.resume)
        await _until_on_standby(client)  # it rejoins


def test_a_standby_lagging_past_the_bound_gets_no_reads(pg: TempPostgres, standby: TempPostgres) -> None:
    asyncio.run(asyncio.wait_for(_lagging_standby(pg, standby), timeout=120))


async def _lagging_standby(pg: TempPostgres, standby: TempPostgres) -> None:
    async with _client(_settings(pg, standby, max_lag=1)) as client:
        await _until_on_standby(client)
        with psycopg.connect(standby.uri(DATABASE), autocommit=True) as replica:
            replica.execute("select pg_wal_replay_pause()")
            try:
                await asyncio.sleep(1.5)  # the last replayed transaction is now older than 1 s
                assert (await client.post("/notes", json={})).status_code == 201  # WAL the standby receives
                deadline = time.monotonic() + 20
                while await _on_standby(client):  # the next health check sees the lag
                    assert time.monotonic() < deadline, "the lagging standby still gets reads"
                    await asyncio.sleep(0.2)
            finally:
                replica.execute("select pg_wal_replay_resume()")
        await _until_on_standby(client)
