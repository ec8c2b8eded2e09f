"""The ASGI application: HTTP request -> pipeline -> one transaction -> HTTP response.

    create_app(settings) -> PgrestApp      # mount it in any ASGI server, or run `pgrest serve`

Per request: read the body, `parse_request`, authenticate the `Authorization` header, `prepare`
(plan + compile against the schema cache), run the statement in one transaction (runner/),
`respond`. A `PgrstError` anywhere becomes its status, headers and JSON body; anything else is
a 500 whose traceback goes to the log, never to the client.

On lifespan startup the app opens the connection pool, loads the schema cache and listens on
the db-channel (`NOTIFY pgrst, 'reload schema'`) to reload it. The runner (psycopg) is imported
only by the server, never by `import pgrest_core`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, MutableMapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pgrest_core.ast import RootTarget
from pgrest_core.errors import InternalError, PgrstError
from pgrest_core.openapi import (
    OPENAPI_CONTENT_TYPE,
    OpenApiOptions,
    negotiate_openapi,
    openapi_document,
    privileges_statement,
    render_openapi,
    root_endpoint_disabled,
    root_spec_call,
    visible_from_body,
    with_openapi_content_type,
)
from pgrest_core.pipeline import Options, prepare, respond
from pgrest_core.plan.options import options_response
from pgrest_core.plan.types import Prepared, Response, ResponseRecipe
from pgrest_core.schema.model import SchemaCache
from pgrest_core.sql.prelude import RequestContext, pre_request_call, prelude
from pgrest_server.cors import cors_headers, cors_preflight
from pgrest_server.http import header as _header

if TYPE_CHECKING:
    from pgrest_core.ast import ApiRequest
    from pgrest_core.auth import Authenticator, AuthResult
    from pgrest_core.config import Settings
    from pgrest_core.runner.execute import Runner, Transaction
    from pgrest_core.runner.pool import PoolStats

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("pgrest")

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_LOG_LEVELS = {
    "crit": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}
_RELOAD_PAYLOADS = ("reload schema", "")  # an empty NOTIFY payload reloads everything
_CONFIG_RELOAD_PAYLOADS = ("reload config", "")
# Settings that only a restart changes, as in PostgREST (not reloadable): the pool, the
# listeners, logging, and the database connection itself.
_FIXED_AT_STARTUP = (
    "db_uri",
    "db_pool",
    "db_pool_acquisition_timeout",
    "db_pool_max_lifetime",
    "db_pool_max_idletime",
    "server_host",
    "server_port",
    "server_unix_socket",
    "server_unix_socket_mode",
    "admin_server_host",
    "admin_server_port",
)


@dataclass(frozen=True, slots=True)
class SchemaCacheStats:
    """Schema cache loads so far, for /metrics (pgrst_schema_cache_loads_total and query time)."""

    loads_succeeded: int = 0
    loads_failed: int = 0
    last_query_seconds: float | None = None

    def loaded(self, seconds: float) -> SchemaCacheStats:
        return replace(self, loads_succeeded=self.loads_succeeded + 1, last_query_seconds=seconds)

    def failed(self) -> SchemaCacheStats:
        return replace(self, loads_failed=self.loads_failed + 1)


def schema_cache_unavailable() -> PgrstError:
    """PGRST002: no schema cache yet (the database was unreachable when it was to be loaded)."""
    return PgrstError("PGRST002", 503, "Could not query the database for the schema cache. Retrying.")


def internal_error() -> InternalError:
    return InternalError("PGRSTX00", 500, "Internal server error")


def error_response(error: PgrstError, *, verbose: bool = True) -> Response:
    """The HTTP answer for a PgrstError: its status and headers, its JSON body.

    With client-error-verbosity=minimal (`verbose=False`) the body keeps only code and message.
    """
    headers = (
        ("Content-Type", JSON_CONTENT_TYPE),
        ("Proxy-Status", f"PostgREST; error={error.code}"),
        *error.headers,
    )
    if verbose:
        body = error.to_json()
    else:
        minimal = {"code": error.code, "message": error.message}
        body = json.dumps(minimal, ensure_ascii=False, separators=(",", ":"))
    return Response(error.status, headers, body.encode())


def _decode(raw: bytes) -> str:
    """Header and query bytes as text: UTF-8 when valid, else Latin-1 (HTTP's historic charset)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# The SQL of the request being handled, for log-query (set by `handle`, read by `_http`).
_request_query: contextvars.ContextVar[str | None] = contextvars.ContextVar("pgrest_query", default=None)


def _logs_request(level: str, status: int) -> bool:
    """Whether log-level logs a request with this status (and, with log-query, its SQL):
    crit none, error 5xx, warn 4xx and 5xx, info and debug every request."""
    if level in ("info", "debug"):
        return True
    if level == "warn":
        return status >= 400
    return level == "error" and status >= 500


class ServerTiming:
    """Durations of the request's phases, for the `Server-Timing` header."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []
        self._started = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases.append((phase, (now - self._started) * 1000))
        self._started = now

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.phases)


class PgrestApp:
    """A pure ASGI application serving PostgREST's API for one database."""

    def __init__(
        self, settings: Settings, *, schema_cache: SchemaCache | None = None, reload_signal: bool = False
    ) -> None:
        # The file and PGRST_* settings; the in-database configuration is applied over them.
        self.base_settings = settings
        # Re-reads the file and PGRST_* on `NOTIFY pgrst, 'reload config'` (set by `pgrest serve`).
        self.config_loader: Callable[[], Settings] | None = None
        # Called with a reason when the database is lost and db-pool-automatic-recovery is off:
        # `pgrest serve` then exits with status 1. Without it the app only logs the loss.
        self.on_fatal: Callable[[str], None] | None = None
        self.schema_cache: SchemaCache | None = schema_cache
        self.schema_cache_stats = SchemaCacheStats()
        self.runner: Runner | None = None
        self.reload_signal = reload_signal
        self._background: list[asyncio.Task[None]] = []
        self._use_settings(settings)
        self._log_requests = _LOG_LEVELS.get(str(settings.log_level), logging.ERROR) < logging.CRITICAL
        _configure_logging(settings.log_level)

    def _use_settings(self, settings: Settings) -> None:
        """Make `settings` the effective ones, with everything derived from them."""
        from pgrest_core.auth import Authenticator

        self.settings = settings
        self.authenticator: Authenticator = Authenticator.from_settings(settings)
        self.options = Options(
            schemas=tuple(settings.db_schemas),
            max_rows=settings.db_max_rows,
            aggregates_enabled=settings.db_aggregates_enabled,
            plan_enabled=settings.db_plan_enabled,
            legacy_target_names=settings.url_use_legacy_target_names,
        )
        self._verbose_errors = settings.client_error_verbosity == "verbose"
        if self.runner is not None:
            self.runner.prepare = settings.db_prepared_statements

    # -- ASGI entry point ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # websocket and anything else: not ours, ignored (the server closes the connection)

    # -- lifespan ------------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:  # a failed startup must be reported, not raised
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open the pool, load the schema cache (retrying in the background if the DB is down)."""
        from pgrest_core.runner.execute import Runner
        from pgrest_core.runner.pool import PoolOptions

        settings = self.settings
        self.runner = Runner(
            settings.db_uri,
            prepared_statements=settings.db_prepared_statements,
            pool_options=PoolOptions.from_settings(settings),
        )
        await self.runner.open(wait=False)
        if settings.db_config:
            try:
                await self.reload_config()
            except Exception as error:
                # Like the schema cache: serve with the file's settings, retry with the cache.
                log.error("could not read the in-database configuration: %s", error)
                self._lost_database(f"could not read the in-database configuration: {error}")
        if self.schema_cache is None:
            try:
                await self.reload_schema_cache()
            except Exception as error:
                if not settings.db_pool_automatic_recovery:
                    # db-pool-automatic-recovery = false: no retrying, startup fails (status 1).
                    self._lost_database(f"could not load the schema cache: {error}")
                    raise
                log.exception("could not load the schema cache; retrying in the background")
                self._spawn(self._retry_schema_cache())
        if settings.db_channel_enabled:
            self._spawn(self._listen())
        if self.reload_signal:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGUSR1, lambda: self._spawn(self._reload_logged()))
            # SIGUSR2 re-reads the configuration, as in PostgREST.
            loop.add_signal_handler(signal.SIGUSR2, lambda: self._spawn(self._reload_config_logged()))

    async def shutdown(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._background.clear()
        if self.reload_signal:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR2)
        if self.runner is not None:
            await self.runner.close()
            self.runner = None

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        if task in self._background:
            self._background.remove(task)

    async def reload_schema_cache(self) -> None:
        """Introspect db-schemas and swap in the new cache (requests in flight keep the old one)."""
        from pgrest_core.runner.introspect import load_schema_cache

        runner = self._require_runner()
        started = time.perf_counter()
        try:
            async with runner.dedicated_connection() as conn:
                cache = await load_schema_cache(conn, tuple(self.settings.db_schemas))
        except Exception:
            self.schema_cache_stats = self.schema_cache_stats.failed()
            raise
        self.schema_cache_stats = self.schema_cache_stats.loaded(time.perf_counter() - started)
        self.schema_cache = cache
        log.info("schema cache loaded")

    async def reload_config(self) -> None:
        """Re-read the configuration: the file and PGRST_* (through `config_loader`, if set), then
        the in-database configuration over them when db-config is on. Reloads the schema cache
        when the exposed schemas changed. Pool, server and logging settings keep their startup
        values, as in PostgREST."""
        from pgrest_core.runner.db_config import apply_db_config

        base = self.config_loader() if self.config_loader is not None else self.base_settings
        fixed = {name: getattr(self.base_settings, name) for name in _FIXED_AT_STARTUP}
        base = replace(base, **fixed)
        self.base_settings = base
        settings = base
        if base.db_config:
            async with self._require_runner().dedicated_connection() as conn:
                settings = await apply_db_config(conn, base)
        previous = self.settings
        self._use_settings(settings)
        log.info("config reloaded")
        if self.schema_cache is not None and (
            settings.db_schemas != previous.db_schemas
            or settings.db_extra_search_path != previous.db_extra_search_path
        ):
            await self.reload_schema_cache()

    async def _reload_config_logged(self) -> None:
        from pgrest_core.settings import ConfigError

        try:
            await self.reload_config()
        except ConfigError as error:  # a bad value: keep serving with the current settings
            log.error("config reload failed, the configuration is unchanged: %s", error)
        except Exception as error:
            log.error("config reload failed: %s", error)
            self._lost_database(f"config reload failed: {error}")

    def _lost_database(self, reason: str) -> None:
        """With db-pool-automatic-recovery off, a lost database ends the server (`on_fatal`)."""
        if self.settings.db_pool_automatic_recovery:
            return
        log.critical("%s; db-pool-automatic-recovery is off, stopping", reason)
        if self.on_fatal is not None:
            self.on_fatal(reason)

    # -- state for the admin server (pgrest_server.admin) -----------------------------------------

    @property
    def schema_cache_loaded(self) -> bool:
        """Whether a schema cache is loaded (requests can be served)."""
        return self.schema_cache is not None

    async def database_reachable(self, timeout: float = 5.0) -> bool:
        """Whether a pooled connection answers `SELECT 1` within `timeout` seconds."""
        import psycopg
        import psycopg_pool

        runner = self.runner
        if runner is None:
            return False
        try:
            async with asyncio.timeout(timeout):
                async with runner.pool.connection(timeout=timeout) as conn:
                    await conn.execute("SELECT 1")
        except (psycopg.Error, psycopg_pool.PoolTimeout, TimeoutError, OSError):
            return False
        return True

    async def ready(self) -> bool:
        """PostgREST's /ready: the schema cache is loaded and the database answers."""
        return self.schema_cache_loaded and await self.database_reachable()

    def pool_stats(self) -> PoolStats | None:
        """The connection pool's figures for /metrics; None before startup."""
        from pgrest_core.runner.pool import PoolStats

        if self.runner is None:
            return None
        return PoolStats.from_psycopg(self.runner.pool.get_stats(), self.settings.db_pool)

    async def _reload_logged(self) -> None:
        try:
            await self.reload_schema_cache()
        except Exception:
            log.exception("schema cache reload failed")

    async def _retry_schema_cache(self) -> None:
        delay = 1.0
        while self.schema_cache is None:
            await asyncio.sleep(delay)
            try:
                if self.settings.db_config:
                    # The in-database configuration could not be read either: it may name
                    # the schemas the cache is for.
                    await self.reload_config()
                await self.reload_schema_cache()
            except Exception as error:
                log.error("schema cache still unavailable: %s", error)
                delay = min(delay * 2, 32.0)

    async def _listen(self) -> None:
        """LISTEN on db-channel; `reload schema` (or an empty payload) reloads the cache.

        The listener has its own connection (outside the pool) and reconnects when it drops;
        after a reconnection the cache is reloaded too, since notifications may have been missed.
        """
        import psycopg

        from pgrest_core.sql.fragment import ident

        channel = ident(self.settings.db_channel).text
        delay = 1.0
        first = True
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(self.settings.db_uri, autocommit=True)
                async with connection as conn:
                    await conn.execute("LISTEN " + channel)
                    if not first:
                        await self._reload_logged()
                    first, delay = False, 1.0
                    async for notification in conn.notifies():
                        # An empty payload reloads both, the configuration first (PostgREST's order).
                        if notification.payload in _CONFIG_RELOAD_PAYLOADS and self.settings.db_config:
                            await self._reload_config_logged()
                        if notification.payload in _RELOAD_PAYLOADS:
                            await self._reload_logged()
            except psycopg.Error as error:
                log.error("listener on %s failed: %s; retrying in %.0fs", channel, error, delay)
                self._lost_database(f"the listener on {channel} lost its connection: {error}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 32.0)

    def _require_runner(self) -> Runner:
        if self.runner is None:
            raise RuntimeError("the app has not been started (ASGI lifespan startup did not run)")
        return self.runner

    # -- requests ------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        # A server may run several requests in one task (or context): start without a query.
        _request_query.set(None)
        method = str(scope["method"]).upper()
        path = _request_path(scope)
        headers = [(_decode(name).lower(), _decode(value)) for name, value in scope.get("headers", ())]
        body = await _read_body(receive)
        allowed_origins = self.settings.server_cors_allowed_origins
        response = cors_preflight(method, headers, allowed_origins)
        if response is None:
            try:
                response = await self.handle(method, path, scope, headers, body)
            except PgrstError as error:
                if error.code == "PGRST001":  # the database connection failed or dropped
                    self._lost_database(f"lost the database connection: {error.message}")
                response = error_response(error, verbose=self._verbose_errors)
            except Exception:
                log.exception("unexpected error handling %s %s", method, path)
                response = error_response(internal_error(), verbose=self._verbose_errors)
            response = _with_headers(response, cors_headers(headers, allowed_origins))
        response = _with_headers(response, self._trace_header(headers))
        await _send_response(send, response, head=method == "HEAD")
        query = _request_query.get() if self.settings.log_query else None
        if query is not None and _logs_request(self.settings.log_level, response.status):
            print(query, file=sys.stderr, flush=True)  # before the request's line, as PostgREST does
        if self._log_requests:
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{method} {path} {response.status} {elapsed:.1f}ms", file=sys.stderr, flush=True)

    def _trace_header(self, headers: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """server-trace-header: the request's value echoed back, for tracing across proxies."""
        name = self.settings.server_trace_header
        value = _header(headers, name.lower()) if name else None
        return ((name, value),) if name and value is not None else ()

    async def handle(
        self, method: str, path: str, scope: Scope, headers: list[tuple[str, str]], body: bytes
    ) -> Response:
        """The pipeline for one request; raises PgrstError for every client-visible failure."""
        from pgrest_core.request.api_request import parse_request

        timing = ServerTiming()
        auth = self.authenticator.authenticate(_header(headers, "authorization"))
        timing.mark("jwt")
        request = parse_request(
            method,
            _raw_request_path(scope, path),
            bytes(scope.get("query_string", b"")),
            headers,
            body or None,  # over HTTP an empty body and no body cannot be told apart
            schemas=tuple(self.settings.db_schemas),
        )
        timing.mark("parse")
        if request.preferences.timezone is not None and not self.settings.db_timezone_enabled:
            # db-timezone-enabled = false: `Prefer: timezone` is neither applied nor reported.
            request = replace(request, preferences=replace(request.preferences, timezone=None))
        if self.schema_cache is None:
            raise schema_cache_unavailable()
        root_spec = False  # db-root-spec answered `GET /` as application/openapi+json
        if isinstance(request.target, RootTarget) and request.method in ("GET", "HEAD"):
            if not self.settings.db_root_spec:
                return self._timed(await self._openapi(request, path, auth, self.schema_cache), timing)
            request, root_spec = root_spec_call(request, self.settings.db_root_spec)
        if request.method == "OPTIONS":  # answered from the schema cache, no transaction
            response = options_response(request, self.schema_cache, self.options.schemas)
            timing.mark("response")
            return self._timed(response, timing)
        prepared = prepare(request, self.schema_cache, self.options)
        if self.settings.log_query:
            _request_query.set(prepared.statement.render("psycopg"))
        timing.mark("plan")
        # Writes build their response before COMMIT: a response that fails rolls them back.
        check = (lambda result: respond(prepared, result)) if prepared.check_before_commit else None
        row = await self._require_runner().run(
            prepared,
            self._transaction(
                request, path, auth, prepared.read_only, function_settings=prepared.function_settings
            ),
            authenticated=auth.authenticated,
            check=check,
        )
        timing.mark("transaction")
        response = _with_tx_preference(respond(prepared, row), request, self.settings)
        if root_spec:
            response = with_openapi_content_type(response)
        if len(self.settings.db_schemas) > 1:
            # With several exposed schemas, say which one answered (PostgREST does the same).
            schema = request.schema or self.settings.db_schemas[0]
            response = _with_headers(response, (("Content-Profile", schema),))
        timing.mark("response")
        return self._timed(response, timing)

    async def _openapi(
        self, request: ApiRequest, path: str, auth: AuthResult, cache: SchemaCache
    ) -> Response:
        """`GET /`: the OpenAPI document of the requested schema (see openapi.py).

        With openapi-mode=follow-privileges it shows only what the request's role may use,
        found by one read-only query run as that role (without the pre-request function).
        """
        settings = self.settings
        if settings.openapi_mode == "disabled":
            raise root_endpoint_disabled()
        negotiate_openapi(request.accept)
        schema = request.schema or settings.db_schemas[0]
        visible = None
        if settings.openapi_mode == "follow-privileges":
            query = Prepared(privileges_statement(schema), ResponseRecipe(JSON_CONTENT_TYPE, "json"))
            transaction = self._transaction(request, path, auth, True)
            transaction = replace(transaction, pre_request=None, commit=False)
            row = await self._require_runner().run(query, transaction, authenticated=auth.authenticated)
            visible = visible_from_body(row.body)
        options = OpenApiOptions(
            schema=schema,
            server_host=settings.server_host,
            server_port=settings.server_port,
            proxy_uri=settings.openapi_server_proxy_uri,
            security_active=settings.openapi_security_active,
        )
        headers: tuple[tuple[str, str], ...] = (("Content-Type", OPENAPI_CONTENT_TYPE),)
        if len(settings.db_schemas) > 1:
            headers += (("Content-Profile", schema),)
        return Response(200, headers, render_openapi(openapi_document(cache, options, visible)))

    def _timed(self, response: Response, timing: ServerTiming) -> Response:
        if self.settings.server_timing_enabled:
            return _with_headers(response, (("Server-Timing", timing.header()),))
        return response

    def _transaction(
        self,
        request: ApiRequest,
        path: str,
        auth: AuthResult,
        read_only: bool,
        *,
        function_settings: tuple[tuple[str, str], ...] = (),
    ) -> Transaction:
        from pgrest_core.runner.execute import Transaction, should_commit

        settings = self.settings
        context = RequestContext(
            schema=request.schema or settings.db_schemas[0],
            role=auth.role,
            claims=_claims(auth),
            method=request.method,
            path=path,
            headers=request.headers,
            cookies=request.cookies,
            extra_search_path=tuple(settings.db_extra_search_path),
            app_settings=tuple(_app_settings(settings.app_settings)),
            timezone=request.preferences.timezone,
            # Also set when BEGIN … READ ONLY is skipped (see runner.execute): reads stay reads.
            extra=(("transaction_read_only", "on"),) if read_only else (),
        )
        if function_settings:
            context = replace(context, extra=context.extra + hoisted(function_settings, settings))
        pre_request = pre_request_call(settings.db_pre_request) if settings.db_pre_request else None
        return Transaction(
            prelude=prelude(context),
            pre_request=pre_request,
            commit=should_commit(settings.db_tx_end, request.preferences.tx),
            prelude_sets_read_only=read_only,
        )


def hoisted(
    function_settings: tuple[tuple[str, str], ...], settings: Settings
) -> tuple[tuple[str, str], ...]:
    """The called function's SET options that db-hoisted-tx-settings lets apply to the whole
    transaction (so that `SET statement_timeout` on a function limits the request)."""
    allowed = set(settings.db_hoisted_tx_settings)
    return tuple((name, value) for name, value in function_settings if name in allowed)


def _with_tx_preference(response: Response, request: ApiRequest, settings: Settings) -> Response:
    """Add `tx=…` to Preference-Applied when db-tx-end lets the request choose (`*-allow-override`).

    Only the server knows db-tx-end, so this is added here rather than by `respond`.
    """
    preference = request.preferences.tx
    if preference is None or not settings.db_tx_end.endswith("allow-override"):
        return response
    applied = "tx=" + preference
    headers = list(response.headers)
    for index, (name, value) in enumerate(headers):
        if name.lower() == "preference-applied":
            if applied not in (part.strip() for part in value.split(",")):
                headers[index] = (name, value + ", " + applied)
            return Response(response.status, tuple(headers), response.body)
    return Response(response.status, (*headers, ("Preference-Applied", applied)), response.body)


def _with_headers(response: Response, extra: tuple[tuple[str, str], ...]) -> Response:
    if not extra:
        return response
    return Response(response.status, (*response.headers, *extra), response.body)


def _configure_logging(level: str) -> None:
    """Route the `pgrest` logger to stderr once, at the configured level."""
    log.setLevel(_LOG_LEVELS.get(str(level), logging.ERROR))
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False


def _claims(auth: AuthResult) -> Mapping[str, object]:
    """The claims for `request.jwt.claims`; an anonymous request shows just its role."""
    if not auth.authenticated and not auth.claims:
        return {"role": auth.role}
    return dict(auth.claims)


def _app_settings(app_settings: Mapping[str, str] | tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """app.settings.* from the config, as (name without the prefix, value) pairs."""
    items = app_settings.items() if isinstance(app_settings, Mapping) else app_settings
    return [(name.removeprefix("app.settings."), str(value)) for name, value in items]



def _request_path(scope: Scope) -> str:
    """The decoded path below the mount point (`root_path`), so the app works under a prefix."""
    path = str(scope.get("path") or "/")
    root = str(scope.get("root_path") or "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


def _raw_request_path(scope: Scope, decoded: str) -> str:
    """The path as sent (still percent-encoded), which the parser splits before decoding.

    Some servers and test transports put the query string into `raw_path`; it is cut off.
    Without `raw_path` the decoded path is the best there is.
    """
    raw = scope.get("raw_path")
    if not raw:
        return decoded
    path = _decode(bytes(raw)).split("?", 1)[0]
    root = str(scope.get("root_path") or "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_response(send: Send, response: Response, *, head: bool) -> None:
    """Send status, headers and body; Content-Length unless HEAD or a body-less status."""
    headers = [(name.encode("latin-1", "replace"), value.encode()) for name, value in response.headers]
    has_length = any(name.lower() == "content-length" for name, _ in response.headers)
    if not has_length and not head and response.status not in (204, 304):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


def create_app(
    settings: Settings, *, schema_cache: SchemaCache | None = None, reload_signal: bool = False
) -> PgrestApp:
    """The ASGI app for `settings`; with `schema_cache` it skips the initial introspection.

    `reload_signal=True` also reloads the schema cache on SIGUSR1 (for the `pgrest serve` CLI;
    a library user mounting the app keeps its own signal handling).
    """
    return PgrestApp(settings, schema_cache=schema_cache, reload_signal=reload_signal)


__all__ = ["PgrestApp", "create_app", "error_response"]
