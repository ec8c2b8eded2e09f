"""Filters (`col=not.op.value`) and logic trees (`or=(a.eq.1,and(b.gt.2,c.is.null))`).

    filter    := ["not."] operation
    operation := "in." list | "is." is_value | "isdistinct." value
               | fts_op ["(" language ")"] "." value
               | quant_op ["(" ("any"|"all") ")"] "." value      (quantified: value is `{a,b,"c,d"}`)
               | simple_op "." value
    list      := "(" element ("," element)* ")"         (elements `"quoted"` or raw up to `,` `)`)
    tree      := field "." filter | ["not."] ("and"|"or") "(" tree ("," tree)* ")"

A top-level value is everything after `op.`, taken raw. Inside a logic tree a value ends at `,`
or `)` unless it is `"quoted"`, a `{…}` array or a `[…)`/`(…)` range or list. As in PostgREST,
text after a complete list (`in.(1,2)x`), is-value (`is.nullx`) or tree is ignored.
"""

from __future__ import annotations

from typing import Literal

from pgrest_core.ast import (
    FTS_OPERATORS,
    QUANTIFIABLE,
    Compare,
    Field,
    Filter,
    FullText,
    In,
    Is,
    IsValue,
    Logic,
    Operation,
    Operator,
    Quantified,
)
from pgrest_core.request.scanner import (
    DELIMITER,
    END,
    FIELD_NAME,
    Cursor,
    ParseFailure,
    field,
    field_name,
    furthest,
    is_ident_char,
    json_path,
    mismatch,
    quoted,
    reject_nul,
    show_string,
    skip_ws,
    to_error,
)

OPERATOR = "operator (eq, gt, ...)"
NEGATION = "negation operator (not)"
LOGIC_OPERATOR = "logic operator (and, or)"
IS_VALUE = "isVal: (null, not_null, true, false, unknown)"

