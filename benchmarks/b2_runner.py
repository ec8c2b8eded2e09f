"""B2 runner overhead: request -> response bytes through pgrest, against raw psycopg, no HTTP.

pgrest: `PgrestApp.handle` (auth, parse, plan, compile, one transaction through the runner,
respond) on a pool of one connection. Baselines, on that same pooled connection with the same
prepare setting (`prepare=True`, as the runner uses):

- raw: psycopg executing exactly the statement and parameters pgrest emitted, alone
  (a read in autocommit, a write inside BEGIN … ROLLBACK), body encoded to bytes;
- raw transaction: psycopg sending pgrest's whole transaction itself, in one pipeline, with
  the same shape (a read: the set_config prelude and the statement as one implicit
  transaction; the insert: BEGIN, prelude, statement, SET CONSTRAINTS, ROLLBACK), isolating the
  Python cost of pgrest from the cost of the transaction it chooses to run. B2's goal
  (pgrest <= 1.15x) is against this one.

A workload pgrest does not compile yet (PGRST127) is reported as not implemented.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.timing import Stats, interleaved, interleaved_async
from benchmarks.workloads import ALL, Workload
from pgrest_core.config import Settings
from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.raw_shape import raw_shape
from pgrest_core.schema.model import SchemaCache
from pgrest_core.sql.prelude import RequestContext, prelude

ANON_ROLE = "web_anon"
SCHEMAS = ("public",)
BODY_COLUMN = 2  # total_count, page_count, body, … (pgrest's wrapper statement)


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    workload: Workload
    status: str  # "measured" or "not implemented yet"
    pgrest: Stats | None = None
    raw: Stats | None = None
    raw_transaction: Stats | None = None
    response_bytes: int | None = None
    same_body: bool | None = None  # pgrest's body equals the raw statement's
    stages: tuple[tuple[str, Stats], ...] = ()  # pgrest's request, stage by stage


RAW_STAGE = "repeated read: raw shape + template (instead of parse, plan and compile)"


async def _stage_stats(
    app: Any, workload: Workload, repeats: int, iterations: int
) -> tuple[tuple[str, Stats], ...]:
    """Each stage of `PgrestApp.handle` timed on its own, with the app's own objects: auth,
    parse, plan + compile (first time), the compiled-shape cache (repeated shape), the
    transaction (runner), building the response."""
    from pgrest_core.pipeline import respond
    from pgrest_core.runner.host import transaction_for

    w = workload
    headers = [(name.lower(), value) for name, value in w.headers]

    def parse() -> Any:
        return parse_request(w.method, w.path, w.query, headers, w.body, schemas=SCHEMAS)

    request = parse()
    options = app.options
    raw = raw_shape(w.method, w.path, w.query, headers) if w.method == "GET" and not w.body else None
    prepared = app.shapes.prepare(request, app.schema_cache, options)
    app.shapes.prepare(request, app.schema_cache, options)  # second sighting: the template
    app.shapes.prepare(request, app.schema_cache, options, raw)  # links the raw shape

    def repeated_read() -> Any:
        assert raw is not None
        again = raw_shape(w.method, w.path, w.query, headers)
        hit = app.shapes.prepare_raw(again, headers, app.schema_cache, options)
        if hit is None:
            raise AssertionError(f"{w.key}: the raw shape is not linked")
        return hit
    auth = app.authenticator.authenticate(None)
    def transaction_settings() -> Any:
        return transaction_for(request, auth, app.run_options, read_only=prepared.read_only, path=w.path)

    transaction = transaction_settings()
    row = await app.runner.run(prepared, transaction, authenticated=False)

    async def run_transaction() -> object:
        return await app.runner.run(prepared, transaction, authenticated=False)

    sync_stages: dict[str, Callable[[], object]] = {
        "auth (no token)": lambda: app.authenticator.authenticate(None),
        "parse": parse,
        "plan + compile, first time": lambda: prepare(request, app.schema_cache, options),
        "plan + compile, repeated shape (shape cache)": lambda: app.shapes.prepare(
            request, app.schema_cache, options
        ),
        "transaction settings (prelude)": transaction_settings,
        "response": lambda: respond(prepared, row),
    }
    if raw is not None:
        sync_stages[RAW_STAGE] = repeated_read
    stats = interleaved(sync_stages, repeats=repeats, iterations=iterations)
    stats.update(
        await interleaved_async(
            {"transaction (runner + PostgreSQL)": run_transaction}, repeats=repeats, iterations=iterations
        )
    )
    order = [*sync_stages][:4] + [RAW_STAGE] * (raw is not None) + [
        "transaction settings (prelude)",
        "transaction (runner + PostgreSQL)",
        "response",
    ]
    return tuple((name, stats[name]) for name in order)


def settings_for(uri: str) -> Settings:
    return Settings(
        db_uri=uri,
        db_schemas=SCHEMAS,
        db_anon_role=ANON_ROLE,
        db_pool=1,  # one connection: pgrest and the baselines share it
        db_channel_enabled=False,
        db_tx_end="commit-allow-override",  # lets the insert workload ask for a rollback
        log_level="crit",
    )


def scope_for(workload: Workload) -> dict[str, Any]:
    return {
        "type": "http",
        "method": workload.method,
        "path": workload.path,
        "raw_path": workload.path.encode(),
        "query_string": workload.query.encode(),
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in workload.headers],
    }


def emitted_statement(workload: Workload, cache: SchemaCache) -> tuple[Fragment, bool]:
    """The statement pgrest emits for the workload, and whether it is read-only."""
    request = parse_request(
        workload.method, workload.path, workload.query, workload.headers, workload.body, schemas=SCHEMAS
    )
    prepared = prepare(request, cache, Options(schemas=SCHEMAS))
    return prepared.statement, prepared.read_only


def request_prelude(workload: Workload, read_only: bool) -> Fragment:
    """The prelude pgrest sends for an anonymous request (same text, same kind of values)."""
    context = RequestContext(
        schema=SCHEMAS[0],
        role=ANON_ROLE,
        claims={"role": ANON_ROLE},
        method=workload.method,
        path=workload.path,
        headers=tuple((name.lower(), value) for name, value in workload.headers),
        extra_search_path=("public",),
        extra=(("transaction_read_only", "on"),) if read_only else (),
    )
    return prelude(context)


class Contenders:
    """The three ways of answering one workload, all on the app's single pooled connection."""

    def __init__(self, app: Any, workload: Workload, statement: Fragment, read_only: bool) -> None:
        self.app = app
        self.workload = workload
        self.scope = scope_for(workload)
        self.headers = [(name.lower(), value) for name, value in workload.headers]
        self.text = statement.render("psycopg")
        self.params = statement.params
        self.read_only = read_only
        first = request_prelude(workload, read_only)
        self.prelude_text, self.prelude_params = first.render("psycopg"), first.params

    async def pgrest(self) -> bytes:
        w = self.workload
        response = await self.app.handle(w.method, w.path, self.scope, self.headers, w.body or b"")
        if response.status >= 400:
            raise RuntimeError(f"pgrest answered {response.status}: {response.body[:300]!r}")
        body: bytes = response.body
        return body

    async def raw(self) -> bytes:
        async with self.app.runner.pool.connection() as conn:
            if self.read_only:
                cursor = await conn.execute(self.text, self.params, prepare=True)
                row = await cursor.fetchone()
            else:
                async with conn.pipeline() as pipeline:
                    await conn.execute("BEGIN")
                    cursor = await conn.execute(self.text, self.params, prepare=True)
                    await conn.execute("ROLLBACK")
                    await pipeline.sync()
                    row = await cursor.fetchone()
        return _body(row)

    async def raw_transaction(self) -> bytes:
        """pgrest's transaction shape sent by psycopg: a read that commits is the prelude and the
        statement as one implicit transaction (the prelude makes it read-only); the rolled-back
        insert is BEGIN, prelude, statement, SET CONSTRAINTS ALL IMMEDIATE, ROLLBACK."""
        async with self.app.runner.pool.connection() as conn:
            async with conn.pipeline() as pipeline:
                if not self.read_only:
                    await conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED", prepare=True)
                await conn.execute(self.prelude_text, self.prelude_params, prepare=True)
                cursor = await conn.execute(self.text, self.params, prepare=True)
                if not self.read_only:
                    await conn.execute("SET CONSTRAINTS ALL IMMEDIATE", prepare=True)
                    await conn.execute("ROLLBACK", prepare=True)
                await pipeline.sync()
                row = await cursor.fetchone()
        return _body(row)


