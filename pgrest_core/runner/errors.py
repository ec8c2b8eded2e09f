"""PostgreSQL errors (as psycopg raises them) turned into PostgREST's HTTP errors.

The body is `{"code": sqlstate, "message", "details", "hint"}` and the status comes from the
SQLSTATE (`pgrest_core.errors.status_for_sqlstate`). Two conventions let SQL code choose the
HTTP answer itself:

- `RAISE SQLSTATE 'PT404'`: status 404 (a `PT` code without a number gives 500);
- `RAISE SQLSTATE 'PGRST' USING message = '<json>', detail = '<json>'`: the message JSON is the
  body (`code`, `message`, `details`, `hint`), the detail JSON gives `status`, `headers` and
  optionally `status_text`. Unparsable JSON is error PGRST121.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import psycopg_pool

from pgrest_core.errors import ConnectionFailure, DatabaseError, PgrstError, status_for_sqlstate

_PGRST121_MESSAGE = "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error"
_MESSAGE_HINT = (
    "MESSAGE must be a JSON object with obligatory keys: 'code', 'message'"
    " and optional keys: 'details', 'hint'."
)
_DETAIL_HINT = (
    "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'."
)


def _raise_parse_error(details: str, hint: str) -> PgrstError:
    return PgrstError("PGRST121", 500, _PGRST121_MESSAGE, details, hint)


def pool_timeout() -> ConnectionFailure:
    """PGRST003: no connection became free within db-pool-acquisition-timeout."""
    return ConnectionFailure("PGRST003", 504, "Timed out acquiring connection from connection pool.")


def connection_failure(error: BaseException) -> ConnectionFailure:
    """PGRST001: the database refused or dropped the connection."""
    message = "Database client error. Retrying the connection."
    return ConnectionFailure("PGRST001", 503, message, str(error) or None)


def client_data_error(error: psycopg.DataError) -> DatabaseError:
    """A value psycopg refuses to send: an error in the request's data, never a lost connection.

    The only such value pgrest can produce is text holding NUL, which PostgreSQL itself
    rejects with 22021 when PostgREST sends it (as a filter or query-string argument).
    """
    if "NUL" in str(error):
        return DatabaseError("22021", 400, 'invalid byte sequence for encoding "UTF8": 0x00')
    return DatabaseError("22000", 400, str(error))


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _custom_pgrst_error(message: str | None, detail: str | None) -> PgrstError:
    """The error a `RAISE SQLSTATE 'PGRST'` asked for, or PGRST121 when its JSON is unusable."""
    try:
        body = json.loads(message or "")
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("code"), str) or "message" not in body:
        return _raise_parse_error(f"Invalid JSON value for MESSAGE: '{message}'", _MESSAGE_HINT)
    if detail is None:
        return _raise_parse_error("DETAIL is missing in the RAISE statement", _DETAIL_HINT)
    try:
        meta = json.loads(detail)
    except (ValueError, RecursionError):
        meta = None
    status = meta.get("status") if isinstance(meta, dict) else None
    headers = meta.get("headers") if isinstance(meta, dict) else None
    if not isinstance(status, int) or isinstance(status, bool) or not isinstance(headers, dict):
        return _raise_parse_error(f"Invalid JSON value for DETAIL: '{detail}'", _DETAIL_HINT)
    return DatabaseError(
        body["code"],
        status,
        _text_or_none(body.get("message")) or "",
        _text_or_none(body.get("details")),
        _text_or_none(body.get("hint")),
        tuple((str(name), str(value)) for name, value in headers.items()),
    )


def from_psycopg(error: psycopg.Error, *, authenticated: bool) -> PgrstError:
    """The PgrstError answering a psycopg exception raised while running a request."""
    sqlstate = error.sqlstate
    if sqlstate is None and isinstance(error, psycopg.DataError):
        # Raised by psycopg itself while sending a value (the connection is fine).
        return client_data_error(error)
    if sqlstate is None:
        # No SQLSTATE: the connection itself failed (closed, unreachable, protocol error).
        return connection_failure(error)
    diag = error.diag
    if sqlstate == "PGRST":
        return _custom_pgrst_error(diag.message_primary, diag.message_detail)
    message = diag.message_primary or str(error)
    status = status_for_sqlstate(sqlstate, authenticated=authenticated, message=message)
    headers: tuple[tuple[str, str], ...] = ()
    if status == 401:
        headers = (("WWW-Authenticate", "Bearer"),)
    return DatabaseError(sqlstate, status, message, diag.message_detail, diag.message_hint, headers)


def from_exception(error: BaseException, *, authenticated: bool) -> PgrstError | None:
    """Map a database-side exception to a PgrstError, or None when it is not one we know."""
    if isinstance(error, psycopg_pool.PoolTimeout):
        return pool_timeout()
    if isinstance(error, psycopg.Error):
        return from_psycopg(error, authenticated=authenticated)
    return None
