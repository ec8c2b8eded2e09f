"""Run requests on your own psycopg connection: pgrest inside another server (FastAPI, Flask, a script).

    response = await run_request(conn, "GET", "/films", "year=gt.2000", headers, None,
                                 cache=cache, options=options, auth=anonymous("web_anon"))

Each request gets PostgREST's transaction (see runner/execute.py): BEGIN (READ ONLY for reads),
the prelude (search_path, role, request.* settings), the pre-request function, the main
statement, the EXPLAIN for `count=planned`, then COMMIT or ROLLBACK as db-tx-end and
`Prefer: tx` say. A write's response is built before COMMIT, so a response that fails (a
singular response with other than one row, handling=strict's max-affected) rolls it back.

Connections must be in autocommit mode (`psycopg.connect(uri, autocommit=True)`): the
transaction boundaries are the ones sent here. Every failure becomes the PostgREST error
response; the functions return a `Response` and raise only for programming errors. Schema
caches for them come from `pgrest_core.load_schema` / `load_schema_sync` (or a snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from pgrest_core.ast import ApiRequest, RequestHead, RootTarget, RoutineTarget, TableTarget
from pgrest_core.auth import Authenticator, AuthResult
from pgrest_core.config import Settings, TxEnd
from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment, sql
from pgrest_core.pipeline import Options, prepare, respond
from pgrest_core.prepared import Prepared, Response, ResultRow
from pgrest_core.request.api_request import parse_request
from pgrest_core.response import error_response
from pgrest_core.runner.errors import from_exception
from pgrest_core.runner.execute import (
    Transaction,
    _explain_row,
    _result_row,
    _top_plan_rows,
    begin_statement,
    execute,
    should_commit,
)
from pgrest_core.schema.model import SchemaCache
from pgrest_core.shape_cache import ShapeCache
from pgrest_core.sql.prelude import RequestContext, pre_request_call, prelude

AsyncConnection = psycopg.AsyncConnection[Any]
SyncConnection = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """The settings of the transaction around each request (a narrow view of config.Settings)."""

    pre_request: str | None = None  # db-pre-request: a function called before each request
    tx_end: TxEnd = "commit"  # db-tx-end
    extra_search_path: tuple[str, ...] = ("public",)  # db-extra-search-path
    app_settings: tuple[tuple[str, str], ...] = ()  # app.settings.* (names without the prefix)
    verbose_errors: bool = True  # client-error-verbosity=verbose
    # db-hoisted-tx-settings: a called function's SET options applied to the whole transaction
    hoisted_tx_settings: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> RunOptions:
        return cls(
            pre_request=settings.db_pre_request,
            tx_end=settings.db_tx_end,
            extra_search_path=tuple(settings.db_extra_search_path),
            app_settings=tuple(
                (name.removeprefix("app.settings."), str(value)) for name, value in settings.app_settings
            ),
            verbose_errors=settings.client_error_verbosity == "verbose",
            hoisted_tx_settings=tuple(settings.db_hoisted_tx_settings),
        )


def anonymous(role: str) -> AuthResult:
    """Who an unauthenticated request runs as: db-anon-role."""
    return AuthResult(role=role, claims={}, authenticated=False)


# --- the pieces every runner shares -----------------------------------------------------------


def request_path(request: ApiRequest | RequestHead) -> str:
    """The path for `request.path` when the host does not give the one it received."""
    target = request.target
    if isinstance(target, TableTarget):
        return "/" + target.name
    if isinstance(target, RoutineTarget):
        return "/rpc/" + target.name
    assert isinstance(target, RootTarget)
    return "/"


def transaction_for(
    request: ApiRequest | RequestHead,  # a parsed request, or the head of one from a raw shape
    auth: AuthResult,
    options: RunOptions,
    *,
    read_only: bool,
    metadata: bool = False,
    path: str | None = None,
    function_settings: tuple[tuple[str, str], ...] = (),
) -> Transaction:
    """The transaction around a request's statement: its prelude (role, search_path, request.*
    settings), the pre-request call and how it ends (`Prepared.read_only` and `.is_metadata`).

    The OpenAPI document's privileges query (`metadata`) runs without the pre-request function
    and is rolled back: it only reads the catalog.
    """
    if request.schema is None:
        raise ValueError("the request has no schema: parse it with parse_request(..., schemas=…)")
    # Also set when BEGIN … READ ONLY is skipped (see runner.execute): reads stay reads.
    extra = _READ_ONLY if read_only else ()
    if function_settings:
        extra += hoisted(function_settings, options)
    context = RequestContext(
        schema=request.schema,
        role=auth.role,
        claims=_claims(auth),
        method=request.method,
        path=path if path is not None else request_path(request),
        headers=request.headers,
        cookies=request.cookies,
        extra_search_path=options.extra_search_path,
        app_settings=options.app_settings,
        timezone=request.preferences.timezone,
        extra=extra,
    )
    pre_request = pre_request_call(options.pre_request) if options.pre_request and not metadata else None
    return Transaction(
        prelude=prelude(context),
        pre_request=pre_request,
        commit=not metadata and should_commit(options.tx_end, request.preferences.tx),
        prelude_sets_read_only=read_only,
    )


_READ_ONLY: tuple[tuple[str, str], ...] = (("transaction_read_only", "on"),)


def prepared_transaction(
    request: ApiRequest | RequestHead,
    prepared: Prepared,
    auth: AuthResult,
    options: RunOptions,
    path: str | None = None,
) -> Transaction:
    """`transaction_for` as `prepared` asks: its access mode, whether it is the OpenAPI
    document's metadata query, and the called function's settings."""
    return transaction_for(
        request,
        auth,
        options,
        read_only=prepared.read_only,
        metadata=prepared.is_metadata,
        path=path,
        function_settings=prepared.function_settings,
    )


def hoisted(
    function_settings: tuple[tuple[str, str], ...], options: RunOptions
) -> tuple[tuple[str, str], ...]:
    """The called function's SET options that db-hoisted-tx-settings lets apply to the whole
    transaction (so that `SET statement_timeout` on a function limits the request)."""
    allowed = set(options.hoisted_tx_settings)
    return tuple((name, value) for name, value in function_settings if name in allowed)


def _claims(auth: AuthResult) -> Mapping[str, object]:
    """The claims for `request.jwt.claims`; an anonymous request shows just its role."""
    if not auth.authenticated and not auth.claims:
        return {"role": auth.role}
    return dict(auth.claims)


def with_tx_preference(response: Response, request: ApiRequest | RequestHead, tx_end: TxEnd) -> Response:
    """Add `tx=…` to Preference-Applied when db-tx-end lets the request choose (`*-allow-override`)."""
    preference = request.preferences.tx
    if preference is None or not tx_end.endswith("allow-override"):
        return response
    applied = "tx=" + preference
    headers = list(response.headers)
    for index, (name, value) in enumerate(headers):
        if name.lower() == "preference-applied":
            if applied not in (part.strip() for part in value.split(",")):
                headers[index] = (name, value + ", " + applied)
            return Response(response.status, tuple(headers), response.body)
    return Response(response.status, (*headers, ("Preference-Applied", applied)), response.body)


class Responder:
    """`respond` as the check run before COMMIT, keeping its response so it is built once."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.response: Response | None = None

    def check(self) -> Callable[[ResultRow], object] | None:
        return self._respond if self.prepared.check_before_commit else None

    def _respond(self, row: ResultRow) -> Response:
        self.response = respond(self.prepared, row)
        return self.response

    def final(self, row: ResultRow, request: ApiRequest | RequestHead, options: RunOptions) -> Response:
        response = self.response if self.response is not None else respond(self.prepared, row)
        if self.prepared.is_metadata:
            return response
        return with_tx_preference(response, request, options.tx_end)


