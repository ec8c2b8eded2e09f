"""One error hierarchy for every stage, carrying PostgREST's codes and HTTP statuses.

Every error a client can cause is a `PgrstError`: it knows its HTTP status, its body
(`{"code","message","details","hint"}`) and any extra response headers. Stages raise the
family that belongs to them, so callers can catch a stage's errors without string matching.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeAlias

# Usually a sentence; PGRST201 lists the candidate relationships as objects instead.
Details: TypeAlias = str | list[dict[str, str]] | None

class PgrstError(Exception):
    """An error with PostgREST's code, HTTP status and body."""

    code: str
    status: int
    message: str
    details: Details
    hint: str | None
    headers: tuple[tuple[str, str], ...]

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        details: Details = None,
        hint: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}

    def to_json(self) -> str:
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.status}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PgrstError)
            and type(self) is type(other)
            and (self.code, self.status, self.message, self.details, self.hint)
            == (other.code, other.status, other.message, other.details, other.hint)
        )

    __hash__ = Exception.__hash__


class ConnectionFailure(PgrstError):
    """PGRST0xx: the database could not be reached or the pool is exhausted."""


class ApiRequestError(PgrstError):
    """PGRST1xx: the request itself is malformed or asks for something unsupported."""


class SchemaCacheError(PgrstError):
    """PGRST2xx: the request names something the schema cache does not have."""


class JwtError(PgrstError):
    """PGRST3xx: authentication failed."""


class InternalError(PgrstError):
    """PGRSTX00: a bug in pgrest; never caused by the client."""


class DatabaseError(PgrstError):
    """An error raised by PostgreSQL, mapped to HTTP by SQLSTATE (see `status_for_sqlstate`)."""


# --- PGRST1xx constructors: one function per code, so messages live in one place -------------


def parse_error(message: str, details: str | None = None, hint: str | None = None) -> ApiRequestError:
    """PGRST100: the query string does not follow the grammar."""
    return ApiRequestError("PGRST100", 400, message, details, hint)


def invalid_body(message: str, details: str | None = None) -> ApiRequestError:
    return ApiRequestError("PGRST102", 400, message, details)


def invalid_range(details: str | None = None) -> ApiRequestError:
    return ApiRequestError("PGRST103", 416, "Requested range not satisfiable", details)


def unacceptable_schema(schema: str, allowed: tuple[str, ...]) -> ApiRequestError:
    return ApiRequestError(
        "PGRST106",
        406,
        "Invalid schema: " + schema,
        None,
        "Only the following schemas are exposed: " + ", ".join(allowed),
    )


def unacceptable_media_types(accepted: tuple[str, ...]) -> ApiRequestError:
    """PGRST107: none of the Accept media types can be produced (HTTP 406)."""
    return ApiRequestError("PGRST107", 406, "None of these media types are available: " + ", ".join(accepted))


def invalid_content_type(content_type: str) -> ApiRequestError:
    return ApiRequestError("PGRST107", 415, f"Content-Type not acceptable: {content_type}")


def invalid_preferences(invalid: tuple[str, ...]) -> ApiRequestError:
    """PGRST122: unknown `Prefer` values with `handling=strict`."""
    return ApiRequestError(
        "PGRST122",
        400,
        "Invalid preferences given with handling=strict",
        "Invalid preferences: " + ", ".join(invalid),
    )


def unsupported_method(method: str) -> ApiRequestError:
    return ApiRequestError("PGRST117", 405, f"Unsupported HTTP method: {method}")


def invalid_path() -> ApiRequestError:
    return ApiRequestError("PGRST125", 404, "Invalid path specified in request URL")


def invalid_rpc_method(method: str) -> ApiRequestError:
    """PGRST101: functions are called with GET, HEAD or POST only."""
    return ApiRequestError("PGRST101", 405, f"Cannot use the {method} method on RPC")


def aggregates_disabled() -> ApiRequestError:
    return ApiRequestError("PGRST123", 400, "Use of aggregate functions is not allowed")


# --- PostgreSQL errors: SQLSTATE -> HTTP status, as data -------------------------------------

# PostgREST 16's table. Exact codes win over class prefixes; the first matching prefix wins.
# Codes whose status also depends on the message are in `status_for_sqlstate`.
_EXACT_SQLSTATE_STATUS: Mapping[str, int] = {
    "23503": 409,  # foreign_key_violation
    "23505": 409,  # unique_violation
    "25006": 405,  # read_only_sql_transaction
    "21000": 500,  # cardinality_violation: a function or view failing, not the request
    "53400": 500,  # configuration_limit_exceeded (temp_file_limit): not a transient 503
    "57P01": 503,  # admin_shutdown: the connection was terminated (a database restart)
    "P0001": 400,  # RAISE's default
    "42883": 404,  # undefined_function
    "42P01": 404,  # undefined_table
    "42P17": 500,  # infinite recursion (of a policy)
}
_PREFIX_SQLSTATE_STATUS: tuple[tuple[str, int], ...] = (
    ("08", 503),  # connection exception
    ("09", 500),  # triggered action exception
    ("0L", 403),  # invalid grantor
    ("0P", 403),  # invalid role specification
    ("25", 500),  # invalid transaction state
    ("28", 403),  # invalid authorization specification
    ("2D", 500),  # invalid transaction termination
    ("38", 500),  # external routine exception
    ("39", 500),  # external routine invocation exception
    ("3B", 500),  # savepoint exception
    ("40", 500),  # transaction rollback
    ("53", 503),  # insufficient resources
    ("54", 500),  # program limit exceeded
    ("55", 500),  # object not in prerequisite state
    ("57", 500),  # operator intervention
    ("58", 500),  # system error
    ("F0", 500),  # configuration file error
    ("HV", 500),  # foreign data wrapper error
    ("P0", 500),  # PL/pgSQL error
    ("XX", 500),  # internal error
)


def status_for_sqlstate(sqlstate: str, *, authenticated: bool, message: str = "") -> int:
    """The HTTP status PostgREST answers for a PostgreSQL error code (and message).

    `42501` (insufficient privilege) is 401 for the anonymous role and 403 otherwise;
    `PTxyz` codes raised by user functions carry their own status `xyz` (500 when not digits).
    Three codes depend on the message: 21000 from pg-safeupdate ("… requires a WHERE clause")
    is the client's mistake (400); 22023 "role … does not exist" is a JWT naming an unknown
    role (401); 42883 for `xmlagg(…)` means no XML output is possible (406).
    """
    if sqlstate == "42501":
        return 403 if authenticated else 401
    if sqlstate.startswith("PT"):
        return int(sqlstate[2:]) if sqlstate[2:].isdigit() else 500
    if sqlstate == "21000" and message.endswith("requires a WHERE clause"):
        return 400
    if sqlstate == "22023" and message.startswith("role") and message.endswith("does not exist"):
        return 401
    if sqlstate == "42883" and message.startswith("function xmlagg("):
        return 406
    exact = _EXACT_SQLSTATE_STATUS.get(sqlstate)
    if exact is not None:
        return exact
    for prefix, status in _PREFIX_SQLSTATE_STATUS:
        if sqlstate.startswith(prefix):
            return status
    return 400
