"""`order=` parsing: `col`, `col.desc.nullslast`, `data->a.asc`, `rel(col).desc`, comma separated.

    order := term ("," term)*
    term  := (name "(" field ")" | field) [".asc" | ".desc"] [".nullsfirst" | ".nullslast"]

Each term must end at a comma or at the end of the text (spaces are allowed before a term).
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pgrest_core.ast import Field, OrderTerm
from pgrest_core.request.scanner import (
    DELIMITER,
    END,
    Cursor,
    ParseFailure,
    field,
    field_name,
    json_path,
    mismatch,
    reject_nul,
    skip_ws,
    to_error,
)

Direction = Literal["asc", "desc"]
Nulls = Literal["first", "last"]

# One term of the common shape `col`, `col.desc`, `col.asc.nullslast` (the fast path).
_PLAIN_TERM: Final = re.compile(r"([A-Za-z0-9_$]+)(?:\.(asc|desc))?(?:\.nulls(first|last))?")
_DIRECTIONS: Final[dict[str | None, Direction | None]] = {None: None, "asc": "asc", "desc": "desc"}
_NULLS: Final[dict[str | None, Nulls | None]] = {None: None, "first": "first", "last": "last"}


def parse_order(text: str) -> tuple[OrderTerm, ...]:
    """`order=` text → its terms (at least one)."""
    # Fast path: every term a plain column name with optional modifiers.
    terms: list[OrderTerm] = []
    for piece in text.split(","):
        match = _PLAIN_TERM.fullmatch(piece)
        if match is None:
            return parse_order_full(text)
        name, direction, nulls = match.groups()
        terms.append(OrderTerm(Field(name), _DIRECTIONS[direction], _NULLS[nulls]))
    return tuple(terms)


def parse_order_full(text: str) -> tuple[OrderTerm, ...]:
    """`parse_order` without its fast path (the full grammar, and every error message)."""
    reject_nul("order", text)
    c = Cursor(text)
    terms: list[OrderTerm] = []
    try:
        while True:
            terms.append(_term(c))
            if c.pos == c.n:
                return tuple(terms)
            c.pos += 1  # a term ends at "," or at the end
    except ParseFailure as failure:
        raise to_error("order", text, text, failure) from None


def _term(c: Cursor) -> OrderTerm:
    """`rel(col)…` or `col…`; both start with a name, which is read once."""
    text = c.text
    c.pos = skip_ws(text, c.pos, c.n)
    name = field_name(c)
    after_name, name_end = c.pos, c.name_end
    if text.startswith("(", after_name):
        related = _related_term(c, name)
        if related is not None:
            return related
        c.pos, c.name_end = after_name, name_end  # read it again as a plain column
    fld = Field(name, json_path(c))
    c.pos = skip_ws(text, c.pos, c.n)
    return _modifiers(c, fld, None)


def _related_term(c: Cursor, relation: str) -> OrderTerm | None:
    """`(col).desc` after a relation name; None when the term is not of that shape."""
    c.pos += 1
    try:
        fld = field(c)
        if not c.text.startswith(")", c.pos):
            return None
        c.pos += 1
        return _modifiers(c, fld, relation)
    except ParseFailure:
        return None


def _modifiers(c: Cursor, fld: Field, relation: str | None) -> OrderTerm:
    """`.asc`/`.desc`, then `.nullsfirst`/`.nullslast`, then the end of the term."""
    text, n = c.text, c.n
    field_end = c.pos
    direction: Direction | None = None
    nulls: Nulls | None = None
    if text.startswith(".asc", c.pos):
        direction, c.pos = "asc", c.pos + 4
    elif text.startswith(".desc", c.pos):
        direction, c.pos = "desc", c.pos + 5
    if text.startswith(".nullsfirst", c.pos):
        nulls, c.pos = "first", c.pos + 11
    elif text.startswith(".nullslast", c.pos):
        nulls, c.pos = "last", c.pos + 10
    at = c.pos
    if at == n or text[at] == ",":
        return OrderTerm(fld, direction, nulls, relation)
    raise _term_end_failure(c, at, field_end, direction, nulls)


def _term_end_failure(
    c: Cursor, at: int, field_end: int, direction: Direction | None, nulls: Nulls | None
) -> ParseFailure:
    """Parsec's report when a term goes on with something unexpected at `at`."""
    text = c.text
    if nulls is not None:
        return ParseFailure(at, ('","', END))
    if text.startswith(".", at):  # a modifier was started: the words that could follow the dot
        words: tuple[str, ...] = ("nullsfirst", "nullslast")
        if direction is None:
            words = ("asc", "desc") + words
        return ParseFailure(at + 1, tuple(f'"{w}"' for w in words), mismatch(text, at + 1, words[0]))
    tail = c.field_tail(at) if at == field_end else ()
    return ParseFailure(at, tail + (DELIMITER, '","', END))
