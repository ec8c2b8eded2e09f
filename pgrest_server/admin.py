"""The admin server (admin-server-port): health checks, configuration, schema cache and metrics.

    GET /live          200 while the API server is serving, else 500 (empty body)
    GET /ready         200 when the schema cache is loaded and the database answers, 503 when
                       not (yet), 500 when the API server is not serving (empty body)
    GET /config        the effective configuration in PostgREST's config-file format
    GET /schema_cache  the schema cache as JSON (pgrest's snapshot layout)
    GET /metrics       Prometheus text format: PostgREST's pgrst_db_pool_* and
                       pgrst_schema_cache_* metrics
    anything else      404 (empty body)

It runs as a second listener in the same process and event loop as the API (see
`pgrest_server.run`) and reads the API app's state only through `PgrestApp`'s documented
members: `settings`, `schema_cache`, `schema_cache_stats`, `ready()`, `pool_stats()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pgrest_server.http import Receive, Scope, Send

if TYPE_CHECKING:
    from pgrest_server.app import PgrestApp


TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class AdminApp:
    """The admin server's ASGI app for one `PgrestApp`.

    `api_serving()` says whether the API listener is up (the /live check); by default it is
    assumed to be.
    """

    def __init__(self, app: PgrestApp, api_serving: Callable[[], bool] | None = None) -> None:
        self.app = app
        self.api_serving = api_serving or (lambda: True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)  # the API app owns startup and shutdown
            return
        if scope["type"] != "http":
            return
        await send_answer(send, scope, await self.answer(str(scope["method"]).upper(), str(scope["path"])))

    async def answer(self, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) for a request; every endpoint answers GET and HEAD."""
        if method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET, HEAD")], b""
        if path == "/live":
            return (200 if self.api_serving() else 500), [], b""
        if path == "/ready":
            return await self._ready(), [], b""
        if path == "/config":
            from pgrest_core.configfile import dump_config

            return 200, [("Content-Type", TEXT_CONTENT_TYPE)], dump_config(self.app.settings).encode()
        if path == "/schema_cache":
            return self._schema_cache()
        if path == "/metrics":
            return 200, [("Content-Type", TEXT_CONTENT_TYPE)], metrics_text(self.app).encode()
        return 404, [], b""

    async def _ready(self) -> int:
        if not self.api_serving():
            return 500
        return 200 if await self.app.ready() else 503

    def _schema_cache(self) -> tuple[int, list[tuple[str, str]], bytes]:
        from pgrest_core.schema.snapshot import dump_snapshot

        cache = self.app.schema_cache
        if cache is None:
            return 503, [], b""
        return 200, [("Content-Type", JSON_CONTENT_TYPE)], dump_snapshot(cache).encode()


Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


async def send_answer(send: Send, scope: Scope, answer: Answer) -> None:
    """Send an admin answer over ASGI: Content-Length always, no body for HEAD."""
    status, headers, body = answer
    encoded = [(name.encode(), value.encode()) for name, value in headers]
    encoded.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": encoded})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# --- Prometheus text format ------------------------------------------------------------------


def _metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {_number(value)}" for labels, value in samples]
    return lines


def _number(value: float) -> str:
    return repr(float(value))


def metrics_text(app: PgrestApp) -> str:
    """PostgREST's metrics for `app` in Prometheus' text exposition format (version 0.0.4)."""
    stats = app.schema_cache_stats
    lines: list[str] = []
    if stats.last_query_seconds is not None:
        lines += _metric(
            "pgrst_schema_cache_query_time_seconds",
            "gauge",
            "Seconds the last schema cache load spent querying",
            [("", stats.last_query_seconds)],
        )
    lines += _metric(
        "pgrst_schema_cache_loads_total",
        "counter",
        "Schema cache loads, by outcome",
        [('{status="FAIL"}', stats.loads_failed), ('{status="SUCCESS"}', stats.loads_succeeded)],
    )
    pool = app.pool_stats()
    if pool is not None:
        lines += _metric(
            "pgrst_db_pool_timeouts_total",
            "counter",
            "Requests that timed out waiting for a pool connection",
            [("", pool.timeouts_total)],
        )
        lines += _metric(
            "pgrst_db_pool_available", "gauge", "Open pool connections not in use", [("", pool.available)]
        )
        lines += _metric(
            "pgrst_db_pool_waiting",
            "gauge",
            "Requests waiting for a pool connection",
            [("", pool.waiting)],
        )
        lines += _metric("pgrst_db_pool_max", "gauge", "The pool's maximum size", [("", pool.max_size)])
    return "".join(line + "\n" for line in lines)


__all__ = ["AdminApp", "metrics_text"]
