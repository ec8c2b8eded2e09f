"""A request's statements sent in one go on libpq's pipeline, with named prepared statements
that this module keeps per connection.

psycopg's own `conn.execute()` in a pipeline flushes the socket once per statement and keeps a
prepared-statement cache that forgets everything on ROLLBACK (so under a rollback db-tx-end
every request re-prepared, and a ROLLBACK could leave the cache naming statements the server
had just deallocated). Here a request's statements are queued with libpq's send functions,
followed by one Sync and one flush, and the results are read back in one wait:

    [Close evicted]  [Parse _pgrst_7]  Bind/Execute …  Sync     -- one write, one read

Statements prepared through the protocol belong to the session, not to a transaction, so
ROLLBACK leaves them alone; `StatementCache` is a bounded LRU per connection that closes what
it evicts. Without it (db-prepared-statements = false, e.g. behind PgBouncer) every statement
goes through the unnamed statement and nothing is prepared.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import psycopg
from psycopg import errors, generators, pq
from psycopg._preparing import Prepare, PrepareManager
from psycopg._queries import PostgresQuery  # psycopg's own query + parameter conversion
from psycopg.abc import Buffer, PQGen
from psycopg.abc import Transformer as TransformerProtocol
from psycopg.adapt import Transformer
from psycopg.pq.abc import PGresult

StatementKey = tuple[bytes, tuple[int, ...]]  # the statement's text and its parameter types

_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_SYNC = pq.ExecStatus.PIPELINE_SYNC
_FATAL = pq.ExecStatus.FATAL_ERROR
UNDEFINED_STATEMENT = "26000"  # invalid_sql_statement_name: a name the server does not know
DEFAULT_CAPACITY = 256


class StatementsLost(Exception):  # noqa: N818 - a condition, not an error the client sees
    """The server no longer has a statement the cache named (someone ran DEALLOCATE ALL or
    DISCARD ALL on the connection); the cache is now empty and the batch may be run again."""


class StatementCache:
    """The named prepared statements of one connection, least recently used first.

    Names are never reused on a connection, so a statement the server lost can be prepared
    again under a new name without colliding with anything.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self._names: OrderedDict[StatementKey, bytes] = OrderedDict()
        self._numbers = itertools.count(1)
        self.evicted: list[bytes] = []  # closed on the server at the start of the next batch

    def __len__(self) -> int:
        return len(self._names)

    def lookup(self, key: StatementKey) -> bytes | None:
        name = self._names.get(key)
        if name is not None:
            self._names.move_to_end(key)
        return name

    def new_name(self) -> bytes:
        return b"_pgrst_%d" % next(self._numbers)

    def add(self, key: StatementKey, name: bytes) -> None:
        """Record a statement the server has prepared (its Parse succeeded)."""
        self._names[key] = name
        while len(self._names) > self.capacity:
            self.evicted.append(self._names.popitem(last=False)[1])

    def forget_all(self) -> None:
        """The server no longer has (some of) our statements: prepare each again when next used."""
        self._names.clear()


# Results after which psycopg's cache no longer matches the server: the statements are gone
# (DISCARD ALL, DEALLOCATE ALL) or may no longer describe their result (DROP, ALTER).
_STATEMENTS_INVALIDATED = re.compile(rb"^(?:DROP|ALTER|DISCARD ALL|DEALLOCATE ALL)\b").match


class _KeptAcrossRollback(PrepareManager):
    """psycopg's own prepared-statement cache, for whatever runs through `conn.execute()` on a
    pooled connection, minus its reaction to ROLLBACK: it would forget its statements and send
    `DEALLOCATE ALL`, which drops this module's statements too."""

    def _should_discard(self, prep: Prepare, results: Sequence[PGresult]) -> bool:  # type: ignore[override]
        if self._names or prep == Prepare.SHOULD:
            for result in results:
                status = result.command_status
                ok = result.status == pq.ExecStatus.COMMAND_OK
                if ok and status and _STATEMENTS_INVALIDATED(status):
                    return self.clear()
        return False


