"""Two instances on one database behave as one API: a schema reload via NOTIFY reaches both.

What shows the reload is what comes from the schema cache: the OpenAPI document's columns.
(A select naming the column works at once: PostgreSQL itself resolves it.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import psycopg

from pgrest_core import Settings
from pgrest_server.app import create_app
from pgrest_server.postgres import SUPERUSER

RELOAD_BOUND = 10.0  # seconds from NOTIFY until every instance serves the new column


@asynccontextmanager
async def _instance(uri: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(db_uri=uri, db_anon_role=SUPERUSER, db_pool=2, log_level="crit"))
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            yield client
    finally:
        await app.shutdown()


async def _listeners(uri: str) -> int:
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        cursor = await conn.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and query ilike 'listen %'"
        )
        row = await cursor.fetchone()
        return int(row[0]) if row is not None else 0


async def _documented_columns(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/")
    assert response.status_code == 200, response.text
    return sorted(response.json()["definitions"]["items"]["properties"])


def test_a_notified_schema_change_reaches_every_instance(db_uri: str) -> None:
    asyncio.run(asyncio.wait_for(_notified_change(db_uri), timeout=60))


async def _notified_change(uri: str) -> None:
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        await conn.execute("create table items (id int primary key); insert into items values (1)")
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(_instance(uri)) for _ in range(2)]
        for client in clients:  # each instance has its schema cache, and its shapes cached
            assert (await client.get("/items")).json() == [{"id": 1}]
            assert await _documented_columns(client) == ["id"]
        deadline = time.monotonic() + 20
        while await _listeners(uri) < 2:  # a NOTIFY sent before LISTEN would reach nobody
            assert time.monotonic() < deadline, "the instances do not listen"
            await asyncio.sleep(0.1)

        async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
            await conn.execute("alter table items add column color text default 'red'")
            await conn.execute("notify pgrst, 'reload schema'")
        notified = time.monotonic()
        pending = set(range(len(clients)))
        while pending:
            assert time.monotonic() - notified < RELOAD_BOUND, f"instances {sorted(pending)} still lack the column"
            for index in sorted(pending):
                if await _documented_columns(clients[index]) == ["color", "id"]:
                    assert (await clients[index].get("/items")).json() == [{"id": 1, "color": "red"}]
                    pending.discard(index)
            await asyncio.sleep(0.1)
