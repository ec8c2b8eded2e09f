"""The query string's (key, value) pairs → `QueryParams`.

Reserved keys: `select`, `columns`, `on_conflict` (exact), and keys whose last `.`-segment is
`order`, `limit`, `offset`, `and` or `or` (the segments before it are the embed path:
`rel.order=…`, `a.b.or=(…)`, `a.not.and=(…)`). Every other key is a filter `a.b.col->json=op.value`,
except on `/rpc/fn` (`routine=True`), where such pairs stay raw in `params` because only the
planner knows which of them are function arguments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Final, Literal

from pgrest_core.ast import (
    EmbedPath,
    Field,
    JsonStep,
    QueryParams,
    ScopedCondition,
    ScopedOrder,
    ScopedRange,
    SelectItem,
)
from pgrest_core.request.filters import parse_filter, parse_logic
from pgrest_core.request.order import parse_order
from pgrest_core.request.scanner import (
    DELIMITER,
    END,
    Cursor,
    ParseFailure,
    field_name,
    json_path,
    reject_nul,
    skip_ws,
    to_error,
)
from pgrest_core.request.select import parse_select

RESERVED = frozenset({"select", "columns", "on_conflict"})
RESERVED_LAST_SEGMENTS = frozenset({"order", "limit", "offset", "and", "or"})

# A key made only of ASCII identifier characters is one unquoted name with no JSON path and no
# embed path, so it needs no scanning (the fast path of `_filter_key`).
PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9_$]+")
_LOGIC_OPERATORS: Final[dict[str, Literal["and", "or"]]] = {"and": "and", "or": "or"}


def parse_query_params(pairs: Sequence[tuple[str, str]], *, routine: bool = False) -> QueryParams:
    """Already percent-decoded pairs, in query-string order → the parsed query."""
    select: tuple[SelectItem, ...] | None = None
    conditions: list[ScopedCondition] = []
    orders: list[ScopedOrder] = []
    ranges: dict[EmbedPath, tuple[int | None, int | None]] = {}
    on_conflict: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None
    params: list[tuple[str, str]] = []
    for key, value in pairs:
        if "\x00" in key:
            reject_nul("tree path", key)
        if key == "select":
            if select is None:  # the first one counts, as in PostgREST
                select = parse_select(value)
            continue
        if key == "columns":
            if columns is None:
                columns = parse_columns(value, "columns parameter")
            continue
        if key == "on_conflict":
            if on_conflict is None:
                on_conflict = parse_columns(value, "on_conflict parameter")
            continue
        dot = key.rfind(".")
        last = key[dot + 1 :]
        if last == "order":
            orders.append(ScopedOrder(_embed_path(key) if dot != -1 else (), parse_order(value)))
        elif last == "limit" or last == "offset":
            path = _embed_path(key) if dot != -1 else ()
            number = range_number(value)
            if number is not None:  # like PostgREST, a value that is not an integer is ignored
                limit, offset = ranges.get(path, (None, None))
                ranges[path] = (number, offset) if last == "limit" else (limit, number)
        elif last == "and" or last == "or":
            if dot == -1:  # a bare `and`/`or` key: no embed path, nothing negates it
                path, negated, operator = (), False, _LOGIC_OPERATORS[last]
            else:
                path, negated, operator = _logic_key(key)
            conditions.append(ScopedCondition(path, parse_logic(operator, negated, value)))
        elif routine:
            reject_nul("query parameter", value)
            params.append((key, value))
        else:
            path, fld = ((), _plain_field(key)) if PLAIN_NAME.fullmatch(key) else _filter_key(key)
            conditions.append(ScopedCondition(path, parse_filter(fld, value)))
    return QueryParams(
        select=select,
        conditions=tuple(conditions),
        orders=tuple(orders),
        ranges=tuple(ScopedRange(path, limit, offset) for path, (limit, offset) in ranges.items())
        if ranges
        else (),
        on_conflict=on_conflict,
        columns=columns,
        params=tuple(params),
    )


@lru_cache(maxsize=1024)
def _plain_field(name: str) -> Field:
    """The field of a plain filter key (`id=…`): the same few column names on every request, and
    fields are immutable, so they are cached."""
    return Field(name)


def parse_columns(text: str, what: str) -> tuple[str, ...]:
    """`a, b,"c d"`: names separated by commas (`columns=`, `on_conflict=`)."""
    reject_nul(what, text)
    c = Cursor(text)
    try:
        names = [field_name(c)]
        while True:
            after_ws = skip_ws(text, c.pos, c.n)
            if not text.startswith(",", after_ws):
                if after_ws > c.pos:
                    raise ParseFailure(after_ws, ('","',))
                return tuple(names)
            c.pos = skip_ws(text, after_ws + 1, c.n)
            names.append(field_name(c))
    except ParseFailure as failure:
        raise to_error(what, text, text, failure) from None


# An integer as Haskell's `read` takes it: optional surrounding whitespace and minus sign.
_RANGE_NUMBER: Final = re.compile(r"\s*(-?[0-9]+)\s*")


def range_number(text: str) -> int | None:
    """`limit=10`, `offset=-2`: an integer, possibly negative; None when it is not one.

    PostgREST reads these with `readMaybe`, so anything else (`x`, `1.5`, `+2`, empty) leaves
    the parameter out rather than failing; negative values are judged when paging
    (`plan.read.top_level_page`) or by PostgreSQL (an embed's LIMIT/OFFSET).
    """
    if text.isascii() and text.isdigit():  # fast path: the usual case
        return int(text)
    match = _RANGE_NUMBER.fullmatch(text)
    return int(match.group(1)) if match is not None else None


# --- keys --------------------------------------------------------------------------------------


def _key_names(key: str, what: str, *, json: bool) -> tuple[list[tuple[str, bool]], tuple[JsonStep, ...]]:
    """`a.b."c.d"->x` → [(name, was_quoted)…] and the JSON path after the last name."""
    c = Cursor(key)
    try:
        names = []
        while True:
            quoted_name = key.startswith('"', c.pos)
            names.append((field_name(c), quoted_name))
            if not key.startswith(".", c.pos):
                break
            c.pos += 1
        path = json_path(c) if json else ()
        if c.pos != c.n:
            raise ParseFailure(c.pos, c.field_tail(c.pos) + (DELIMITER, END))
    except ParseFailure as failure:
        raise to_error(what, key, key, failure) from None
    return names, path


def _embed_path(key: str) -> EmbedPath:
    """`a.b.order` → ("a", "b")."""
    names, _json = _key_names(key, "tree path", json=True)
    return tuple(name for name, _quoted in names[:-1])


def _filter_key(key: str) -> tuple[EmbedPath, Field]:
    names, path = _key_names(key, "tree path", json=True)
    return tuple(name for name, _quoted in names[:-1]), Field(names[-1][0], path)


def _logic_key(key: str) -> tuple[EmbedPath, bool, Literal["and", "or"]]:
    """`a.not.or` → (("a",), True, "or"); an unquoted `not` anywhere negates."""
    names, _json = _key_names(key, "logic path", json=False)
    negated = any(name == "not" and not was_quoted for name, was_quoted in names[:-1])
    path = tuple(name for name, was_quoted in names[:-1] if was_quoted or name != "not")
    operator: Literal["and", "or"] = "and" if names[-1][0] == "and" else "or"
    return path, negated, operator
