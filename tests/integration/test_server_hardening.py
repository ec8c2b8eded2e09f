"""The server's limits and logging through the ASGI app (issue 8 items 2, 8, 10; issue 9 item 5).

Request-size limits (414, 431, 413) are answered by the app itself, with JSON bodies, whatever
ASGI server runs it; logging only emits records on `pgrest.access` / `pgrest` and leaves
handlers to the CLI.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from pgrest_core.config import LogLevel, Settings
from pgrest_core.shape_cache import ShapeCache
from pgrest_server.access_log import ACCESS_LOGGER, configure_logging
from pgrest_server.app import PgrestApp
from pgrest_server.limits import MAX_HEADER_FIELDS, MAX_REQUEST_TARGET
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database
from tests.integration.test_asgi import serving

SCHEMA_SQL = """
create role hard_anon nologin;
create schema api;
grant usage on schema api to hard_anon;
create table api.notes (id serial primary key, body text);
grant select, insert on api.notes to hard_anon;
grant usage on all sequences in schema api to hard_anon;
create function api.add(a int, b int) returns int language sql as 'select a + b';
"""


@pytest.fixture(scope="module")
def hard_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "hardening_tests", SCHEMA_SQL, ("hard_anon",))


@pytest.fixture()
def settings(hard_uri: str) -> Settings:
    return Settings(
        db_uri=hard_uri, db_schemas=("api",), db_anon_role="hard_anon", db_pool=1, log_level="crit"
    )




def request(settings: Settings, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def main() -> httpx.Response:
        async with serving(settings) as (_, client):
            # Bounded: a request that hangs (as 80 MiB bodies once did) fails the test instead.
            return await asyncio.wait_for(client.request(method, path, **kwargs), timeout=60)

    return asyncio.run(main())


async def raw_call(
    app: PgrestApp, scope_extra: dict[str, Any], messages: Iterator[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """Call the app with a hand-made scope and receive(); the messages sent and bodies read."""
    sent: list[dict[str, Any]] = []
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/notes",
        "raw_path": b"/notes",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "http_version": "1.1",
        "client": ("127.0.0.1", 5000),
        **scope_extra,
    }
    await app(scope, receive, send)
    return sent, read


def _status_and_json(sent: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


# -- 413: the body limit ---------------------------------------------------------------------


def test_declared_length_over_the_limit_is_413_before_reading(settings: Settings) -> None:
    limited = replace(settings, server_max_body_size=1000)

    def never() -> Iterator[dict[str, Any]]:
        raise AssertionError("the body must not be read")
        yield {}  # pragma: no cover

    async def main() -> tuple[list[dict[str, Any]], int]:
        async with serving(limited) as (app, _):
            headers = [(b"content-type", b"application/json"), (b"content-length", b"1001")]
            return await raw_call(app, {"headers": headers}, never())

    sent, read = asyncio.run(main())
    status, body = _status_and_json(sent)
    assert (status, body["code"], read) == (413, "PGRSTX13", 0)
    assert set(body) == {"code", "details", "hint", "message"}


def test_a_streamed_body_over_the_limit_is_cut_off_not_buffered(settings: Settings) -> None:
    """Without Content-Length (chunked), reading stops at the limit; the rest is never read."""
    limited = replace(settings, server_max_body_size=10 * 1024)
    chunk = b"x" * 1024

    def endless() -> Iterator[dict[str, Any]]:
        for _ in range(10_000):  # bounded: 10 MB if the limit were ignored
            yield {"type": "http.request", "body": chunk, "more_body": True}
        raise AssertionError("the whole body was read")

    async def main() -> tuple[list[dict[str, Any]], int]:
        async with serving(limited) as (app, _):
            return await raw_call(app, {}, endless())

    sent, read = asyncio.run(main())
    assert _status_and_json(sent)[0] == 413
    assert read == 11  # ten chunks fit, the eleventh crosses the limit


def test_a_body_at_the_limit_is_accepted_and_one_above_refused(settings: Settings) -> None:
    payload = json.dumps({"body": "y" * 5000}).encode()
    exact = replace(settings, server_max_body_size=len(payload))
    headers = {"Content-Type": "application/json"}
    assert request(exact, "POST", "/notes", content=payload, headers=headers).status_code == 201
    too_big = replace(settings, server_max_body_size=len(payload) - 1)
    response = request(too_big, "POST", "/notes", content=payload, headers=headers)
    assert (response.status_code, response.json()["code"]) == (413, "PGRSTX13")
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_the_default_limit_accepts_a_large_body(settings: Settings) -> None:
    """9 MiB (under the 10 MiB default) goes through the whole pipeline and the database."""
    payload = json.dumps({"body": "z" * (9 * 1024 * 1024)}).encode()
    response = request(
        settings, "POST", "/notes?select=id", content=payload,
        headers={"Content-Type": "application/json", "Prefer": "return=representation"},
    )
    assert response.status_code == 201


def test_a_client_gone_mid_body_gets_nothing_and_runs_nothing(settings: Settings) -> None:
    """Before: the partial body was run as if complete (a truncated insert or a 400)."""

    def half_then_gone() -> Iterator[dict[str, Any]]:
        yield {"type": "http.request", "body": b'[{"body":"par', "more_body": True}
        yield {"type": "http.disconnect"}

    def complete() -> Iterator[dict[str, Any]]:
        yield {"type": "http.request", "body": b'{"body":"ok"}', "more_body": False}

    async def main() -> tuple[list[dict[str, Any]], int]:
        async with serving(settings) as (app, _):
            gone, _ = await raw_call(app, {}, half_then_gone())
            whole, _ = await raw_call(app, {}, complete())
            return gone, whole[0]["status"]

    gone, status = asyncio.run(main())
    assert gone == []
    assert status == 201  # the connection the abandoned request would have used is free


# -- 414 / 431 and Content-Location -----------------------------------------------------------


def test_an_overlong_query_string_is_414_json(settings: Settings) -> None:
    """Before: 10,000 filters were answered 200 with a Content-Location header over 64 KB."""
    query = "&".join(f"body=neq.{i}" for i in range(10_000)).encode()

    def no_body() -> Iterator[dict[str, Any]]:
        yield {"type": "http.request", "body": b"", "more_body": False}

    async def main() -> list[dict[str, Any]]:
        async with serving(settings) as (app, _):
            sent, _ = await raw_call(app, {"method": "GET", "query_string": query}, no_body())
            return sent

    sent = asyncio.run(main())
    status, body = _status_and_json(sent)
    assert (status, body["code"]) == (414, "PGRSTX14")
    headers = {name.lower(): value for name, value in sent[0]["headers"]}
    assert headers[b"content-type"] == b"application/json; charset=utf-8"
    assert all(len(value) < 1024 for value in headers.values())


def test_a_long_query_over_http_is_414(settings: Settings) -> None:
    response = request(settings, "GET", "/notes?" + "&".join(f"body=neq.{i}" for i in range(2_000)))
    assert (response.status_code, response.json()["code"]) == (414, "PGRSTX14")


def test_overlarge_header_fields_are_431_json(settings: Settings) -> None:
    big = "v" * (MAX_HEADER_FIELDS // 2)
    response = request(settings, "GET", "/notes", headers={"X-One": big, "X-Two": big})
    assert (response.status_code, response.json()["code"]) == (431, "PGRSTX31")


def test_limits_are_checked_before_a_cors_preflight(settings: Settings) -> None:
    response = request(
        settings, "OPTIONS", "/notes?" + "a" * (MAX_REQUEST_TARGET + 1),
        headers={"Origin": "http://x.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 414
    assert response.headers["access-control-allow-origin"] == "*"  # browsers can read the error


def test_content_location_is_omitted_when_the_query_is_long(settings: Settings) -> None:
    """Within the URI limit, a query can still make a header no proxy passes: it is dropped."""
    query = "&".join(f"body=neq.{i}" for i in range(600))  # about 7 KiB
    response = request(settings, "GET", "/notes?" + query)
    assert response.status_code == 200
    assert "content-location" not in response.headers
    short = request(settings, "GET", "/notes?body=neq.1")
    assert short.headers["content-location"] == "/notes?body=neq.1"


# -- logging ------------------------------------------------------------------------------------


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture()
def access_records() -> Iterator[Collector]:
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (logger.level, logger.propagate, list(logger.handlers))
    collector = Collector()
    logger.addHandler(collector)
    yield collector
    logger.setLevel(saved[0])
    logger.propagate = saved[1]
    logger.handlers[:] = saved[2]
    server = logging.getLogger("pgrest")
    server.handlers[:] = [h for h in server.handlers if not getattr(h, "_pgrest_cli_handler", False)]
    server.propagate = True
    server.setLevel(logging.NOTSET)


# Which of a 2xx, a 4xx and a 5xx request each log-level logs (PostgREST 16's configuration docs).
LOGGED_BY_LEVEL: dict[LogLevel, set[int]] = {
    "crit": set(),
    "error": {500},
    "warn": {404, 500},
    "info": {200, 404, 500},
    "debug": {200, 404, 500},
}


@pytest.mark.parametrize("level", list(LOGGED_BY_LEVEL))
def test_log_level_selects_requests_by_status(
    settings: Settings, level: LogLevel, access_records: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging(level)
    real_prepare = ShapeCache.prepare

    def prepare(self: ShapeCache, request: Any, *args: Any) -> Any:
        if getattr(request.target, "name", None) == "boom":
            raise RuntimeError("boom")
        return real_prepare(self, request, *args)

    monkeypatch.setattr(ShapeCache, "prepare", prepare)

    async def main() -> list[int]:
        async with serving(replace(settings, log_level=level)) as (_, client):
            statuses = []
            for path in ("/notes", "/a/b/c", "/boom"):
                statuses.append((await client.get(path)).status_code)
            return statuses

    assert asyncio.run(main()) == [200, 404, 500]
    logged = {int(record.getMessage().split('" ')[1].split()[0]) for record in access_records.records}
    assert logged == LOGGED_BY_LEVEL[level]


def test_access_line_is_apache_combined_format(settings: Settings, access_records: Collector) -> None:
    configure_logging("info")
    request(settings, "GET", "/notes?select=id", headers={"User-Agent": 'ua "quoted"', "Referer": "http://r/"})
    (line,) = [record.getMessage() for record in access_records.records]
    pattern = (
        r'127\.0\.0\.1 - hard_anon \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
        r'"GET /notes\?select=id HTTP/1\.1" 200 \d+ "http://r/" "ua \\"quoted\\""'
    )
    assert re.fullmatch(pattern, line), line


def test_creating_and_using_the_app_configures_no_logging(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9 item 5: a host application's logging is its own; the app only emits records."""
    loggers = [logging.getLogger(name) for name in ("pgrest", ACCESS_LOGGER)]
    before = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    response = request(replace(settings, log_level="debug"), "GET", "/nowhere")
    assert response.status_code == 404
    assert [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers] == before
    assert capsys.readouterr() == ("", "")


