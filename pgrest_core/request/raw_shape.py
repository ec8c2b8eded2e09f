"""A raw request split into its shape and its filter values, without parsing it.

The compiled-shape cache (pgrest_core/shape_cache.py) skips plan and compile for a repeated
request shape, but it still needs the parsed request to find the shape. A server sees the same
few URLs over and over, differing only in filter values:

    GET /films?id=eq.3&select=title      shape: GET /films, ("id", "eq"), ("select", "title")
    GET /films?id=eq.7&select=title      values: ("3",) and ("7",)

`raw_shape` makes that split straight from the query string and the headers. It mirrors the
parser's own decisions (`request.query.parse_query_params` and `request.filters.parse_filter`'s
fast path): a reserved key (`select`, `order`, `limit`, `a.or`, …) is shape, value and all; a
filter `key=op.value` whose operator takes the rest of the text as its value is shape up to the
operator, and the rest is a value. Anything else (`in.(…)`, `not.eq.1`, `is.null`) stays in the
shape whole. Whether the split matches what the parser makes of the same request is proven by
the shape cache when it first links a raw shape to a compiled template (the values must come
out identical), so this module only has to be deterministic, not complete.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Final, NamedTuple

from pgrest_core.request.api_request import decode_query, parse_cookies
from pgrest_core.request.filters import REST_OPERATORS
from pgrest_core.request.query import RESERVED, RESERVED_LAST_SEGMENTS

# The headers that shape the parsed request (media types, preferences, range, profile). Cookies
# and every other header only reach the transaction's settings, never the statement.
SHAPE_HEADERS: Final = frozenset(
    {"accept", "accept-profile", "content-profile", "content-type", "prefer", "range", "range-unit"}
)


Pairs = tuple[tuple[str, str], ...]


# `NamedTuple(...)` goes through a Python-level `__new__`; on the paths every repeated read
# takes, its tuples are made directly (several times cheaper, the same object).
new_tuple: Final = tuple.__new__


class RawShape(NamedTuple):
    """One request split: `key` names its shape, `values` are its filter values in query order,
    `pairs` its decoded query string (for Content-Location)."""

    key: Hashable
    values: tuple[str, ...]
    pairs: Pairs


def raw_shape(
    method: str, path: str, query_string: str | bytes, headers: Sequence[tuple[str, str]]
) -> RawShape:
    """The shape and values of a request whose header names are lower-cased."""
    pairs = decode_query(query_string)
    parts: list[Hashable] = []
    values: list[str] = []
    for key, value in pairs:
        split = split_filter(key, value)
        if split is None:
            parts.append((key, value, None))  # a third member: never equal to a filter's part
        else:
            parts.append((key, split[0]))
            values.append(split[1])
    shaping = tuple([(name, value) for name, value in headers if name in SHAPE_HEADERS])
    return new_tuple(RawShape, ((method, path, tuple(parts), shaping), tuple(values), pairs))


def split_filter(key: str, value: str) -> tuple[str, str] | None:
    """`id`, `eq.3` -> ("eq", "3") for a filter whose value is the rest of the text; else None."""
    if key in RESERVED or key[key.rfind(".") + 1 :] in RESERVED_LAST_SEGMENTS:
        return None
    word, dot, rest = value.partition(".")
    if dot and word in REST_OPERATORS and "\x00" not in rest:
        return word, rest
    return None


def forwarded(headers: Sequence[tuple[str, str]]) -> tuple[Pairs, Pairs]:
    """The headers for `request.headers` (all but Cookie) and the cookies, as `parse_request`
    makes them from lower-cased headers."""
    cookies = [value for name, value in headers if name == "cookie"]
    if not cookies:
        return tuple(headers), ()
    return tuple((name, value) for name, value in headers if name != "cookie"), parse_cookies(cookies)
