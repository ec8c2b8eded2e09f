"""The ASGI application: HTTP request -> pipeline -> one transaction -> HTTP response.

    create_app(settings) -> PgrestApp      # mount it in any ASGI server, or run `pgrest serve`

Per request: read the body, `parse_request`, authenticate the `Authorization` header, `prepare`
(plan + compile against the schema cache), run the statement in one transaction (runner/),
`respond`. A `PgrstError` anywhere becomes its status, headers and JSON body; anything else is
a 500 whose traceback goes to the log, never to the client.

On lifespan startup the app opens the connection pool, loads the schema cache and listens on
the db-channel (`NOTIFY pgrst, 'reload schema'`) to reload it. Mounted in Starlette or FastAPI
(`Mount("/api", app=create_app(settings))`), where no lifespan events arrive, it does the same
on its first request; the mount point (ASGI `root_path`) prefixes the URLs it sends.
The runner (psycopg) is imported only by the server, never by `import pgrest_core`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pgrest_core.ast import ApiRequest, RequestHead
from pgrest_core.errors import InternalError, JwtError, PgrstError
from pgrest_core.pipeline import Options
from pgrest_core.prepared import Prepared, Response
from pgrest_core.request.api_request import parse_request
from pgrest_core.response import error_response
from pgrest_core.runner.host import Responder, prepared_transaction, transaction_for
from pgrest_core.schema.model import SchemaCache
from pgrest_core.shape_cache import ShapeCache, linkable_raw_shape
from pgrest_core.stream import prepare_stream
from pgrest_server.access_log import log_query, log_request
from pgrest_server.cors import cors_headers, cors_preflight
from pgrest_server.docs import ApiDocs
from pgrest_server.http import Receive, Scope, Send
from pgrest_server.http import header as _header
from pgrest_server.limits import ClientDisconnected, check_request_head, read_body
from pgrest_server.streaming import StreamedResponse, send_streamed, start_stream

if TYPE_CHECKING:
    from pgrest_core.auth import Authenticator, AuthResult
    from pgrest_core.config import Settings
    from pgrest_core.runner.execute import Runner
    from pgrest_core.runner.host import RunOptions
    from pgrest_core.runner.pool import PoolStats
    from pgrest_server.jwks import RemoteKeySet


log = logging.getLogger("pgrest")

AnyResponse = TypeVar("AnyResponse", bound=Response | StreamedResponse)

_MOUNT_POINTS_KEPT = 8  # options kept per ASGI root_path (one mount point is the usual case)
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
    """Durations of the request's phases, for the `Server-Timing` header.

    Every successful response names all of PostgREST's phases, in its order; a phase a
    request does not go through (OPTIONS runs no transaction) counts as 0.0. Error responses
    carry no Server-Timing, as in PostgREST.
    """

    PHASES = ("jwt", "parse", "plan", "transaction", "response")

    def __init__(self) -> None:
        self.durations: dict[str, float] = {}
        self._started = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.durations[phase] = self.durations.get(phase, 0.0) + (now - self._started) * 1000
        self._started = now

    def header(self) -> str:
        return ", ".join(f"{name};dur={self.durations.get(name, 0.0):.1f}" for name in self.PHASES)


class _Untimed(ServerTiming):
    """server-timing-enabled = false: nothing to time (two clock reads per phase saved)."""

    def __init__(self) -> None:
        self.durations = {}

    def mark(self, phase: str) -> None:
        pass


_UNTIMED: Final = _Untimed()


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
        # Mounted apps (Starlette's Mount) get no lifespan events: the first request starts the app.
        self._starting = asyncio.Lock()
        self._started = False  # startup() has finished (the runner alone is set halfway through)
        self._use_settings(settings)

    def _use_settings(self, settings: Settings) -> None:
        """Make `settings` the effective ones, with everything derived from them."""
        from pgrest_core.auth import Authenticator

        self.settings = settings
        self.authenticator: Authenticator = Authenticator.from_settings(settings)
        self.jwks = _remote_key_set(settings, self.authenticator)
        self.docs = ApiDocs(settings.openapi_docs_path) if settings.openapi_docs_path else None
        from pgrest_core.runner.host import RunOptions

        self.options = Options.from_settings(settings)
        self.run_options: RunOptions = RunOptions.from_settings(settings)
        self._mounted: dict[str, Options] = {}  # options per mount point (base path)
        self._verbose_errors = settings.client_error_verbosity == "verbose"
        # Repeated read shapes skip parse, plan and compile. A reloaded schema cache empties it,
        # and so do new settings (the requests it keeps were read under the old ones).
        self.shapes = ShapeCache()
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
                    await self.shutdown()  # close the pool and stop what startup began
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _ensure_started(self) -> None:
        """Start on the first request when no lifespan startup ran (a mounted app); once."""
        async with self._starting:
            if not self._started:
                await self.startup()

    async def startup(self) -> None:
        """Open the pool, load the schema cache (retrying in the background if the DB is down).

        An ASGI server calls this through the lifespan protocol; a mounted app calls it itself
        on its first request. Call `shutdown()` from the host's lifespan to close the pool.
        """
        from pgrest_core.runner.execute import Runner, replica_pool_kwargs
        from pgrest_core.runner.pool import PoolOptions
        from pgrest_core.runner.replicas import ReplicaSet

        settings = self.settings
        pool_options = PoolOptions.from_settings(settings)
        # Read replicas get reads only; the schema cache and LISTEN stay on db-uri (the primary).
        replicas = (
            ReplicaSet(
                settings.db_uri_read_replicas,
                max_lag=float(settings.db_read_replicas_max_lag),
                pool_kwargs=replica_pool_kwargs(pool_options),
            )
            if settings.db_uri_read_replicas
            else None
        )
        self.runner = Runner(
            settings.db_uri,
            prepared_statements=settings.db_prepared_statements,
            pool_options=pool_options,
            replicas=replicas,
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
        if self.jwks is not None:
            self._spawn(self._refresh_keys())
        if settings.db_channel_enabled:
            self._spawn(self._listen())
        if self.reload_signal:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGUSR1, lambda: self._spawn(self._reload_logged()))
            # SIGUSR2 re-reads the configuration, as in PostgREST.
            loop.add_signal_handler(signal.SIGUSR2, lambda: self._spawn(self._reload_config_logged()))
        self._started = True

    async def shutdown(self) -> None:
        self._started = False
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

        from pgrest_core.fragment import ident

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

    async def _refresh_keys(self) -> None:
        if self.jwks is not None:
            await self.jwks.refresh_if_stale()

    async def _authenticate(self, authorization: str | None) -> AuthResult:
        """The request's role and claims. With a JWKS URL, a stale key set is refreshed in the
        background, and a token no key verifies (rotation) fetches the set once more."""
        jwks = self.jwks
        if jwks is None:
            return self.authenticator.authenticate(authorization)
        if jwks.stale:
            self._spawn(self._refresh_keys())
        try:
            return self.authenticator.authenticate(authorization)
        except JwtError as error:
            if error.code != "PGRST301" or not await jwks.refresh_for_unknown_kid():
                raise
        return self.authenticator.authenticate(authorization)

    def _require_runner(self) -> Runner:
        if self.runner is None:
            raise RuntimeError("the app has not been started (ASGI lifespan startup did not run)")
        return self.runner

    # -- requests ------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A server may run several requests in one task (or context): start without a query.
        _request_query.set(None)
        method = str(scope["method"]).upper()
        path = _request_path(scope)
        headers = [(_decode(name).lower(), _decode(value)) for name, value in scope.get("headers", ())]
        try:
            response = await self._answer(method, path, scope, headers, receive)
        except ClientDisconnected:
            return  # nobody to answer, and the request was never run
        response = _with_headers(response, self._trace_header(headers))
        if isinstance(response, StreamedResponse):
            await send_streamed(send, response, head=method == "HEAD")
            size = None  # not counted: the body was never whole
        else:
            await _send_response(send, response, head=method == "HEAD")
            size = _body_size(response, method)
        query = _request_query.get() if self.settings.log_query else None
        if query is not None:
            log_query(response.status, query)  # before the request's line, as PostgREST does
        log_request(scope, headers, response.status, size, lambda: self._log_user(headers))

    async def _answer(
        self, method: str, path: str, scope: Scope, headers: list[tuple[str, str]], receive: Receive
    ) -> Response | StreamedResponse:
        """The response to one request: size limits first, then a CORS preflight, the docs page
        or the pipeline (errors included), with CORS headers."""
        allowed_origins = self.settings.server_cors_allowed_origins
        response: Response | StreamedResponse
        try:
            check_request_head(scope, headers)  # 414 / 431 before any other work
            preflight = cors_preflight(method, headers, allowed_origins)
            if preflight is not None:
                return preflight
            if self.docs is not None and method in ("GET", "HEAD"):
                page = self.docs.answer(path, root_url=str(scope.get("root_path") or "") + "/")
                if page is not None:
                    return page
            body = await read_body(receive, headers, self.settings.server_max_body_size)
            response = await self.handle(method, path, scope, headers, body)
        except PgrstError as error:
            if error.code == "PGRST001":  # the database connection failed or dropped
                self._lost_database(f"lost the database connection: {error.message}")
            response = error_response(error, verbose=self._verbose_errors)
        except ClientDisconnected:
            raise
        except Exception:
            log.exception("unexpected error handling %s %s", method, path)
            response = error_response(internal_error(), verbose=self._verbose_errors)
        return _with_headers(response, cors_headers(headers, allowed_origins))

    def _log_user(self, headers: list[tuple[str, str]]) -> str | None:
        """The role a request ran as, for the access log (only computed when it is logged)."""
        try:
            return self.authenticator.authenticate(_header(headers, "authorization")).role
        except PgrstError:
            return None


    def _trace_header(self, headers: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """server-trace-header: the request's value echoed back, for tracing across proxies.

        On every response, preflights and errors included; empty when the request has none
        (PostgREST does the same).
        """
        name = self.settings.server_trace_header
        if not name:
            return ()
        return ((name, _header(headers, name.lower()) or ""),)

    async def handle(
        self, method: str, path: str, scope: Scope, headers: list[tuple[str, str]], body: bytes
    ) -> Response | StreamedResponse:
        """The pipeline for one request; raises PgrstError for every client-visible failure.

        Everything, OPTIONS and `GET /` included, goes through `prepare`; what it cannot
        answer alone runs in one transaction.
        """
        if not self._started:
            await self._ensure_started()
        timing = ServerTiming() if self.settings.server_timing_enabled else _UNTIMED
        auth = await self._authenticate(_header(headers, "authorization"))
        timing.mark("jwt")
        if self.schema_cache is None:
            raise schema_cache_unavailable()
        options = self._options_under(scope)
        raw_path = _raw_request_path(scope, path)
        query_string = bytes(scope.get("query_string", b""))
        raw = None
        if not self.settings.server_stream_responses:
            raw = linkable_raw_shape(method, raw_path, query_string, headers, body)
        if raw is not None:
            # A repeated read needs no parsing: its raw shape is linked to a compiled template.
            hit = self.shapes.prepare_raw(raw, headers, self.schema_cache, options)
            if hit is not None:
                timing.mark("parse")
                head, prepared = hit
                return await self._run_prepared(head, prepared, path, headers, auth, timing)
        request = parse_request(
            method,
            raw_path,
            query_string,
            headers,
            body or None,  # over HTTP an empty body and no body cannot be told apart
            schemas=self.options.schemas,
        )
        timing.mark("parse")
        if request.preferences.timezone is not None and not self.settings.db_timezone_enabled:
            # db-timezone-enabled = false: `Prefer: timezone` is neither applied nor reported.
            request = replace(request, preferences=replace(request.preferences, timezone=None))
        if self.settings.server_stream_responses:
            streamed = prepare_stream(request, self.schema_cache, options)
            if streamed is not None:
                transaction = transaction_for(request, auth, self.run_options, read_only=True, path=path)
                runner = self._require_runner()
                return await start_stream(runner, streamed, transaction, authenticated=auth.authenticated)
        prepared = self.shapes.prepare(request, self.schema_cache, options, raw)
        return await self._run_prepared(request, prepared, path, headers, auth, timing)

    async def _run_prepared(
        self,
        request: ApiRequest | RequestHead,
        prepared: Prepared,
        path: str,
        headers: list[tuple[str, str]],
        auth: AuthResult,
        timing: ServerTiming,
    ) -> Response:
        """Answer a prepared request: directly, or by running its transaction."""
        if self.settings.log_query:
            _request_query.set(prepared.statement.render("psycopg"))
        timing.mark("plan")
        if prepared.answer is not None:  # OPTIONS, or the document without follow-privileges
            timing.mark("response")
            return self._timed(prepared.answer, timing)
        # Writes build their response before COMMIT: a response that fails rolls them back.
        responder = Responder(prepared)
        row = await self._require_runner().run(
            prepared,
            prepared_transaction(request, prepared, auth, self.run_options, path),
            authenticated=auth.authenticated,
            check=responder.check(),
            # The consistency escape hatch: read your own writes from the primary.
            primary_only=_reads_from_primary(headers),
        )
        timing.mark("transaction")
        response = responder.final(row, request, self.run_options)
        timing.mark("response")
        return self._timed(response, timing)

    def _options_under(self, scope: Scope) -> Options:
        """The options with the mount point (ASGI root_path) as base path for URLs we send."""
        root = str(scope.get("root_path") or "").strip("/")
        base_path = "/" + root if root else ""
        if base_path == self.options.base_path:
            return self.options
        cached = self._mounted.get(base_path)
        if cached is None:
            cached = replace(self.options, base_path=base_path)
            if len(self._mounted) < _MOUNT_POINTS_KEPT:
                self._mounted[base_path] = cached
        return cached

    def _timed(self, response: Response, timing: ServerTiming) -> Response:
        if self.settings.server_timing_enabled:
            return _with_headers(response, (("Server-Timing", timing.header()),))
        return response


def _reads_from_primary(headers: list[tuple[str, str]]) -> bool:
    """`Pgrest-Read-From: primary`: a read that must see the latest writes skips the replicas."""
    value = _header(headers, "pgrest-read-from")
    return value is not None and value.strip().lower() == "primary"


def _with_headers(response: AnyResponse, extra: tuple[tuple[str, str], ...]) -> AnyResponse:
    if not extra:
        return response
    return replace(response, headers=(*response.headers, *extra))




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


def _body_size(response: Response, method: str) -> int | None:
    """The body size for the access log: `-` when no body was sent."""
    if method == "HEAD" or not response.body:
        return None
    return len(response.body)


async def _send_response(send: Send, response: Response, *, head: bool) -> None:
    """Send status, headers and body; Content-Length unless HEAD or a body-less status."""
    headers = [(name.encode("latin-1", "replace"), value.encode()) for name, value in response.headers]
    has_length = any(name.lower() == "content-length" for name, _ in response.headers)
    if not has_length and not head and response.status not in (204, 304):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


def _remote_key_set(settings: Settings, authenticator: Authenticator) -> RemoteKeySet | None:
    """jwt-secret as a JWKS URL: the key set fetched from it, feeding the authenticator."""
    if not authenticator.remote_keys or settings.jwt_secret is None:
        return None
    from pgrest_server.jwks import RemoteKeySet

    return RemoteKeySet(settings.jwt_secret, on_change=authenticator.replace_keys)


def create_app(
    settings: Settings, *, schema_cache: SchemaCache | None = None, reload_signal: bool = False
) -> PgrestApp:
    """The ASGI app for `settings`; with `schema_cache` it skips the initial introspection.

    `reload_signal=True` also reloads the schema cache on SIGUSR1 (for the `pgrest serve` CLI;
    a library user mounting the app keeps its own signal handling).
    """
    return PgrestApp(settings, schema_cache=schema_cache, reload_signal=reload_signal)


__all__ = ["PgrestApp", "create_app", "error_response"]