_OPERATORS = {op.value: op for op in Operator}
_IS_VALUES: tuple[IsValue, ...] = ("null", "not_null", "true", "false", "unknown")
_SIMPLE_WORDS = ("neq", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj")
_QUANT_WORDS = ("eq", "gte", "gt", "lte", "lt", "like", "ilike", "match", "imatch")
_FTS_WORDS = ("fts", "plfts", "phfts", "wfts")
# Operators whose top-level value is simply the rest of the text after `op.` (all but `in`/`is`,
# which have their own grammar), for the fast path of `parse_filter`.
_REST_OPERATORS = {word: op for word, op in _OPERATORS.items() if op not in (Operator.IN, Operator.IS)}
# Public for request.raw_shape, which mirrors the fast path of `parse_filter` below.
REST_OPERATORS = _REST_OPERATORS


# --- public entry points -----------------------------------------------------------------------


def parse_field(text: str) -> Field:
    """`col` or `col->a->>0`: the whole text must be one field."""
    reject_nul("tree path", text)
    c = Cursor(text)
    try:
        name = field_name(c)
        path = json_path(c)
        if c.pos != c.n:
            raise ParseFailure(c.pos, c.field_tail(c.pos) + (END,))
    except ParseFailure as failure:
        raise to_error("tree path", text, text, failure) from None
    return Field(name, path)


def parse_filter(fld: Field, value: str) -> Filter:
    """`not.eq.5`, `in.(1,2)`, `fts(english).cat`, `eq(any).{a,b}`, `is.null` on `fld`."""
    # Fast path for the common `op.value`: the operator word then the value, taken raw.
    word, dot, rest = value.partition(".")
    op = _REST_OPERATORS.get(word) if dot else None
    if op is not None and "\x00" not in rest:
        return Filter(fld, FullText(op, rest) if op in FTS_OPERATORS else Compare(op, rest))
    return parse_filter_full(fld, value)


def parse_filter_full(fld: Field, value: str) -> Filter:
    """`parse_filter` without its fast path (the full grammar, and every error message)."""
    reject_nul("filter", value)
    c = Cursor(value)
    try:
        negated, operation = operation_expr(c, in_logic=False)
    except ParseFailure as failure:
        raise to_error("filter", value, value, failure) from None
    return Filter(fld, operation, negated)


def parse_logic(operator: Literal["and", "or"], negated: bool, value: str) -> Logic:
    """The value of `or=(…)` / `not.and=(…)`; error columns count from the key's operator."""
    prefix = ("not." if negated else "") + operator
    text = prefix + value
    reject_nul("logic tree", text, value)
    c = Cursor(text)
    try:
        tree = logic_tree(c)
        if not isinstance(tree, Logic):  # `or=.eq.1` reads as a filter on a column named "or"
            raise ParseFailure(len(prefix), ('"("',))
    except ParseFailure as failure:
        raise to_error("logic tree", value, text, failure) from None
    return tree


# --- operations --------------------------------------------------------------------------------


def operation_expr(c: Cursor, *, in_logic: bool) -> tuple[bool, Operation]:
    """`[not.]op…` at the cursor → (negated, operation)."""
    text, n = c.text, c.n
    start = c.pos
    negated = text.startswith("not.", start)
    o = start + 4 if negated else start
    end = o
    while end < n and "a" <= text[end] <= "z":
        end += 1
    op = _OPERATORS.get(text[o:end])
    follow = text[end] if end < n else ""
    if op is not None and follow == ".":
        c.pos = end + 1
        if op is Operator.IN:
            return negated, In(in_list(c))
        if op is Operator.IS:
            return negated, Is(_is_value(c))
        value = logic_value(c) if in_logic else _rest(c)
        if op in FTS_OPERATORS:
            return negated, FullText(op, value)
        return negated, Compare(op, value)
    if op is not None and follow == "(":
        if op in FTS_OPERATORS:
            language = _language(c, end)
            if language is not None:
                value = logic_value(c) if in_logic else _rest(c)
                return negated, FullText(op, value, language)
        elif op in QUANTIFIABLE:
            quantifier = _quantifier(text, end)
            if quantifier is not None:
                c.pos = end + 6
                value_start = c.pos
                raw = logic_value(c) if in_logic else _rest(c)
                return negated, Quantified(op, quantifier, pg_array(raw, value_start))
    raise _operation_failure(text, start, negated)


def _rest(c: Cursor) -> str:
    value = c.text[c.pos :]
    c.pos = c.n
    return value


def _language(c: Cursor, open_paren: int) -> str | None:
    """`(english).` after an fts operator; None when it is not there."""
    text, n = c.text, c.n
    i = open_paren + 1
    end = i
    while end < n and is_ident_char(text[end]):
        end += 1
    if end > i and text.startswith(").", end):
        c.pos = end + 2
        return text[i:end].strip()
    return None


def _quantifier(text: str, open_paren: int) -> Literal["any", "all"] | None:
    word = text[open_paren + 1 : open_paren + 4]
    if word in ("any", "all") and text.startswith(").", open_paren + 4):
        return "any" if word == "any" else "all"
    return None


def _operation_failure(text: str, start: int, negated: bool) -> ParseFailure:
    """Why no operation starts at `start`, as Parsec reports it: the alternative that got furthest.

    Parsec tries `not.`, then each operator, and keeps the error of the one that read the most;
    the character it reports comes from the first alternative that failed there.
    """
    o = start + 4 if negated else start
    attempts: list[tuple[int, str]] = []  # (where it failed, the unexpected text), in try order
    if not negated:
        if text.startswith("not", start):
            attempts.append((start + 3, _unexpected_at(text, start + 3)))
        else:
            attempts.append((start, mismatch(text, start, "not")))
    for word, follow in (("in", "."), ("is", "."), ("isdistinct", ".")):
        attempts.append(_word_then(text, o, word, follow))
    for word in _FTS_WORDS:
        attempts.append(_fts_attempt(text, o, word))
    for word in _SIMPLE_WORDS:
        attempts.append(_word_then(text, o, word, "."))
    for word in _QUANT_WORDS:
        attempts.append(_quant_attempt(text, o, word))
    best = max(pos for pos, _ in attempts)
    unexpected = next(u for pos, u in attempts if pos == best)
    if negated or attempts[0][0] != best:
        return ParseFailure(best, (OPERATOR,), unexpected)
    if best == start + 3:  # `not` was read but no "." followed it
        return ParseFailure(best, (DELIMITER,), unexpected)
    return ParseFailure(best, ('"not"', OPERATOR), unexpected)


def _unexpected_at(text: str, i: int) -> str:
    return END if i >= len(text) else show_string(text[i])


def _word_then(text: str, i: int, word: str, follow: str) -> tuple[int, str]:
    if not text.startswith(word, i):
        return i, mismatch(text, i, word)
    end = i + len(word)
    return end, _unexpected_at(text, end)  # it can only have failed on what follows


def _fts_attempt(text: str, i: int, word: str) -> tuple[int, str]:
    if not text.startswith(word, i):
        return i, mismatch(text, i, word)
    end = i + len(word)
    if not text.startswith("(", end):
        return end, _unexpected_at(text, end)
    j = end + 1
    k = j
    while k < len(text) and is_ident_char(text[k]):
        k += 1
    if k == j or not text.startswith(")", k):
        return k, _unexpected_at(text, k)
    return k + 1, _unexpected_at(text, k + 1)


def _quant_attempt(text: str, i: int, word: str) -> tuple[int, str]:
    if not text.startswith(word, i):
        return i, mismatch(text, i, word)
    end = i + len(word)
    if not text.startswith("(", end):
        return end, _unexpected_at(text, end)
    if text[end + 1 : end + 4] not in ("any", "all"):
        return end + 1, mismatch(text, end + 1, "any")
    close = end + 4
    if not text.startswith(")", close):
        return close, _unexpected_at(text, close)
    return close + 1, _unexpected_at(text, close + 1)


def _is_value(c: Cursor) -> IsValue:
    """`null`, `not_null`, `true`, `false`, `unknown`, in any letter case."""
    text, start = c.text, c.pos
    reach = 0
    for word in _IS_VALUES:
        matched = 0
        for k, ch in enumerate(word):
            i = start + k
            if i >= c.n or (text[i] != ch and text[i] != ch.upper()):
                break
            matched += 1
        if matched == len(word):
            c.pos = start + matched
            return word
        reach = max(reach, matched)
    raise ParseFailure(start + reach, (IS_VALUE,))


# --- lists and values --------------------------------------------------------------------------


def in_list(c: Cursor) -> tuple[str, ...]:
    """`(a,"b,c", d)`; `()` (one empty element) is the empty list."""
    text, n = c.text, c.n
    i = skip_ws(text, c.pos, n)
    if not text.startswith("(", i):
        raise ParseFailure(i, ('"("',))
    c.pos = skip_ws(text, i + 1, n)
    values = [_list_element(c)]
    while text.startswith(",", c.pos):
        c.pos += 1
        values.append(_list_element(c))
    close = skip_ws(text, c.pos, n)
    if not text.startswith(")", close):
        raise ParseFailure(close, ('","', '")"'))
    c.pos = skip_ws(text, close + 1, n)
    if len(values) == 1 and values[0] == "":
        return ()
    return tuple(values)


def _quoted_element(c: Cursor) -> str | None:
    """A `"quoted"` value that closes right before `,`, `)` or the end; else None, not moved.

    A quote that closes anywhere else was part of a raw value all along (`a"b"c`).
    """
    start = c.pos
    try:
        value = quoted(c)
    except ParseFailure:
        value = None
    if value is not None and (c.pos == c.n or c.text[c.pos] in ",)"):
        return value
    c.pos = start
    return None


def _list_element(c: Cursor) -> str:
    """A `"quoted"` element (when the quote closes right before `,` or `)`) or raw text."""
    text, n, start = c.text, c.n, c.pos
    if text.startswith('"', start):
        value = _quoted_element(c)
        if value is not None:
            return value
    end = start
    while end < n and text[end] != "," and text[end] != ")":
        end += 1
    c.pos = end
    return text[start:end]


def logic_value(c: Cursor) -> str:
    """A value inside a logic tree: `"quoted"`, `{array}`, `[range)`/`(list)`, or raw up to `,`/`)`."""
    text, n, start = c.text, c.n, c.pos
    if start < n:
        first = text[start]
        if first == '"':
            value = _quoted_element(c)
            if value is not None:
                return value
        elif first == "{":
            close = text.find("}", start + 1)
            if close != -1 and "{" not in text[start + 1 : close]:
                c.pos = close + 1
                return text[start : close + 1]
        elif first in "[(":
            end = start + 1
            while end < n and text[end] not in ")]":
                end += 1
            if end < n:
                start_raw = end + 1
                c.pos = _raw_end(text, start_raw, n)
                return text[start : c.pos]
    c.pos = _raw_end(text, start, n)
    return text[start : c.pos]


def _raw_end(text: str, i: int, n: int) -> int:
    while i < n and text[i] != "," and text[i] != ")":
        i += 1
    return i


def pg_array(raw: str, offset: int = 0) -> tuple[str, ...]:
    """The elements of `{a,b,"c,d"}` (PostgreSQL array-literal quoting; unquoted ones trimmed)."""
    c = Cursor(raw)
    if not raw.startswith("{"):
        raise _shifted(ParseFailure(0, ('"{"',)), offset)
    c.pos = skip_ws(raw, 1, c.n)
    values: list[str] = []
    if raw.startswith("}", c.pos):
        c.pos += 1
    else:
        while True:
            if raw.startswith('"', c.pos):
                try:
                    values.append(quoted(c))
                except ParseFailure as failure:
                    raise _shifted(failure, offset) from None
                c.pos = skip_ws(raw, c.pos, c.n)
            else:
                end = c.pos
                while end < c.n and raw[end] not in ",}":
                    end += 1
                values.append(raw[c.pos : end].strip(" \t\n\r\v\f"))
                c.pos = end
            if raw.startswith(",", c.pos):
                c.pos = skip_ws(raw, c.pos + 1, c.n)
                continue
            if raw.startswith("}", c.pos):
                c.pos += 1
                break
            raise _shifted(ParseFailure(c.pos, ('","', '"}"')), offset)
    if c.pos != c.n:
        raise _shifted(ParseFailure(c.pos, (END,)), offset)
    return tuple(values)


def _shifted(failure: ParseFailure, offset: int) -> ParseFailure:
    failure.pos += offset
    return failure


# --- logic trees -------------------------------------------------------------------------------


def logic_tree(c: Cursor) -> Filter | Logic:
    """A condition inside a logic tree: `field.op.value` or `[not.]and(…)` / `[not.]or(…)`."""
    text, n, start = c.text, c.n, c.pos
    try:
        return _logic_filter(c)
    except ParseFailure as failure:
        filter_failure = failure
    negated = text.startswith("not.", start)
    i = start + 4 if negated else start
    operator: Literal["and", "or"]
    if text.startswith("and", i):
        operator, i = "and", i + 3
    elif text.startswith("or", i):
        operator, i = "or", i + 2
    elif negated:
        raise ParseFailure(i, (LOGIC_OPERATOR,))
    else:
        raise furthest(filter_failure, ParseFailure(start, (NEGATION, LOGIC_OPERATOR)))
    i = skip_ws(text, i, n)
    if not text.startswith("(", i):
        raise ParseFailure(i, ('"("',))
    c.pos = skip_ws(text, i + 1, n)
    children = [logic_tree(c)]
    while True:
        at = c.pos
        after_ws = skip_ws(text, at, n)
        if text.startswith(",", after_ws):
            c.pos = skip_ws(text, after_ws + 1, n)
            children.append(logic_tree(c))
            continue
        if after_ws > at:  # the separator's whitespace was taken, so a comma must follow
            raise ParseFailure(after_ws, ('","',))
        if not text.startswith(")", after_ws):
            raise ParseFailure(after_ws, ('","', '")"'))
        c.pos = skip_ws(text, after_ws + 1, n)
        return Logic(operator, tuple(children), negated)


def _logic_filter(c: Cursor) -> Filter:
    start = c.pos
    try:
        fld = field(c)
    except ParseFailure as failure:
        if failure.pos == start:
            raise ParseFailure(start, (FIELD_NAME,)) from None
        raise
    if not c.text.startswith(".", c.pos):
        raise ParseFailure(c.pos, c.field_tail(c.pos) + (DELIMITER,))
    c.pos += 1
    negated, operation = operation_expr(c, in_logic=True)
    return Filter(fld, operation, negated)