def _body(row: tuple[Any, ...] | None) -> bytes:
    value = row[BODY_COLUMN] if row else None
    return value.encode() if isinstance(value, str) else b""


async def _measure(app: Any, workload: Workload, repeats: int, iterations: int) -> WorkloadResult:
    try:
        statement, read_only = emitted_statement(workload, app.schema_cache)
    except PgrstError as error:
        if error.code == "PGRST127":
            return WorkloadResult(workload, "not implemented yet")
        raise
    contenders = Contenders(app, workload, statement, read_only)
    pgrest_body = await contenders.pgrest()
    same_body = pgrest_body == await contenders.raw()
    runs: dict[str, Callable[[], Awaitable[object]]] = {
        "pgrest": contenders.pgrest,
        "raw": contenders.raw,
        "raw_transaction": contenders.raw_transaction,
    }
    stats = await interleaved_async(runs, repeats=repeats, iterations=iterations)
    stages = await _stage_stats(app, workload, repeats, iterations)
    return WorkloadResult(
        workload,
        "measured",
        stats["pgrest"],
        stats["raw"],
        stats["raw_transaction"],
        len(pgrest_body),
        same_body,
        stages,
    )


async def _run(
    uri: str, repeats: int, iterations: int, workloads: tuple[Workload, ...]
) -> list[WorkloadResult]:
    from pgrest_server.app import create_app

    app = create_app(settings_for(uri))
    await app.startup()  # opens the pool and introspects the schema cache
    try:
        if app.runner is None or app.schema_cache is None:
            raise RuntimeError("pgrest did not start: no runner or no schema cache")
        await app.runner.pool.wait(timeout=30)
        return [await _measure(app, workload, repeats, iterations) for workload in workloads]
    finally:
        await app.shutdown()


def run(
    uri: str, *, repeats: int, iterations: int, workloads: tuple[Workload, ...] = ALL
) -> list[WorkloadResult]:
    return asyncio.run(_run(uri, repeats, iterations, workloads))
