"""Assemble an `ApiRequest` from the raw parts of an HTTP request (the parse stage's entry point).

Everything here is syntax: which method, which path shape, what the headers say. Whether
the table or function exists is the planner's question. Every client mistake becomes a
`PgrstError`; nothing else escapes for any input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, get_args
from urllib.parse import unquote_to_bytes

from pgrest_core import errors
from pgrest_core.ast import (
    ApiRequest,
    Method,
    RootTarget,
    RoutineTarget,
    TableTarget,
    Target,
)
from pgrest_core.request.media import parse_accept, parse_content_type
from pgrest_core.request.preferences import parse_prefer
from pgrest_core.request.query import parse_query_params
from pgrest_core.request.ranges import parse_range

_METHODS: Final[dict[str, Method]] = {method: method for method in get_args(Method)}
# Writes name their schema with Content-Profile, everything else with Accept-Profile.
_WRITE_METHODS: Final = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# Functions are called with GET/HEAD (read-only) or POST; OPTIONS describes them.
_ROUTINE_METHODS: Final = frozenset({"GET", "HEAD", "POST", "OPTIONS"})


def parse_request(
    method: str,
    path: str,
    query_string: str | bytes,
    headers: Sequence[tuple[str, str]],
    body: bytes | None = None,
    *,
    schemas: Sequence[str] = ("public",),
) -> ApiRequest:
    """Parse one HTTP request. `schemas` are the exposed schemas, the first being the default
    (PostgREST's db-schemas, "public" unless configured); a profile header naming any other
    schema is refused with PGRST106."""
    if not schemas:
        raise ValueError("parse_request needs at least one exposed schema")
    verb = parse_method(method)
    target = parse_target(path)
    routine = isinstance(target, RoutineTarget)
    if routine and verb not in _ROUTINE_METHODS:
        raise errors.invalid_rpc_method(verb)
    lowered = tuple((name.lower(), value) for name, value in headers)
    seen = _Headers(lowered)
    profile = seen.first("content-profile" if verb in _WRITE_METHODS else "accept-profile")
    schema = _negotiate_schema(profile, tuple(schemas))
    pairs = decode_query(query_string)
    query = parse_query_params(pairs, routine=routine)
    accept = seen.all("accept")
    # Cookies reach the database as request.cookies, not among the headers.
    forwarded = (
        tuple((name, value) for name, value in lowered if name != "cookie") if seen.cookies else lowered
    )
    return ApiRequest(
        method=verb,
        target=target,
        query=query,
        preferences=parse_prefer(seen.all("prefer")),
        # A list-valued header sent several times is the same as one comma-joined header.
        accept=parse_accept(", ".join(accept) if accept else None),
        content_type=parse_content_type(seen.first("content-type")),
        # PostgREST honours Range only when reading with GET (not even HEAD).
        range=parse_range(seen.first("range"), seen.first("range-unit")) if verb == "GET" else None,
        schema=schema,
        body=body,
        headers=forwarded,
        cookies=parse_cookies(seen.all("cookie")),
        query_pairs=pairs,
    )


class _Headers:
    """The values of the few headers the parser reads, gathered in one pass (names lower-cased)."""

    __slots__ = ("values", "cookies")

    def __init__(self, lowered: Sequence[tuple[str, str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in lowered:
            if name in _READ_HEADERS:
                self.values.setdefault(name, []).append(value)
        self.cookies = "cookie" in self.values

    def all(self, name: str) -> tuple[str, ...]:
        return tuple(self.values.get(name, ()))

    def first(self, name: str) -> str | None:
        values = self.values.get(name)
        return values[0] if values else None


_READ_HEADERS: Final = frozenset(
    {
        "accept",
        "accept-profile",
        "content-profile",
        "content-type",
        "cookie",
        "prefer",
        "range",
        "range-unit",
    }
)


def parse_method(method: str) -> Method:
    """The upper-cased method, or PGRST117 (405) for one PostgREST does not serve."""
    upper = method.upper()
    known = _METHODS.get(upper)
    if known is None:
        raise errors.unsupported_method(upper)
    return known


def parse_target(path: str) -> Target:
    """`/` -> root, `/films` -> table, `/rpc/fn` -> function; any other shape is PGRST125 (404).

    Segments are split on `/` before percent-decoding, so `%2F` belongs to a name. As in
    PostgREST a trailing slash makes an empty last segment: `/films/` is not `/films`.
    `/rpc` alone is a table called `rpc`.
    """
    if path in ("", "/"):
        return RootTarget()
    segments = path.removeprefix("/").split("/")
    # Fast path: ASCII without `%` decodes to itself (no escapes, no lone surrogates).
    if "%" in path or not path.isascii():
        segments = [_decode_component(segment) for segment in segments]
    match segments:
        case [name] if name:
            return TableTarget(name)
        case ["rpc", name] if name:
            return RoutineTarget(name)
        case _:
            raise errors.invalid_path()


def decode_query(query_string: str | bytes) -> tuple[tuple[str, str], ...]:
    """`a=1&b=x+y&c=%2B` -> `(("a", "1"), ("b", "x y"), ("c", "+"))`.

    Pieces split on `&`, then on the first `=` (a bare `key` has the value ""); `+` is a
    space; bytes that are not UTF-8 become U+FFFD instead of failing; empty pieces are skipped.
    """
    # Fast path: ASCII with no `%` or `+` has nothing to decode, so it only needs splitting.
    text = query_string if isinstance(query_string, str) else query_string.decode("latin-1")
    if text.isascii() and "%" not in text and "+" not in text:
        pairs: list[tuple[str, str]] = []
        for piece in text.removeprefix("?").split("&"):
            if piece:
                key, _, value = piece.partition("=")
                pairs.append((key, value))
        return tuple(pairs)
    return decode_query_full(query_string if isinstance(query_string, bytes) else _utf8(query_string))


def decode_query_full(raw: bytes) -> tuple[tuple[str, str], ...]:
    """`decode_query` without its fast path: every piece percent- and `+`-decoded."""
    pairs: list[tuple[str, str]] = []
    for piece in raw.removeprefix(b"?").split(b"&"):
        if not piece:
            continue
        key, _, value = piece.partition(b"=")
        pairs.append((_decode_form(key), _decode_form(value)))
    return tuple(pairs)


def parse_cookies(values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """`a=1; b=2` (over every Cookie header) -> `(("a", "1"), ("b", "2"))`; nameless pieces are dropped."""
    cookies: list[tuple[str, str]] = []
    for value in values:
        for piece in value.split(";"):
            name, _, cookie = piece.partition("=")
            name = name.strip()
            if name:
                cookies.append((name, cookie.strip()))
    return tuple(cookies)


def _negotiate_schema(profile: str | None, schemas: tuple[str, ...]) -> str | None:
    """The schema a profile header asks for (PGRST106 if not exposed), else the default one."""
    if profile is not None:
        profile = profile.strip()
    if profile is None:
        return schemas[0]
    if profile not in schemas:
        raise errors.unacceptable_schema(profile, schemas)
    return profile


def _decode_component(text: str) -> str:
    return unquote_to_bytes(_utf8(text)).decode("utf-8", errors="replace")


def _decode_form(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", errors="replace")


def _utf8(text: str) -> bytes:
    # Lone surrogates (possible in a Python str, never in real UTF-8) are kept as bytes and
    # later decoded to U+FFFD rather than raising.
    return text.encode("utf-8", errors="surrogatepass")
