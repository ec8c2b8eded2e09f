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
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg.pq.abc import PGresult
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pgrest_core.fragment import Fragment, sql
from pgrest_core.prepared import RESULT_COLUMNS, Prepared, ResultRow
from pgrest_core.runner.errors import connection_failure, from_exception
from pgrest_core.runner.pool import PoolOptions, pool_args
from pgrest_core.runner.replicas import Replica, ReplicaSet
from pgrest_core.runner.statements import Batch, Outcome, SessionConnection, StatementsLost, first_row, rows

Connection = psycopg.AsyncConnection[Any]
TxEnd = Literal["commit", "commit-allow-override", "rollback", "rollback-allow-override"]


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


async def execute(
    conn: Connection,
    prepared: Prepared,
    transaction: Transaction,
    *,
    prepare: bool = True,
    check: Callable[[ResultRow], object] | None = None,
) -> ResultRow:
    """Run the request's transaction on `conn` (autocommit mode) and return its one result row.

    All statements, COMMIT/ROLLBACK included, go out in one batch (statements.Batch): one
    write and one read. After an error PostgreSQL skips the rest of the batch, so a failed
    transaction is never committed; it is rolled back here and the psycopg exception
    propagates. With `prepare`, each statement is prepared once per connection.

    With `check` (a write whose response can still fail: singular, max-affected), the
    transaction stays open until `check(row)` has returned; if it raises, the transaction is
    rolled back. COMMIT then costs a second round trip.
    """
    try:
        return await _execute(conn, prepared, transaction, prepare, check)
    except StatementsLost:
        # Nothing after the lost statement ran and the transaction was rolled back: run the
        # request again once, preparing its statements anew.
        return await _execute(conn, prepared, transaction, prepare, check)


async def _execute(
    conn: Connection,
    prepared: Prepared,
    transaction: Transaction,
    prepare: bool,
    check: Callable[[ResultRow], object] | None,
) -> ResultRow:
    end = "COMMIT" if transaction.commit else "ROLLBACK"
    try:
        batch = Batch(conn, prepare=prepare)
        # A read that commits needs no BEGIN/COMMIT: everything up to a pipeline's Sync is
        # one implicit transaction, which the prelude makes read-only and which ends (and
        # drops the prelude's settings) at the Sync. Two statements fewer per request.
        implicit = (
            psycopg.Pipeline.is_supported()
            and prepared.read_only
            and transaction.prelude_sets_read_only
            and transaction.commit
            and check is None
        )
        # A checked write that rolls back ends the same way whatever the check says, so its end
        # goes out in the same batch: one round trip instead of two (see _checked_rollback).
        end_in_batch = not implicit and (check is None or not transaction.commit)
        if not implicit:
            batch.add(begin_statement(prepared.read_only))
        _add(batch, transaction.prelude)
        if transaction.pre_request is not None:
            _add(batch, transaction.pre_request)
        main = _add(batch, prepared.statement)
        explain = None
        if prepared.count_statement is not None:
            explain = _add(batch, sql("EXPLAIN (FORMAT JSON) ") + prepared.count_statement)
        if end_in_batch:
            _finish(batch, end, prepared.read_only)
        if check is not None and end_in_batch:
            return _checked_rollback(conn, prepared, await batch.run_all(), main, explain, check)
        row = _row(conn, prepared, await batch.run(), main, explain)
        if check is not None:
            check(row)
            finish = Batch(conn, prepare=prepare)
            _finish(finish, end, prepared.read_only)
            await finish.run()
    except BaseException:
        await _rollback_quietly(conn)
        raise
    return row


def _row(
    conn: Connection,
    prepared: Prepared,
    results: Sequence[PGresult | None],
    main: int,
    explain: int | None,
) -> ResultRow:
    main_result = results[main]
    if main_result is None:
        raise AssertionError("the main statement has no result")
    if prepared.recipe.body_format == "plan":
        return _explain_row(rows(conn, main_result))
    explain_result = results[explain] if explain is not None else None
    plan = first_row(conn, explain_result) if explain_result is not None else None
    return _result_row(first_row(conn, main_result), _top_plan_rows(plan[0]) if plan else None)


def _checked_rollback(
    conn: Connection,
    prepared: Prepared,
    outcome: Outcome,
    main: int,
    explain: int | None,
    check: Callable[[ResultRow], object],
) -> ResultRow:
    """The result of a checked write whose SET CONSTRAINTS and ROLLBACK ran in its own batch.

    The errors come out in the order two round trips would give them: one of the statement
    itself first, then the check's, then a deferred constraint violation (SET CONSTRAINTS).
    """
    error, failed_at = outcome.error, outcome.failed_at
    last_of_request = explain if explain is not None else main
    if error is not None and (failed_at is None or failed_at <= last_of_request):
        raise error
    row = _row(conn, prepared, outcome.results, main, explain)
    check(row)
    if error is not None:
        raise error
    return row