class SessionConnection(psycopg.AsyncConnection[Any]):
    """A pooled connection with its own prepared statements and a reusable Transformer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.statements = StatementCache()
        self.transformer = Transformer(self)
        self._prepared = _KeptAcrossRollback()


@dataclass(frozen=True, slots=True)
class _Session:
    statements: StatementCache
    transformer: TransformerProtocol


# The same state for connections a host application opened itself (runner/host.py): kept
# beside the connection for as long as it lives.
_SESSIONS: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], _Session] = weakref.WeakKeyDictionary()


def session(conn: psycopg.AsyncConnection[Any]) -> SessionConnection | _Session:
    """The statement cache and Transformer of `conn`, whichever class it is."""
    if isinstance(conn, SessionConnection):
        return conn
    state = _SESSIONS.get(conn)
    if state is None:
        state = _SESSIONS[conn] = _Session(StatementCache(), Transformer(conn))
    return state


# _Command and _Step are NamedTuples rather than frozen dataclasses: a few of each are made for
# every request, and a tuple is several times cheaper to build.
class _Command(NamedTuple):
    query: bytes
    params: Sequence[Buffer | None] | None
    types: tuple[int, ...]
    formats: Sequence[pq.Format] | None

    @property
    def key(self) -> StatementKey:
        return (self.query, self.types)


class _Step(NamedTuple):
    """One message of the batch that yields one result: Close, Parse, or an execution."""

    kind: str  # "close", "prepare" or "execute"
    command: _Command | None = None
    name: bytes = b""  # the prepared statement's name ("" = the unnamed statement)
    statement: int = -1  # the index of the added statement it belongs to (-1: a Close)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Per added statement its result (None: skipped after an error), and the first error with
    the index of the statement that raised it."""

    results: list[PGresult | None]
    error: Exception | None = None
    failed_at: int | None = None


