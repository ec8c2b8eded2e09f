"""Request logging through the standard `logging` module, with PostgREST's log-level rules.

The app only emits records; it never adds handlers or prints. Each answered request is one
record on the `pgrest.access` logger, in Apache's combined log format as PostgREST writes it:

    127.0.0.1 - web_anon [05/Dec/2026:04:10:46 +0000] "GET /films?id=eq.1 HTTP/1.1" 200 23 "" "curl/8.5.0"

at a level chosen by the response status, so that the configured log-level keeps exactly the
requests PostgREST 16 logs: `crit` none, `error` those answered 5xx, `warn` 4xx and 5xx,
`info` and `debug` every request.

`configure_logging(log_level)` is what `pgrest serve` calls: access lines go to stdout and the
server's diagnostics (`pgrest` logger: startup, schema cache, connection recovery, errors) to
stderr at every level, as PostgREST does. A host application that
mounts the app configures `logging` itself.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

ACCESS_LOGGER = "pgrest.access"
access_log = logging.getLogger(ACCESS_LOGGER)

# PostgREST's log-level values as `logging` levels.
LOG_LEVELS = {
    "crit": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}

_DATE_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
_MAX_LOGGED_TARGET = 4096


def status_level(status: int) -> int:
    """The level a request answered with `status` is logged at (see the module docstring)."""
    if status >= 500:
        return logging.ERROR
    if status >= 400:
        return logging.WARNING
    return logging.INFO


def log_request(
    scope: MutableMapping[str, Any],
    headers: list[tuple[str, str]],
    status: int,
    body_size: int | None,
    user: Callable[[], str | None],
) -> None:
    """Emit the access record for one answered request, if its level is enabled.

    `user` (the role the request ran as) is called only when the record is emitted.
    """
    level = status_level(status)
    if not access_log.isEnabledFor(level):
        return  # no formatting cost at the quiet levels
    access_log.log(level, "%s", combined_line(scope, headers, status, body_size, user()))


def log_query(status: int, query: str) -> None:
    """log-query: the request's SQL, at the level its request line is logged at."""
    level = status_level(status)
    if access_log.isEnabledFor(level):
        access_log.log(level, "%s", query)


def combined_line(
    scope: MutableMapping[str, Any],
    headers: list[tuple[str, str]],
    status: int,
    body_size: int | None,
    user: str | None,
) -> str:
    """One line of Apache's combined log format."""
    client = scope.get("client")
    host = str(client[0]) if client else "-"
    raw_path = scope.get("raw_path") or str(scope.get("path") or "/").encode()
    target = bytes(raw_path).decode("latin-1")
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    if query:
        target += "?" + query
    if len(target) > _MAX_LOGGED_TARGET:  # a refused 414 target is not logged whole either
        target = target[:_MAX_LOGGED_TARGET] + "..."
    request_line = f"{scope.get('method', '-')} {target} HTTP/{scope.get('http_version', '1.1')}"
    when = time.strftime(_DATE_FORMAT, time.localtime())
    size = "-" if body_size is None else str(body_size)
    referer = _quoted(_first(headers, "referer"))
    agent = _quoted(_first(headers, "user-agent"))
    return f'{host} - {user or "-"} [{when}] "{_escape(request_line)}" {status} {size} {referer} {agent}'


def _first(headers: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key == name), "")


def _quoted(value: str) -> str:
    return '"' + _escape(value) + '"'


def _escape(value: str) -> str:
    """Quotes, backslashes and control characters escaped, so a client cannot forge log lines."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def configure_logging(log_level: str) -> None:
    """Route `pgrest` logging for the CLI: access lines to stdout, diagnostics to stderr.

    Called by `pgrest serve` only. Idempotent: handlers it added before are replaced.
    """
    level = LOG_LEVELS.get(log_level, logging.ERROR)
    server = logging.getLogger("pgrest")
    _replace_handler(server, logging.StreamHandler(sys.stderr), "%(asctime)s: %(message)s")
    # PostgREST prints its startup and connection-recovery messages at every level, even
    # `crit`; log-level filters requests. Only `debug` adds the development messages.
    server.setLevel(logging.DEBUG if level == logging.DEBUG else logging.INFO)
    server.propagate = False
    _replace_handler(access_log, logging.StreamHandler(sys.stdout), "%(message)s")
    access_log.setLevel(level)
    access_log.propagate = False  # not repeated on stderr by the `pgrest` handler


_CLI_HANDLER = "_pgrest_cli_handler"


def _replace_handler(logger: logging.Logger, handler: logging.Handler, fmt: str) -> None:
    for old in [h for h in logger.handlers if getattr(h, _CLI_HANDLER, False)]:
        logger.removeHandler(old)
    handler.setFormatter(logging.Formatter(fmt, datefmt=_DATE_FORMAT))
    setattr(handler, _CLI_HANDLER, True)
    logger.addHandler(handler)
