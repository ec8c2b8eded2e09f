"""Read replicas: a real streaming standby (pg_basebackup -R) next to the test server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from pgrest_core.runner.replicas import ReplicaSet
from pgrest_server.postgres import TempPostgres

DATABASE = "replica_tests"


@pytest.fixture(scope="module")
def standby(pg: TempPostgres) -> Iterator[TempPostgres]:
    pg.create_database(DATABASE, sql_text="create table items (id int primary key);")
    replica = pg.start_standby()
    try:
        yield replica
    finally:
        replica.stop()
        pg.drop_database(DATABASE)


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def test_the_standby_replays_the_primary(pg: TempPostgres, standby: TempPostgres) -> None:
    with psycopg.connect(pg.uri(DATABASE), autocommit=True) as conn:
        conn.execute("insert into items values (1) on conflict do nothing")

    def replayed() -> bool:
        with psycopg.connect(standby.uri(DATABASE)) as conn:
            row = conn.execute("select pg_is_in_recovery(), count(*) from items where id = 1").fetchone()
            return row == (True, 1)

    _wait_until(replayed)


def test_health_follows_the_standby_down_and_back(standby: TempPostgres) -> None:
    replicas = ReplicaSet((standby.uri(DATABASE),), pool_size=2, check_interval=3600, timeout=2)

    async def scenario() -> None:
        await replicas.open()
        try:
            chosen = replicas.choose()
            assert chosen is not None and chosen.lag == 0.0
            standby.pause()
            try:
                await replicas.check_all()
                assert replicas.choose() is None  # reads fall back to the primary
            finally:
                standby.resume()
            for _ in range(100):
                await replicas.check_all()
                if replicas.choose() is not None:
                    break
                await asyncio.sleep(0.1)
            assert replicas.choose() is not None  # it rejoins
        finally:
            await replicas.close()

    asyncio.run(scenario())


def test_a_lagging_standby_is_skipped(standby: TempPostgres) -> None:
    replicas = ReplicaSet((standby.uri(DATABASE),), max_lag=-1.0, check_interval=3600)

    async def scenario() -> None:
        await replicas.open()
        try:
            assert replicas.choose() is None  # every lag is past a negative bound
        finally:
            await replicas.close()

    asyncio.run(scenario())


def test_round_robin_over_healthy_replicas(standby: TempPostgres) -> None:
    uri = standby.uri(DATABASE)
    replicas = ReplicaSet((uri, uri + "?application_name=second"), check_interval=3600)

    async def scenario() -> None:
        await replicas.open()
        try:
            first, second, third = replicas.choose(), replicas.choose(), replicas.choose()
            assert first is not None and second is not None and first is not second and third is first
            replicas.mark_down(first)
            assert replicas.choose() is second and replicas.choose() is second
        finally:
            await replicas.close()

    asyncio.run(scenario())
