"""Run one prepared request in one transaction (psycopg 3, async, through a connection pool).

    BEGIN ISOLATION LEVEL READ COMMITTED [READ ONLY]
    select set_config('search_path', …, true), set_config('role', …, true), …   -- the prelude
    select "schema"."pre_request"()                                               -- if configured
    <the main statement>                                                          -- one row
    [EXPLAIN (FORMAT JSON) <count statement>]                                     -- planned counts
    COMMIT | ROLLBACK                                                             -- db-tx-end

Connections are in autocommit mode so the transaction boundaries above are exactly the ones
sent. The body arrives as one text value: Python never iterates the rows of a response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg_pool import AsyncConnectionPool

from pgrest_core.plan.types import RESULT_COLUMNS, Prepared, ResultRow
from pgrest_core.runner.errors import connection_failure, from_exception
from pgrest_core.runner.pool import PoolOptions, pool_args
from pgrest_core.sql.fragment import Fragment, sql

TxEnd = Literal["commit", "commit-allow-override", "rollback", "rollback-allow-override"]
Connection = psycopg.AsyncConnection[Any]


def should_commit(tx_end: str, preference: str | None) -> bool:
    """Whether the transaction ends with COMMIT, given db-tx-end and `Prefer: tx=…`.

    The preference is honoured only by the `*-allow-override` settings.
    """
    base, _, override = tx_end.partition("-")
    commit = base != "rollback"
    if override == "allow-override" and preference in ("commit", "rollback"):
        commit = preference == "commit"
    return commit


@dataclass(frozen=True, slots=True)
class Transaction:
    """Everything about a request's transaction besides its main statement and access mode."""

    prelude: Fragment
    pre_request: Fragment | None = None
    commit: bool = True
    # The prelude itself sets transaction_read_only for read-only requests, so a read that
    # commits may run as an implicit transaction, without BEGIN and COMMIT.
    prelude_sets_read_only: bool = False


def begin_statement(read_only: bool) -> str:
    return "BEGIN ISOLATION LEVEL READ COMMITTED" + (" READ ONLY" if read_only else "")


def _result_row(values: tuple[Any, ...] | None, planned_count: int | None) -> ResultRow:
    if values is None:
        # The wrapper statement always yields one row; an empty result means an empty response.
        return ResultRow(total_count=None, page_count=0, body=None, planned_count=planned_count)
    row = dict(zip(RESULT_COLUMNS, values, strict=False))
    total = row.get("total_count")
    return ResultRow(
        total_count=int(total) if total is not None else None,
        page_count=int(row.get("page_count") or 0),
        body=row.get("body"),
        response_headers=row.get("response_headers"),
        response_status=row.get("response_status"),
        planned_count=planned_count,
        location=row.get("location"),
        inserted=int(row["inserted"]) if row.get("inserted") is not None else None,
    )


def _top_plan_rows(explain_output: Any) -> int | None:
    """`Plan Rows` of the top node of `EXPLAIN (FORMAT JSON)` output (a JSON array of one plan)."""
    try:
        return int(explain_output[0]["Plan"]["Plan Rows"])
    except (LookupError, TypeError, ValueError):
        return None


async def _run(conn: Connection, fragment: Fragment, prepare: bool | None) -> psycopg.AsyncCursor[Any]:
    return await conn.execute(fragment.render("psycopg"), fragment.params, prepare=prepare)


async def execute(
    conn: Connection,
    prepared: Prepared,
    transaction: Transaction,
    *,
    prepare: bool | None = None,
    check: Callable[[ResultRow], object] | None = None,
) -> ResultRow:
    """Run the request's transaction on `conn` (autocommit mode) and return its one result row.

    All statements, COMMIT/ROLLBACK included, go out in one pipeline: one network round trip.
    After an error PostgreSQL skips the rest of the pipeline, so a failed transaction is never
    committed; it is rolled back here and the psycopg exception propagates.

    With `check` (a write whose response can still fail: singular, max-affected), the
    transaction stays open until `check(row)` has returned; if it raises, the transaction is
    rolled back. COMMIT then costs a second round trip.
    """
    end = "COMMIT" if transaction.commit else "ROLLBACK"
    try:
        async with _batch(conn) as pipeline:
            # A read that commits needs no BEGIN/COMMIT: everything up to a pipeline's Sync is
            # one implicit transaction, which the prelude makes read-only and which ends (and
            # drops the prelude's settings) at the Sync. Two statements fewer per request.
            implicit = (
                pipeline is not None
                and prepared.read_only
                and transaction.prelude_sets_read_only
                and transaction.commit
                and check is None
            )
            if not implicit:
                await conn.execute(begin_statement(prepared.read_only))
            await _run(conn, transaction.prelude, prepare)
            if transaction.pre_request is not None:
                await _run(conn, transaction.pre_request, prepare)
            main = await _run(conn, prepared.statement, prepare)
            explain = None
            if prepared.count_statement is not None:
                explain = await _run(conn, sql("EXPLAIN (FORMAT JSON) ") + prepared.count_statement, prepare)
            if check is None and not implicit:
                await _finish(conn, end, prepared.read_only)
            if pipeline is not None:
                await pipeline.sync()
            if prepared.recipe.body_format == "plan":
                row = _explain_row(await main.fetchall())
            else:
                values = await main.fetchone()
                plan = await explain.fetchone() if explain is not None else None
                row = _result_row(values, _top_plan_rows(plan[0]) if plan else None)
        if check is not None:
            check(row)
            await _finish(conn, end, prepared.read_only)
    except BaseException:
        await _rollback_quietly(conn)
        raise
    return row