# -- CORS and Server-Timing, as PostgREST 16 answers them ----------------------------------------

PREFLIGHT = {"Origin": "http://app.example", "Access-Control-Request-Method": "POST"}


def test_preflight_with_custom_request_headers_allows_each_of_them(settings: Settings) -> None:
    response = request(
        replace(settings, server_timing_enabled=True), "OPTIONS", "/notes",
        headers={**PREFLIGHT, "Access-Control-Request-Headers": "X-App-Id, content-type,Prefer"},
    )
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["access-control-allow-headers"] == (
        "Authorization, X-App-Id, content-type, Prefer, Accept, Accept-Language, Content-Language"
    )
    assert response.headers["access-control-allow-methods"] == "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD"
    assert response.headers["access-control-max-age"] == "86400"
    # Answered by the CORS layer before the API: no timing, no API headers.
    assert "server-timing" not in response.headers
    assert "allow" not in response.headers


def test_preflight_from_an_allowed_origin_echoes_it_with_credentials(settings: Settings) -> None:
    configured = replace(settings, server_cors_allowed_origins=("http://app.example", "http://other.example"))
    response = request(configured, "OPTIONS", "/notes", headers=PREFLIGHT)
    assert response.headers["access-control-allow-origin"] == "http://app.example"
    assert response.headers["access-control-allow-credentials"] == "true"


