"""CORS: what PostgREST's CORS middleware answers, for preflights and for actual responses.

Without server-cors-allowed-origins every origin is allowed (`*`); with it, only those listed.
"""

from __future__ import annotations

from pgrest_core.prepared import Response
from pgrest_server.http import header as _header

CORS_ALLOW_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD"
CORS_EXPOSE_HEADERS = (
    "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, "
    "Transfer-Encoding, Range-Unit"
)
_CORS_METHODS = frozenset(CORS_ALLOW_METHODS.split(", "))
# Headers a browser may always send; allowed in every preflight answer after the requested ones.
_CORS_SIMPLE_HEADERS = ("Accept", "Accept-Language", "Content-Language")


def _cors_origin(
    headers: list[tuple[str, str]], allowed_origins: tuple[str, ...] | None
) -> tuple[tuple[str, str], ...] | None:
    """Access-Control-Allow-Origin (and -Credentials) for the request's Origin, None if not CORS.

    Without server-cors-allowed-origins every origin is allowed (`*`); with it, only those
    listed, and their requests may carry credentials.
    """
    origin = _header(headers, "origin")
    if origin is None:
        return None
    if not allowed_origins:
        return (("Access-Control-Allow-Origin", "*"),)
    if origin not in allowed_origins:
        return None
    return (("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"))


def cors_preflight(
    method: str, headers: list[tuple[str, str]], allowed_origins: tuple[str, ...] | None
) -> Response | None:
    """The answer to a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method).

    None when it is not a preflight, or one PostgREST's CORS policy fails (an origin not
    allowed, a method it does not list): like PostgREST, the request then goes on to the API,
    which answers OPTIONS as usual, without CORS headers.
    """
    requested_method = _header(headers, "access-control-request-method")
    if method != "OPTIONS" or requested_method is None:
        return None
    if requested_method.strip() not in _CORS_METHODS:
        return None
    origin = _cors_origin(headers, allowed_origins)
    if origin is None:
        return None
    requested = [
        name.strip()
        for value in (v for k, v in headers if k == "access-control-request-headers")
        for name in value.split(",")
        if name.strip()
    ]
    allowed: list[str] = []
    for name in ("Authorization", *requested, *_CORS_SIMPLE_HEADERS):
        if name.lower() not in (seen.lower() for seen in allowed):
            allowed.append(name)
    return Response(
        200,
        (
            *origin,
            ("Access-Control-Allow-Methods", CORS_ALLOW_METHODS),
            ("Access-Control-Allow-Headers", ", ".join(allowed)),
            ("Access-Control-Max-Age", "86400"),
        ),
        b"",
    )


def cors_headers(
    headers: list[tuple[str, str]], allowed_origins: tuple[str, ...] | None
) -> tuple[tuple[str, str], ...]:
    """The CORS headers of an actual (non-preflight) response."""
    origin = _cors_origin(headers, allowed_origins)
    if origin is None:
        return ()
    return (*origin, ("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS))
