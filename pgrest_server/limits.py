"""Size limits on what a client sends: the request target, the header fields and the body.

A production HTTP server bounds each part of a request before doing any work on it, so that
no request, however large, can exhaust memory, tie up a database connection or be echoed
back into a response header. The limits are enforced here, in the app, so they hold under
any ASGI server (uvicorn with httptools or h11, hypercorn, a test transport) and every
refusal is a PostgREST-shaped JSON error:

    414 URI Too Long                      the path and query string exceed MAX_REQUEST_TARGET
    431 Request Header Fields Too Large   the header fields exceed MAX_HEADER_FIELDS
    413 Content Too Large                 the body exceeds server-max-body-size

The body limit is checked against Content-Length before anything is read, and again while
reading, so a body sent without a length (chunked) is cut off at the limit, never buffered whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pgrest_core.errors import PgrstError

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

# nginx and Apache refuse a request line above 8 KiB by default; PostgREST users do send long
# `in.(…)` lists, so twice that is allowed. httptools (uvicorn's default parser) rejects a
# request head above 80 KiB with a bare 400 of its own, so both limits stay well below it.
MAX_REQUEST_TARGET = 16 * 1024
# The sum over header fields of `name: value\r\n`. Warp (PostgREST's server) allows 50 KiB for
# the whole request head; 32 KiB of fields plus 16 KiB of target stays within that.
MAX_HEADER_FIELDS = 32 * 1024


class ClientDisconnected(Exception):
    """The client went away before its body was complete: there is nobody to answer."""


def uri_too_long(length: int) -> PgrstError:
    return PgrstError(
        "PGRSTX14",
        414,
        "URI too long",
        f"The request path and query string are {length} bytes long; "
        f"at most {MAX_REQUEST_TARGET} are accepted.",
        "Send long filters in the body of a POST to an RPC function instead.",
    )


def header_fields_too_large(size: int) -> PgrstError:
    return PgrstError(
        "PGRSTX31",
        431,
        "Request header fields too large",
        f"The request header fields take {size} bytes; at most {MAX_HEADER_FIELDS} are accepted.",
    )


def payload_too_large(limit: int) -> PgrstError:
    return PgrstError(
        "PGRSTX13",
        413,
        "Payload too large",
        f"The request body exceeds the limit of {limit} bytes.",
        "The limit is the server-max-body-size setting.",
    )


def check_request_head(scope: MutableMapping[str, Any], headers: list[tuple[str, str]]) -> None:
    """Raise 414 or 431 when the request target or the header fields are over their limits."""
    raw_path = scope.get("raw_path") or str(scope.get("path") or "").encode()
    target = len(bytes(raw_path)) + len(bytes(scope.get("query_string") or b""))
    if target > MAX_REQUEST_TARGET:
        raise uri_too_long(target)
    fields = sum(len(name) + len(value) + 4 for name, value in headers)
    if fields > MAX_HEADER_FIELDS:
        raise header_fields_too_large(fields)


def declared_length(headers: list[tuple[str, str]]) -> int | None:
    """The Content-Length the client declared, None when absent or not a number."""
    for name, value in headers:
        if name == "content-length":
            text = value.strip()
            return int(text) if text.isdigit() else None
    return None


async def read_body(receive: Receive, headers: list[tuple[str, str]], limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes.

    A declared Content-Length over the limit is refused before reading anything; otherwise the
    chunks are accumulated only while their total stays within the limit, so the server never
    holds more than `limit` bytes of a body it is going to refuse.
    Raises ClientDisconnected when the client goes away before the body is complete.
    """
    length = declared_length(headers)
    if length is not None and length > limit:
        raise payload_too_large(limit)
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if len(body) + len(chunk) > limit:
            raise payload_too_large(limit)
        body += chunk
        if not message.get("more_body", False):
            return bytes(body)
