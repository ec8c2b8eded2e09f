"""Run a streamed read (pgrest_core/stream.py): rows fetched in batches through a server-side
cursor, inside the request's transaction, so that memory stays flat however many rows there are.

    BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY
    select set_config(…)                                         -- the prelude
    select "schema"."pre_request"()                               -- if configured
    select current_setting('response.headers'), …('response.status')
    DECLARE "pgrst_stream" NO SCROLL CURSOR FOR <rows>            -- psycopg's server cursor
    FETCH 1000 FROM "pgrst_stream"                                -- until no rows are left
    COMMIT

The connection stays taken from the pool until the last batch is read or the client goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from pgrest_core.fragment import Fragment
from pgrest_core.runner.errors import from_exception
from pgrest_core.runner.execute import Connection, Runner, Transaction, begin_statement

BATCH_ROWS = 2000
_GUCS = (
    "SELECT nullif(current_setting('response.headers', true), ''), "
    "nullif(current_setting('response.status', true), '')"
)


@dataclass(slots=True)
class RowStream:
    """An open stream: the response GUCs as the pre-request left them, then the row batches."""

    response_headers: str | None
    response_status: str | None
    cursor: psycopg.AsyncServerCursor[Any]
    batch_rows: int = BATCH_ROWS

    async def batches(self) -> AsyncIterator[list[str]]:
        while True:
            rows = await self.cursor.fetchmany(self.batch_rows)
            if not rows:
                return
            yield [row[0] for row in rows if row[0] is not None]


async def _start(conn: Connection, rows: Fragment, transaction: Transaction) -> RowStream:
    # Never prepared: these run once per stream, and behind PgBouncer nothing may be.
    await conn.execute(begin_statement(True), prepare=False)
    await conn.execute(transaction.prelude.render("psycopg"), transaction.prelude.params, prepare=False)
    if transaction.pre_request is not None:
        pre_request = transaction.pre_request
        await conn.execute(pre_request.render("psycopg"), pre_request.params, prepare=False)
    gucs = await (await conn.execute(_GUCS, prepare=False)).fetchone()
    cursor = conn.cursor(name="pgrst_stream")
    await cursor.execute(rows.render("psycopg"), rows.params)
    headers, status = gucs if gucs is not None else (None, None)
    return RowStream(headers, status, cursor)


@asynccontextmanager
async def open_stream(
    runner: Runner, rows: Fragment, transaction: Transaction, *, authenticated: bool
) -> AsyncIterator[RowStream]:
    """A pooled connection running `rows` in the request's read-only transaction.

    PostgreSQL errors raised while starting come out as PgrstErrors; errors while reading the
    batches are the caller's (the status is sent by then). The transaction always ends here.
    """
    async with runner.pool.connection() as conn:
        try:
            try:
                stream = await _start(conn, rows, transaction)
            except Exception as error:
                mapped = from_exception(error, authenticated=authenticated)
                if mapped is None:
                    raise
                raise mapped from error
            async with stream.cursor:
                yield stream
            await conn.execute("COMMIT", prepare=False)
        finally:
            await _end_quietly(conn)


async def _end_quietly(conn: Connection) -> None:
    """Whatever happened, leave the connection idle for the pool (a broken one is discarded)."""
    if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        await conn.execute("ROLLBACK", prepare=False)
    except psycopg.Error:
        pass
