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

# Exact codes win over class prefixes; the first matching prefix wins.
_EXACT_SQLSTATE_STATUS: Mapping[str, int] = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "P0001": 400,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
    "53400": 500,  # configuration_limit_exceeded (temp_file_limit): not a transient 503
}
_PREFIX_SQLSTATE_STATUS: tuple[tuple[str, int], ...] = (
    ("08", 503),
    ("09", 500),
    ("0L", 403),
    ("0P", 403),
    ("25", 500),
    ("28", 403),
    ("2D", 500),
    ("38", 500),
    ("39", 500),
    ("3B", 500),
    ("40", 500),
    ("53", 503),
    ("54", 500),
    ("55", 500),
    ("57", 500),
    ("58", 500),
    ("F0", 500),
    ("HV", 500),
    ("P0", 500),
    ("XX", 500),
)


def status_for_sqlstate(sqlstate: str, *, authenticated: bool) -> int:
    """The HTTP status PostgREST answers for a PostgreSQL error code.

    `42501` (insufficient privilege) is 401 for the anonymous role and 403 otherwise;
    `PTxyz` codes raised by user functions carry their own status `xyz` (500 when not digits).
    """
    if sqlstate == "42501":
        return 403 if authenticated else 401
    if sqlstate.startswith("PT"):
        return int(sqlstate[2:]) if sqlstate[2:].isdigit() else 500
    exact = _EXACT_SQLSTATE_STATUS.get(sqlstate)
    if exact is not None:
        return exact
    for prefix, status in _PREFIX_SQLSTATE_STATUS:
        if sqlstate.startswith(prefix):
            return status
    return 400