def _mapped(error: Exception, auth: AuthResult) -> PgrstError:
    """A database or connection error as the PgrstError PostgREST answers with."""
    if isinstance(error, PgrstError):
        return error
    mapped = from_exception(error, authenticated=auth.authenticated)
    if mapped is None:
        raise error
    return mapped


def _autocommit(conn: AsyncConnection | SyncConnection) -> None:
    if not conn.autocommit:
        raise ValueError("pgrest runs its own transactions: open the connection with autocommit=True")


def _begin(
    conn: AsyncConnection | SyncConnection,
    request: ApiRequest | RequestHead,
    prepared: Prepared,
    auth: AuthResult,
    options: RunOptions,
    path: str | None,
) -> tuple[Responder, Transaction]:
    """What both runners need before executing: the responder and the request's transaction."""
    _autocommit(conn)
    return Responder(prepared), prepared_transaction(request, prepared, auth, options, path)


# --- async -------------------------------------------------------------------------------------


async def run_prepared(
    conn: AsyncConnection,
    request: ApiRequest | RequestHead,
    prepared: Prepared,
    *,
    auth: AuthResult,
    options: RunOptions = RunOptions(),
    path: str | None = None,
) -> Response:
    """Run a prepared request in its transaction on `conn` and return the response (errors too)."""
    if prepared.answer is not None:
        return prepared.answer
    responder, transaction = _begin(conn, request, prepared, auth, options, path)
    try:
        row = await execute(conn, prepared, transaction, check=responder.check())
        return responder.final(row, request, options)
    except Exception as error:
        return error_response(_mapped(error, auth), verbose=options.verbose_errors)