async def _finish(conn: Connection, end: str, read_only: bool) -> None:
    """End the transaction; deferred constraints are checked first, so that a violation is an
    error the client sees even when the transaction is rolled back anyway."""
    if not read_only:
        await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    await conn.execute(end)


def _explain_row(rows: list[tuple[Any, ...]]) -> ResultRow:
    """The result of `Accept: application/vnd.pgrst.plan`: the main statement is an EXPLAIN.

    EXPLAIN cannot be wrapped in the usual one-row SELECT, so its output is read here: one
    JSON document (FORMAT JSON, which psycopg has already parsed) or one row per line of text.
    """
    if len(rows) == 1 and not isinstance(rows[0][0], str):
        body = json.dumps(rows[0][0], ensure_ascii=False, separators=(",", ":"))
    else:
        body = "\n".join(str(row[0]) for row in rows)
    return ResultRow(total_count=None, page_count=0, body=body)


@asynccontextmanager
async def _batch(conn: Connection) -> AsyncIterator[psycopg.AsyncPipeline | None]:
    """Pipeline mode when libpq supports it (14+); otherwise statements run one by one."""
    if psycopg.Pipeline.is_supported():
        async with conn.pipeline() as pipeline:
            yield pipeline
    else:
        yield None


async def _rollback_quietly(conn: Connection) -> None:
    """Roll back after an error; a broken connection is left for the pool to discard."""
    if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        await conn.execute("ROLLBACK")
    except psycopg.Error:
        pass


def open_pool_args(conninfo: str, *, max_size: int, timeout: float, min_size: int = 1) -> dict[str, Any]:
    """Keyword arguments for `AsyncConnectionPool` (kept apart so they can be checked in tests)."""
    return {
        "conninfo": conninfo,
        "min_size": max(0, min(min_size, max_size)),
        "max_size": max(1, max_size),
        "timeout": timeout,
        "kwargs": {"autocommit": True},
        "open": False,
    }


class Runner:
    """The connection pool and how to run a request on it, with errors already mapped."""

    def __init__(
        self,
        conninfo: str,
        *,
        pool_size: int = 10,
        acquisition_timeout: float = 10.0,
        prepared_statements: bool = True,
        pool_options: PoolOptions | None = None,
    ) -> None:
        self.conninfo = conninfo
        # `pool_options` (all db-pool-* settings, see runner.pool) supersedes the two sizes above.
        args = (
            pool_args(conninfo, pool_options)
            if pool_options is not None
            else open_pool_args(conninfo, max_size=pool_size, timeout=acquisition_timeout)
        )
        self.pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(**args)
        # Like PostgREST, prepare every statement (psycopg keeps the most used ones per
        # connection) unless told not to, as behind transaction-pooling proxies like PgBouncer.
        self.prepare: bool = prepared_statements

    async def open(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        await self.pool.open(wait=wait, timeout=timeout)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def dedicated_connection(self) -> AsyncIterator[Connection]:
        """A new connection outside the pool (schema loading, LISTEN): it fails fast when the
        database is down instead of waiting for the pool's acquisition timeout."""
        try:
            conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        except psycopg.Error as error:
            raise connection_failure(error) from error
        async with conn:
            yield conn

    async def run(
        self,
        prepared: Prepared,
        transaction: Transaction,
        *,
        authenticated: bool,
        check: Callable[[ResultRow], object] | None = None,
    ) -> ResultRow:
        """Run a prepared request; PostgreSQL errors come out as PgrstErrors.

        `check` runs on the result row before COMMIT; what it raises rolls the transaction back.
        """
        try:
            async with self.pool.connection() as conn:
                return await execute(conn, prepared, transaction, prepare=self.prepare, check=check)
        except Exception as error:
            mapped = from_exception(error, authenticated=authenticated)
            if mapped is None:
                raise
            raise mapped from error