class Batch:
    """Statements queued for one round trip on `conn`; `run()` sends them and returns, for each
    `add`ed statement, its result. On error nothing after the failing statement ran (PostgreSQL
    skips the rest of a pipeline) and the first error is raised as psycopg's exception."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], *, prepare: bool) -> None:
        self.conn = conn
        self.state = session(conn)
        self.cache: StatementCache | None = self.state.statements if prepare else None
        self._commands: list[_Command] = []

    def add(self, text: str | bytes, params: Sequence[object] | None = None) -> int:
        """Queue a statement (`%s` placeholders); the index of its result in `run()`'s list."""
        query = PostgresQuery(self.state.transformer)
        query.convert(text, params)
        self._commands.append(_Command(query.query, query.params, tuple(query.types), query.formats))
        return len(self._commands) - 1

    async def run(self) -> list[PGresult]:
        """Each added statement's result; raises the first error."""
        outcome = await self.run_all()
        if outcome.error is not None:
            raise outcome.error
        return [result for result in outcome.results if result is not None]

    async def run_all(self) -> Outcome:
        """Like `run`, but the first error is returned (with where it happened), not raised."""
        steps = self._steps()
        pgconn = self.conn.pgconn
        if psycopg.Pipeline.is_supported():
            pgconn.enter_pipeline_mode()
            try:
                for step in steps:
                    self._send(step)
                pgconn.pipeline_sync()
                results = await self.conn.wait(_pipeline_results(pgconn, len(steps)))
            finally:
                _exit_pipeline(pgconn)
        else:  # libpq < 14: one statement at a time, stopping at the first error
            results = []
            for step in steps:
                self._send(step)
                results.append(await self.conn.wait(generators.execute(pgconn)))
                if any(result.status == _FATAL for result in results[-1]):
                    break
        return self._outcome(steps, results)

    def _steps(self) -> list[_Step]:
        cache = self.cache
        if cache is None:
            return [
                _Step("execute", command, statement=index) for index, command in enumerate(self._commands)
            ]
        steps = [_Step("close", name=name) for name in cache.evicted]
        cache.evicted = []
        pending: dict[StatementKey, bytes] = {}  # prepared earlier in this same batch
        for index, command in enumerate(self._commands):
            name = cache.lookup(command.key) or pending.get(command.key)
            if name is None:
                name = pending[command.key] = cache.new_name()
                steps.append(_Step("prepare", command, name, index))
            steps.append(_Step("execute", command, name, index))
        return steps

    def _send(self, step: _Step) -> None:
        pgconn, command = self.conn.pgconn, step.command
        if step.kind == "close":
            if psycopg.capabilities.has_send_close_prepared():
                pgconn.send_close_prepared(step.name)
            else:
                pgconn.send_query_params(b"DEALLOCATE " + step.name, None)
        elif command is None:
            raise AssertionError(f"{step.kind} step without a statement")
        elif step.kind == "prepare":
            pgconn.send_prepare(step.name, command.query, command.types)
        elif step.name:
            pgconn.send_query_prepared(step.name, command.params, command.formats)
        else:
            pgconn.send_query_params(command.query, command.params, command.types, command.formats)

    def _outcome(self, steps: list[_Step], results: list[list[PGresult]]) -> Outcome:
        """Each statement's result; records what got prepared; the first error as an exception."""
        outputs: list[PGresult | None] = [None] * len(self._commands)
        error: PGresult | None = None
        failed_at: int | None = None
        for step, step_results in zip(steps, results, strict=False):
            result = step_results[-1] if step_results else None
            if result is None or result.status == _ABORTED:
                continue
            if result.status == _FATAL:
                if error is None:
                    error, failed_at = result, step.statement
            elif step.kind == "prepare" and self.cache is not None and step.command is not None:
                self.cache.add(step.command.key, step.name)
            elif step.kind == "execute":
                outputs[step.statement] = result
        if error is None:
            return Outcome(outputs)
        exception: Exception = errors.error_from_result(error, encoding=self.conn.info.encoding)
        if getattr(exception, "sqlstate", None) == UNDEFINED_STATEMENT and self.cache is not None:
            self.cache.forget_all()
            lost = StatementsLost()
            lost.__cause__ = exception
            exception = lost
        return Outcome(outputs, exception, failed_at)


def _pipeline_results(pgconn: pq.abc.PGconn, count: int) -> PQGen[list[list[PGresult]]]:
    """Flush what was queued, then read the results of `count` steps and the Sync."""
    yield from generators.send(pgconn)
    results: list[list[PGresult]] = []
    while True:
        step_results = yield from generators.fetch_many(pgconn)
        if step_results and step_results[0].status == _SYNC:
            if len(results) != count:
                raise errors.InternalError(f"expected {count} results before Sync, got {len(results)}")
            return results
        results.append(step_results)


def _exit_pipeline(pgconn: pq.abc.PGconn) -> None:
    """Leave pipeline mode; if results are still pending (the wait was interrupted), the
    conversation is out of step: close the connection so that the pool replaces it."""
    if pgconn.pipeline_status == pq.PipelineStatus.OFF:
        return
    try:
        pgconn.exit_pipeline_mode()
    except psycopg.OperationalError:
        pgconn.finish()


def rows(conn: psycopg.AsyncConnection[Any], result: PGresult) -> list[tuple[Any, ...]]:
    """All rows of a result, loaded by psycopg's type loaders."""
    transformer = session(conn).transformer
    transformer.set_pgresult(result)
    return transformer.load_rows(0, result.ntuples, tuple)


def first_row(conn: psycopg.AsyncConnection[Any], result: PGresult) -> tuple[Any, ...] | None:
    if result.ntuples == 0:
        return None
    transformer = session(conn).transformer
    transformer.set_pgresult(result)
    return transformer.load_row(0, tuple)