def _add(batch: Batch, fragment: Fragment) -> int:
    return batch.add(fragment.render("psycopg"), fragment.params)


def _finish(batch: Batch, end: str, read_only: bool) -> None:
    """End the transaction; deferred constraints are checked first, so that a violation is an
    error the client sees even when the transaction is rolled back anyway."""
    if not read_only:
        batch.add("SET CONSTRAINTS ALL IMMEDIATE")
    batch.add(end)


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


async def _rollback_quietly(conn: Connection) -> None:
    """Roll back after an error; a broken connection is left for the pool to discard."""
    if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        await conn.execute("ROLLBACK", prepare=False)
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
        "connection_class": SessionConnection,
        "open": False,
    }


# A read replica's pool waits at most this long for a connection before the primary answers.
REPLICA_ACQUISITION_TIMEOUT = 1.0


def replica_pool_kwargs(options: PoolOptions) -> dict[str, Any]:
    """`ReplicaSet` pool arguments: built like the primary's pool (same limits, the runner's own
    prepared statements), but quick to give up, since the primary can take the request."""
    args = pool_args("", options)
    del args["conninfo"]
    args["connection_class"] = SessionConnection
    args["timeout"] = min(options.acquisition_timeout, REPLICA_ACQUISITION_TIMEOUT)
    return args


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
        replicas: ReplicaSet | None = None,
    ) -> None:
        self.conninfo = conninfo
        # Standbys for read-only requests (db-uri-read-replicas); opened and closed with the pool.
        self.replicas = replicas
        # `pool_options` (all db-pool-* settings, see runner.pool) supersedes the two sizes above.
        args = (
            pool_args(conninfo, pool_options)
            if pool_options is not None
            else open_pool_args(conninfo, max_size=pool_size, timeout=acquisition_timeout)
        )
        args["connection_class"] = SessionConnection  # the runner's own prepared statements
        self.pool: AsyncConnectionPool[SessionConnection] = AsyncConnectionPool(**args)
        # Like PostgREST, prepare every statement (each connection keeps the most recently
        # used ones) unless told not to, as behind transaction-pooling proxies like PgBouncer.
        self.prepare: bool = prepared_statements

    async def open(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        await self.pool.open(wait=wait, timeout=timeout)
        if self.replicas is not None:
            await self.replicas.open()

    async def close(self) -> None:
        if self.replicas is not None:
            await self.replicas.close()
        await self.pool.close()

    @asynccontextmanager
    async def dedicated_connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
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
        primary_only: bool = False,
    ) -> ResultRow:
        """Run a prepared request; PostgreSQL errors come out as PgrstErrors.

        `check` runs on the result row before COMMIT; what it raises rolls the transaction back.
        A read-only request goes to a healthy read replica, if any, unless `primary_only`; when
        the replica cannot be reached it is marked down and the primary answers instead.
        """
        try:
            replica = None
            if prepared.read_only and not primary_only and self.replicas is not None:
                replica = self.replicas.choose()
            if replica is not None:
                row = await self._on_replica(replica, prepared, transaction, check)
                if row is not None:
                    return row
            # getconn/putconn rather than `pool.connection()`: that one also wraps the connection
            # in `async with conn`, whose COMMIT on exit costs a lock and a wait per request
            # for nothing (execute ends every transaction itself, and putconn rolls back or
            # discards a connection left in one).
            conn = await self.pool.getconn()
            try:
                return await execute(conn, prepared, transaction, prepare=self.prepare, check=check)
            finally:
                await self.pool.putconn(conn)
        except Exception as error:
            mapped = from_exception(error, authenticated=authenticated)
            if mapped is None:
                raise
            raise mapped from error

    async def _on_replica(
        self,
        replica: Replica,
        prepared: Prepared,
        transaction: Transaction,
        check: Callable[[ResultRow], object] | None,
    ) -> ResultRow | None:
        """The request's result from `replica`, or None when the replica could not be used.

        Only connection-level failures make it None (the request is read-only, so running it
        again on the primary is safe); an SQL error is the request's own and propagates.
        """
        assert self.replicas is not None
        try:
            conn = await replica.pool.getconn()
        except (PoolTimeout, psycopg.OperationalError):
            self.replicas.mark_down(replica)
            return None
        try:
            return await execute(conn, prepared, transaction, prepare=self.prepare, check=check)
        except psycopg.Error as error:
            if not _replica_failure(conn, error):
                raise
            self.replicas.mark_down(replica)
            return None
        finally:
            await replica.pool.putconn(conn)


# Errors that say the replica, not the request, failed: the connection is gone or the server is
# shutting down / starting (class 08, 57P01-57P03), or recovery cancelled the query (40001 with a
# standby's "conflict with recovery"; the primary has no such conflict).
_REPLICA_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "40001"})


def _replica_failure(conn: Connection, error: psycopg.Error) -> bool:
    if conn.closed or conn.broken:
        return True
    state = error.sqlstate
    return state is None or state.startswith("08") or state in _REPLICA_SQLSTATES
