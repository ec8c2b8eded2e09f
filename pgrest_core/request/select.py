"""`select=` parsing: fields, casts, aggregates, JSON paths, embeds and spreads, nested.

    select   := item ("," item)*            (whitespace around items and commas is ignored)
    item     := "..." name params "(" select? ")"                      spread
              | [alias ":"] name params "(" select? ")"                embed
              | "*" | [alias ":"] "count()" ["::" cast]
              | [alias ":"] name json_path ["::" cast] ["." agg "()"] ["::" cast]
    params   := ("!" name){0,2}       (`left`/`inner` are join types, any other name is the hint)

Like PostgREST, text after a complete top-level list is ignored (`a(b)x` is `a(b)`) and a
select that starts with nothing parseable is the empty select.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from pgrest_core.ast import Aggregate, Field, JoinType, SelectEmbed, SelectField, SelectItem
from pgrest_core.request.scanner import (
    END,
    FIELD_NAME,
    LETTER_OR_DIGIT,
    Cursor,
    ParseFailure,
    field_name,
    furthest,
    identifier,
    json_path,
    mismatch,
    nub,
    reject_nul,
    skip_ws,
    to_error,
)

_STAR = Field("*")
_ITEM_ENDS = ('")"', '","', END)
_AGGREGATES = ("sum", "avg", "count", "max", "min")
# The fast path of `parse_select` reads only plain ASCII names, `*`, commas and parentheses.
_PLAIN_SELECT: Final = re.compile(r"[A-Za-z0-9_$*(),]+")
_PLAIN_TOKEN: Final = re.compile(r"[A-Za-z0-9_$]+|[*(),]")
# What a field item carried, kept to explain a failure right after it:
# (cast, cast_end, aggregate, aggregate_cast, aggregate_cast_end); None for `*`.
_Tail = tuple[str | None, int, Aggregate | None, str | None, int] | None


class _SelectCursor(Cursor):
    __slots__ = ("tail",)

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.tail: _Tail = None


def parse_select(text: str) -> tuple[SelectItem, ...]:
    """`select=` text → its items (the empty text is the empty select)."""
    if _PLAIN_SELECT.fullmatch(text):
        items = _plain_select(_PLAIN_TOKEN.findall(text))
        if items is not None:
            return items
    return parse_select_full(text)


def _plain_select(tokens: list[str]) -> tuple[SelectItem, ...] | None:
    """Fast path for the common `a,b,rel(c,d,other(*))`: names, stars and plain embeds only.

    Returns None for anything else (aliases, casts, JSON paths, hints, spreads, aggregates,
    whitespace, `count(`, malformed text), which the full grammar then reads.
    """
    levels: list[tuple[str, list[SelectItem]]] = [("", [])]  # (relation, items) of each open list
    after_item = False  # an item just ended: a comma or a closing parenthesis must follow
    opened = False  # the token before was an embed's `(`
    embed_name = False  # the token before was an embed's name: this one is its `(`
    for i, token in enumerate(tokens):
        if embed_name:
            embed_name, opened = False, True
            continue
        if token == ",":
            if not after_item:
                return None
            after_item = False
        elif token == ")":
            if len(levels) == 1 or not (after_item or opened):
                return None
            relation, select = levels.pop()
            levels[-1][1].append(SelectEmbed(relation, tuple(select)))
            after_item = True
        elif token == "(" or after_item:
            return None
        elif i + 1 < len(tokens) and tokens[i + 1] == "(":
            if token == "*" or token == "count":  # `*(` is malformed, and `count(` is never an embed
                return None
            levels.append((token, []))
            embed_name = True
        else:
            levels[-1][1].append(_plain_field(token))
            after_item = True
        opened = False
    if len(levels) != 1 or not after_item:
        return None
    return tuple(levels[0][1])


@lru_cache(maxsize=1024)
def _plain_field(name: str) -> SelectField:
    """`*` or a plain column name as a select item: the same few on every request, and items
    are immutable, so they are cached."""
    return SelectField(_STAR if name == "*" else Field(name))


def parse_select_full(text: str) -> tuple[SelectItem, ...]:
    """`parse_select` without its fast path (the full grammar, and every error message)."""
    reject_nul("select parameter", text)
    c = _SelectCursor(text)
    try:
        return _forest(c, nested=False)
    except ParseFailure as failure:
        raise to_error("select parameter", text, text, failure) from None


def _forest(c: _SelectCursor, *, nested: bool) -> tuple[SelectItem, ...]:
    """Items separated by commas; inside an embed, up to and including the closing `)`."""
    text, n, start = c.text, c.n, c.pos
    items: list[SelectItem] = []
    last_is_field = False
    try:
        items.append(_item(c))
    except ParseFailure as failure:
        if not failure.empty:
            raise
        c.pos = start
        if not nested:
            return ()
        if text.startswith(")", start):
            c.pos = start + 1
            return ()
        raise furthest(failure, ParseFailure(start, ('")"',))) from None
    while True:
        last_is_field = isinstance(items[-1], SelectField)
        at = c.pos
        after_ws = skip_ws(text, at, n)
        if after_ws < n and text[after_ws] == ",":
            c.pos = skip_ws(text, after_ws + 1, n)
            items.append(_item(c))
            continue
        if after_ws > at:  # the separator's whitespace was taken, so a comma must follow
            raise ParseFailure(after_ws, ('","',))
        break
    if not nested:
        return tuple(items)
    if at < n and text[at] == ")":
        c.pos = at + 1
        return tuple(items)
    tail = _end_expected(c, c.tail, at) if last_is_field else ()
    raise ParseFailure(at, nub(tail + ('","', '")"')))


def _item(c: _SelectCursor) -> SelectItem:
    """One item. Embeds and fields share their `[alias:]name` start, so it is read once."""
    text, n, start = c.text, c.n, c.pos
    p = skip_ws(text, start, n)
    c.pos = p
    if text.startswith("...", p):
        c.pos = p + 3
        try:
            relation = field_name(c)
            hint, join = _embed_params(c)
            if not text.startswith("(", c.pos):
                raise ParseFailure(c.pos, c.field_tail(c.pos) + ('"!"', '"("'))
        except ParseFailure as failure:
            raise furthest(failure, _nothing_here(c, start, p)) from None
        return _embed_body(c, relation, None, hint, join, spread=True)
    if text.startswith("*", p):
        if _at_item_end(text, p + 1, n):
            c.pos = p + 1
            c.tail = None
            return SelectField(_STAR)
        raise ParseFailure(p + 1, _ITEM_ENDS, empty=p == start)
    if text.startswith("count()", p):
        count = _count(c, None)
        if count is not None:
            return count
        c.pos = p
    try:
        name, quoted_name = _name(c)
    except ParseFailure as failure:
        if failure.pos == p:
            raise _nothing_here(c, start, p) from None
        raise
    alias = None
    colon = c.pos
    if text.startswith(":", colon) and not text.startswith(":", colon + 1):
        alias = name
        c.pos = colon + 1
        if text.startswith("count()", c.pos):
            count = _count(c, alias)
            if count is not None:
                return count
            c.pos = colon + 1
        try:
            name, quoted_name = _name(c)
        except ParseFailure as failure:
            failure.empty = False  # the alias was consumed
            raise
    if c.pos < n and text[c.pos] in "!(" and not (name == "count" and not quoted_name):
        embed = _try_embed(c, name, alias)
        if embed is not None:
            return embed
    return _field_rest(c, name, alias)


def _name(c: Cursor) -> tuple[str, bool]:
    quoted_name = c.text.startswith('"', c.pos)
    return field_name(c), quoted_name


def _try_embed(c: _SelectCursor, relation: str, alias: str | None) -> SelectEmbed | None:
    """`!hint!inner(…)` after a name; None (cursor back after the name) when no `(` follows."""
    after_name, name_end = c.pos, c.name_end
    try:
        hint, join = _embed_params(c)
    except ParseFailure:
        hint = join = None
        c.pos = -1
    if c.pos != -1 and c.text.startswith("(", c.pos):
        return _embed_body(c, relation, alias, hint, join, spread=False)
    c.pos, c.name_end = after_name, name_end  # as if the `!…` had never been read
    return None


def _nothing_here(c: _SelectCursor, start: int, p: int) -> ParseFailure:
    """No item starts at `p`: what each alternative wanted (Parsec lists them all)."""
    if p > start:  # the leading whitespace was consumed: only the field alternatives count
        return ParseFailure(p, ('"*"', FIELD_NAME, '"count()"'))
    return ParseFailure(
        p, ('"..."', FIELD_NAME, '"*"', '"count()"'), unexpected=mismatch(c.text, p, "..."), empty=True
    )


def _embed_params(c: Cursor) -> tuple[str | None, JoinType | None]:
    """Up to two `!name`: `left`/`inner` are join types, any other name is the hint (first wins)."""
    text = c.text
    hint: str | None = None
    join: JoinType | None = None
    for _ in range(2):
        if not text.startswith("!", c.pos):
            break
        c.pos += 1
        quoted_param = text.startswith('"', c.pos)
        value = field_name(c)
        if not quoted_param and value == "inner":
            join = join or "inner"
        elif not quoted_param and value == "left":
            join = join or "left"
        else:
            hint = hint or value
    return hint, join


def _embed_body(
    c: _SelectCursor,
    relation: str,
    alias: str | None,
    hint: str | None,
    join: JoinType | None,
    *,
    spread: bool,
) -> SelectEmbed:
    c.pos += 1  # the "("
    try:
        select = _forest(c, nested=True)
    except ParseFailure as failure:
        failure.empty = False  # the embed's "(" was consumed: this is no longer "nothing here"
        raise
    return SelectEmbed(relation, select, alias, hint, join, spread)


def _at_item_end(text: str, i: int, n: int) -> bool:
    return i == n or text[i] == ")" or text[i] == ","


def _field_rest(c: _SelectCursor, name: str, alias: str | None) -> SelectField:
    """After the name: JSON path, cast, aggregate, aggregate cast, then the end of the item."""
    text, n = c.text, c.n
    fld = Field(name, json_path(c))
    c.pos = skip_ws(text, c.pos, n)
    cast = aggregate_cast = None
    cast_end = aggregate_cast_end = -1
    if text.startswith("::", c.pos):
        c.pos += 2
        cast = identifier(c)
        cast_end = c.pos
    aggregate: Aggregate | None = None
    aggregate_failure: ParseFailure | None = None
    if text.startswith(".", c.pos):
        aggregate, aggregate_failure = _aggregate(c)
    if text.startswith("::", c.pos):
        c.pos += 2
        aggregate_cast = identifier(c)
        aggregate_cast_end = c.pos
    at = c.pos
    tail: _Tail = (cast, cast_end, aggregate, aggregate_cast, aggregate_cast_end)
    if _at_item_end(text, at, n):
        c.tail = tail
        return SelectField(fld, alias, cast, aggregate, aggregate_cast)
    if aggregate_failure is not None and aggregate_failure.pos > at:
        raise aggregate_failure
    raise ParseFailure(at, _end_expected(c, tail, at))


def _count(c: _SelectCursor, alias: str | None) -> SelectField | None:
    """`count()` with an optional `::cast`; None (cursor anywhere) when it is not a whole item."""
    text = c.text
    c.pos += 7
    aggregate_cast = None
    aggregate_cast_end = -1
    if text.startswith("::", c.pos):
        c.pos += 2
        try:
            aggregate_cast = identifier(c)
        except ParseFailure:
            return None
        aggregate_cast_end = c.pos
    if not _at_item_end(text, c.pos, c.n):
        return None
    c.tail = (None, -1, Aggregate.COUNT, aggregate_cast, aggregate_cast_end)
    return SelectField(_STAR, alias, None, Aggregate.COUNT, aggregate_cast)


def _aggregate(c: Cursor) -> tuple[Aggregate | None, ParseFailure | None]:
    """`.sum()` etc. at the cursor's `.`; on failure the cursor stays and the failure is returned."""
    text, n = c.text, c.n
    i = c.pos + 1
    found = None
    for word in _AGGREGATES:
        if text.startswith(word, i):
            found = word
            break
        # Parsec tries sum/avg/count without backtracking: a partial match is final.
        if word in ("sum", "avg", "count") and i < n and text[i] == word[0]:
            return None, ParseFailure(i, (f'"{word}"',), mismatch(text, i, word))
    if found is None:
        return None, ParseFailure(i, tuple(f'"{w}"' for w in _AGGREGATES), mismatch(text, i, "sum"))
    j = i + len(found)
    if not text.startswith("()", j):
        return None, ParseFailure(j, ('"()"',), mismatch(text, j, "()"))
    c.pos = j + 2
    return Aggregate(found), None


def _end_expected(c: Cursor, tail: _Tail, at: int) -> tuple[str, ...]:
    """What Parsec would list after a field item that did not end at `at`."""
    if tail is None:  # `*`
        return _ITEM_ENDS
    cast, cast_end, aggregate, aggregate_cast, aggregate_cast_end = tail
    expected: tuple[str, ...] = ()
    if cast is None and aggregate is None and aggregate_cast is None:
        expected += c.field_tail(at) + ('"::"',)
    elif cast is not None and cast_end == at and aggregate is None and aggregate_cast is None:
        expected += LETTER_OR_DIGIT
    if aggregate is None and aggregate_cast is None:
        expected += ('"."',)
    if aggregate_cast is None:
        expected += ('"::"',)
    elif aggregate_cast_end == at:
        expected += LETTER_OR_DIGIT
    return nub(expected + _ITEM_ENDS)