async def run_request(
    conn: AsyncConnection,
    method: str,
    path: str,
    query_string: str | bytes,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    *,
    cache: SchemaCache,
    options: Options,
    auth: AuthResult | Authenticator,
    run_options: RunOptions = RunOptions(),
    shapes: ShapeCache | None = None,
) -> Response:
    """One HTTP request, start to end: authenticate (with an Authenticator), parse, prepare, run.

    `path` is below the API's root ("/films", not "/api/films"); `options.base_path` says where
    that root is. With `shapes` (one `ShapeCache` kept for as long as `cache` is current),
    repeated request shapes skip planning and compiling, and repeated reads parsing too.
    """
    try:
        request, prepared, who = _prepare(
            method, path, query_string, headers, body, cache, options, auth, shapes
        )
    except PgrstError as error:
        return error_response(error, verbose=run_options.verbose_errors)
    return await run_prepared(conn, request, prepared, auth=who, options=run_options, path=path)


def _prepare(
    method: str,
    path: str,
    query_string: str | bytes,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    cache: SchemaCache,
    options: Options,
    auth: AuthResult | Authenticator,
    shapes: ShapeCache | None,
) -> tuple[ApiRequest | RequestHead, Prepared, AuthResult]:
    if isinstance(auth, Authenticator):
        authorization = next((v for k, v in headers if k.lower() == "authorization"), None)
        auth = auth.authenticate(authorization)
    if shapes is None:
        request = parse_request(method, path, query_string, headers, body, schemas=options.schemas)
        return request, prepare(request, cache, options), auth
    return (*shapes.prepare_request(method, path, query_string, headers, body, cache, options), auth)


# --- sync --------------------------------------------------------------------------------------


def run_prepared_sync(
    conn: SyncConnection,
    request: ApiRequest | RequestHead,
    prepared: Prepared,
    *,
    auth: AuthResult,
    options: RunOptions = RunOptions(),
    path: str | None = None,
) -> Response:
    """`run_prepared` for a synchronous psycopg connection."""
    if prepared.answer is not None:
        return prepared.answer
    responder, transaction = _begin(conn, request, prepared, auth, options, path)
    try:
        row = execute_sync(conn, prepared, transaction, check=responder.check())
        return responder.final(row, request, options)
    except Exception as error:
        return error_response(_mapped(error, auth), verbose=options.verbose_errors)


def run_request_sync(
    conn: SyncConnection,
    method: str,
    path: str,
    query_string: str | bytes,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    *,
    cache: SchemaCache,
    options: Options,
    auth: AuthResult | Authenticator,
    run_options: RunOptions = RunOptions(),
    shapes: ShapeCache | None = None,
) -> Response:
    """`run_request` for a synchronous psycopg connection."""
    try:
        request, prepared, who = _prepare(
            method, path, query_string, headers, body, cache, options, auth, shapes
        )
    except PgrstError as error:
        return error_response(error, verbose=run_options.verbose_errors)
    return run_prepared_sync(conn, request, prepared, auth=who, options=run_options, path=path)


def execute_sync(
    conn: SyncConnection,
    prepared: Prepared,
    transaction: Transaction,
    *,
    check: Callable[[ResultRow], object] | None = None,
) -> ResultRow:
    """The transaction of runner.execute.execute, one statement at a time on a sync connection.

    `check` runs on the row before COMMIT; what it raises rolls the transaction back, as does
    any database error (which then propagates).
    """
    try:
        conn.execute(begin_statement(prepared.read_only))
        _run_sync(conn, transaction.prelude)
        if transaction.pre_request is not None:
            _run_sync(conn, transaction.pre_request)
        main = _run_sync(conn, prepared.statement)
        if prepared.recipe.body_format == "plan":
            row = _explain_row(main.fetchall())
        else:
            values = main.fetchone()
            planned = None
            if prepared.count_statement is not None:
                plan = _run_sync(conn, sql("EXPLAIN (FORMAT JSON) ") + prepared.count_statement).fetchone()
                planned = _top_plan_rows(plan[0]) if plan else None
            row = _result_row(values, planned)
        if check is not None:
            check(row)
        if not prepared.read_only:
            # Deferred constraints are checked now, so a violation reaches the client even
            # when the transaction is rolled back anyway.
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        conn.execute("COMMIT" if transaction.commit else "ROLLBACK")
    except BaseException:
        _rollback_quietly(conn)
        raise
    return row


def _run_sync(conn: SyncConnection, fragment: Fragment) -> psycopg.Cursor[Any]:
    return conn.execute(fragment.render("psycopg"), fragment.params)


def _rollback_quietly(conn: SyncConnection) -> None:
    if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        pass


__all__ = [
    "RunOptions",
    "anonymous",
    "execute_sync",
    "run_prepared",
    "run_prepared_sync",
    "run_request",
    "run_request_sync",
    "transaction_for",
    "with_tx_preference",
]