def test_a_failed_preflight_falls_through_to_the_api(settings: Settings) -> None:
    """An origin not allowed, or a method not listed: the API answers OPTIONS, without CORS."""
    configured = replace(settings, server_cors_allowed_origins=("http://good.example",))
    for config, headers in (
        (configured, PREFLIGHT),
        (settings, {"Origin": "http://app.example", "Access-Control-Request-Method": "TRACE"}),
    ):
        response = request(config, "OPTIONS", "/notes", headers=headers)
        assert response.status_code == 200
        assert "access-control-allow-methods" not in response.headers
        assert "GET" in response.headers["allow"]


def test_actual_responses_expose_headers_errors_included(settings: Settings) -> None:
    for path, status in (("/notes", 200), ("/nowhere", 404)):
        response = request(settings, "GET", path, headers={"Origin": "http://app.example"})
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-expose-headers"] == (
            "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, "
            "Transfer-Encoding, Range-Unit"
        )


PHASES = ["jwt", "parse", "plan", "transaction", "response"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/notes", 200),
        ("GET", "/", 200),
        ("OPTIONS", "/notes", 200),
        ("OPTIONS", "/", 200),
        ("POST", "/rpc/add", 200),
        ("GET", "/rpc/add?a=1&b=2", 200),
    ],
)
def test_server_timing_names_every_phase_on_each_success(
    settings: Settings, method: str, path: str, status: int
) -> None:
    """Before: the root (GET /) and OPTIONS answers named only some of the phases."""
    body = {"json": {"a": 1, "b": 2}} if method == "POST" else {}
    response = request(replace(settings, server_timing_enabled=True), method, path, **body)
    assert response.status_code == status
    parts = [part.split(";") for part in response.headers["server-timing"].split(", ")]
    assert [name for name, _ in parts] == PHASES
    assert all(re.fullmatch(r"dur=\d+\.\d", duration) for _, duration in parts)


@pytest.mark.parametrize(("path", "status"), [("/nowhere", 404), ("/notes?id=eq.x", 400), ("/rpc/nope", 404)])
def test_error_responses_carry_no_server_timing(settings: Settings, path: str, status: int) -> None:
    response = request(replace(settings, server_timing_enabled=True), "GET", path)
    assert response.status_code == status
    assert "server-timing" not in response.headers


def test_server_timing_is_off_by_default(settings: Settings) -> None:
    assert "server-timing" not in request(settings, "GET", "/notes").headers


def test_trace_header_is_echoed_on_every_response_empty_when_absent(settings: Settings) -> None:
    traced = replace(settings, server_trace_header="X-Request-Id")
    assert request(traced, "GET", "/notes", headers={"X-Request-Id": "r1"}).headers["x-request-id"] == "r1"
    assert request(traced, "GET", "/nowhere").headers["x-request-id"] == ""
    preflight = request(traced, "OPTIONS", "/notes", headers={**PREFLIGHT, "X-Request-Id": "r2"})
    assert preflight.headers["x-request-id"] == "r2"
