"""Filter values (`eq.5`, `not.in.(1,2)`, …) and fields with JSON paths, with PostgREST's errors."""

from __future__ import annotations

import pytest

from pgrest_core.ast import (
    Compare,
    Field,
    Filter,
    FullText,
    In,
    Is,
    JsonStep,
    Operation,
    Operator,
    Quantified,
)
from pgrest_core.errors import PgrstError
from pgrest_core.request.filters import parse_field, parse_filter

COL = Field("col")
SIMPLE = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch", "isdistinct"]
SIMPLE += ["cs", "cd", "ov", "sl", "sr", "nxl", "nxr", "adj"]


@pytest.mark.parametrize("op", SIMPLE)
@pytest.mark.parametrize("negated", [False, True])
def test_every_simple_operator(op: str, negated: bool) -> None:
    prefix = "not." if negated else ""
    assert parse_filter(COL, f"{prefix}{op}.some value") == Filter(
        COL, Compare(Operator(op), "some value"), negated
    )


@pytest.mark.parametrize(
    ("value", "operation"),
    [
        ("eq.a,b", Compare(Operator.EQ, "a,b")),
        ("eq.", Compare(Operator.EQ, "")),
        ('eq."quoted"', Compare(Operator.EQ, '"quoted"')),
        ("eq.not.x", Compare(Operator.EQ, "not.x")),
        ("cs.{1,2}", Compare(Operator.CS, "{1,2}")),
        ("adj.[1,5)", Compare(Operator.ADJ, "[1,5)")),
        ("in.(1,2,3)", In(("1", "2", "3"))),
        ('in.("a,b",c,"d\\"e")', In(("a,b", "c", 'd"e'))),
        ("in.( a, b )", In(("a", " b "))),
        ('in.("a"b)', In(('"a"b',))),
        ("in.()", In(())),
        ('in.("")', In(())),
        ("in.(a,)", In(("a", ""))),
        ("in.(1,2)trailing", In(("1", "2"))),
        ("is.null", Is("null")),
        ("is.NULL", Is("null")),
        ("is.not_null", Is("not_null")),
        ("is.TRUE", Is("true")),
        ("is.false", Is("false")),
        ("is.Unknown", Is("unknown")),
        ("fts.cat", FullText(Operator.FTS, "cat")),
        ("fts(english).fat cats", FullText(Operator.FTS, "fat cats", "english")),
        ("plfts.a b", FullText(Operator.PLFTS, "a b")),
        ("phfts(simple).x", FullText(Operator.PHFTS, "x", "simple")),
        ("wfts.x or y", FullText(Operator.WFTS, "x or y")),
        ("eq(any).{a,b}", Quantified(Operator.EQ, "any", ("a", "b"))),
        ('like(all).{a*,"b,c*", d }', Quantified(Operator.LIKE, "all", ("a*", "b,c*", "d"))),
        ("gte(any).{}", Quantified(Operator.GTE, "any", ())),
        ('neq(all).{""}', Quantified(Operator.NEQ, "all", ("",))),
    ],
)
def test_operations(value: str, operation: Operation) -> None:
    assert parse_filter(COL, value).operation == operation


@pytest.mark.parametrize("op", ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"])
def test_every_quantifiable_operator(op: str) -> None:
    assert parse_filter(COL, f"not.{op}(all).{{1}}") == Filter(
        COL, Quantified(Operator(op), "all", ("1",)), True
    )


@pytest.mark.parametrize(
    ("text", "fld"),
    [
        ("col", Field("col")),
        ("data->a->>0", Field("data", (JsonStep("->", "a"), JsonStep("->>", 0)))),
        ("data->>-2", Field("data", (JsonStep("->>", -2),))),
        ('"a.b"->"c d"', Field("a.b", (JsonStep("->", "c d"),))),
    ],
)
def test_parse_field(text: str, fld: Field) -> None:
    assert parse_field(text) == fld


@pytest.mark.parametrize(
    ("value", "column", "details"),
    [
        ("0", 1, 'unexpected "0" expecting "not" or operator (eq, gt, ...)'),
        ("val", 1, 'unexpected "v" expecting "not" or operator (eq, gt, ...)'),
        ("noop.0", 1, 'unexpected "o" expecting "not" or operator (eq, gt, ...)'),
        ("", 1, 'unexpected end of input expecting "not" or operator (eq, gt, ...)'),
        ("not.noop", 5, 'unexpected "n" expecting operator (eq, gt, ...)'),
        ("notx", 4, 'unexpected "x" expecting delimiter (.)'),
        ("fts().value", 5, 'unexpected ")" expecting operator (eq, gt, ...)'),
        ("eq().value", 4, 'unexpected ")" expecting operator (eq, gt, ...)'),
        ("is().value", 3, 'unexpected "(" expecting operator (eq, gt, ...)'),
        ("in().value", 3, 'unexpected "(" expecting operator (eq, gt, ...)'),
        ("eqx.1", 3, 'unexpected "x" expecting operator (eq, gt, ...)'),
        ("in(any).{1}", 3, 'unexpected "(" expecting operator (eq, gt, ...)'),
        ("cs(any).{1}", 3, 'unexpected "(" expecting operator (eq, gt, ...)'),
        ("is.nil", 5, 'unexpected "i" expecting isVal: (null, not_null, true, false, unknown)'),
        ("is.", 4, "unexpected end of input expecting isVal: (null, not_null, true, false, unknown)"),
        ("in.1,2", 4, 'unexpected "1" expecting "("'),
        ("in.(1,2", 8, 'unexpected end of input expecting "," or ")"'),
        ("eq(any).5", 9, 'unexpected "5" expecting "{"'),
        ("eq(any).{a", 11, 'unexpected end of input expecting "," or "}"'),
        ("eq(any).{a}b", 12, "unexpected 'b' expecting end of input"),
        ("eq.a\x00", 5, 'unexpected "\\NUL"'),
    ],
)
def test_errors(value: str, column: int, details: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse_filter(COL, value)
    assert caught.value.code == "PGRST100"
    assert caught.value.message == f'"failed to parse filter ({value})" (line 1, column {column})'
    assert caught.value.details == details


@pytest.mark.parametrize(
    ("text", "column", "details"),
    [
        ("", 1, "unexpected end of input expecting field name (* or [a..z0..9_$])"),
        ("a!", 2, 'unexpected \'!\' expecting letter, digit, "-", "->>", "->" or end of input'),
        (
            "a->",
            4,
            'unexpected end of input expecting "-", digit or any non reserved character different from: .,>()',
        ),
    ],
)
def test_field_errors(text: str, column: int, details: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse_field(text)
    assert caught.value.message == f'"failed to parse tree path ({text})" (line 1, column {column})'
    assert caught.value.details == details
