"""Logic trees: `or=(…)`, `and=(…)`, nesting, negation, values inside trees, and errors."""

from __future__ import annotations

import pytest

from pgrest_core.ast import Compare, Field, Filter, FullText, In, Is, JsonStep, Logic, Operator, Quantified
from pgrest_core.errors import PgrstError
from pgrest_core.request.filters import parse_logic


def eq(name: str, value: str, negated: bool = False) -> Filter:
    return Filter(Field(name), Compare(Operator.EQ, value), negated)


def test_flat_or() -> None:
    assert parse_logic("or", False, "(a.eq.1,b.eq.2)") == Logic("or", (eq("a", "1"), eq("b", "2")))


def test_nested_and_negation() -> None:
    tree = parse_logic("and", True, "(a.eq.1,not.or(b.not.eq.2,and(c.is.null)))")
    inner = Logic("and", (Filter(Field("c"), Is("null")),))
    assert tree == Logic("and", (eq("a", "1"), Logic("or", (eq("b", "2", True), inner), True)), True)


def test_whitespace_around_children() -> None:
    assert parse_logic("or", False, "( a.eq.1 , b.eq.2)") == Logic("or", (eq("a", "1 "), eq("b", "2")))


@pytest.mark.parametrize(
    ("child", "condition"),
    [
        ('a.eq."x,y"', eq("a", "x,y")),
        ('a.eq."with \\"quote\\" and \\\\"', eq("a", 'with "quote" and \\')),
        ('a.eq.""', eq("a", "")),
        ('a.eq."x"y', eq("a", '"x"y')),
        ("a.eq.", eq("a", "")),
        ("a.cs.{1,2}", Filter(Field("a"), Compare(Operator.CS, "{1,2}"))),
        ("a.adj.[1,5)", Filter(Field("a"), Compare(Operator.ADJ, "[1,5)"))),
        ("a.ov.(1,5]", Filter(Field("a"), Compare(Operator.OV, "(1,5]"))),
        ('a.in.(1,"2,3")', Filter(Field("a"), In(("1", "2,3")))),
        ("a.eq(any).{1,2}", Filter(Field("a"), Quantified(Operator.EQ, "any", ("1", "2")))),
        ('a.like(all)."{a*,b}"', Filter(Field("a"), Quantified(Operator.LIKE, "all", ("a*", "b")))),
        ("a.fts(english).cat", Filter(Field("a"), FullText(Operator.FTS, "cat", "english"))),
        ("a.not.is.true", Filter(Field("a"), Is("true"), True)),
        (
            "data->x->>0.eq.1",
            Filter(Field("data", (JsonStep("->", "x"), JsonStep("->>", 0))), Compare(Operator.EQ, "1")),
        ),
        ("and.eq.1", eq("and", "1")),
        ("not.eq.1", eq("not", "1")),
    ],
)
def test_children(child: str, condition: Filter) -> None:
    assert parse_logic("or", False, f"({child})") == Logic("or", (condition,))


@pytest.mark.parametrize(
    ("operator", "negated", "value", "column", "details"),
    [
        (
            "or",
            False,
            "()",
            4,
            'unexpected ")" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)',
        ),
        ("or", False, "(id.in.1,2,id.eq.3)", 10, 'unexpected "1" expecting "("'),
        ("or", False, ")(", 3, 'unexpected ")" expecting "("'),
        ("and", False, "(ord(id.eq.1,id.eq.1),id.eq.2)", 7, 'unexpected "d" expecting "("'),
        (
            "or",
            False,
            "(id.eq.1,not.xor(id.eq.2,id.eq.3))",
            16,
            'unexpected "x" expecting logic operator (and, or)',
        ),
        ("or", False, "(x)", 5, 'unexpected ")" expecting letter, digit, "-", "->>", "->" or delimiter (.)'),
        ("or", False, "(a.eq.1", 10, 'unexpected end of input expecting "," or ")"'),
        ("or", False, "(a.is.null )", 14, 'unexpected ")" expecting ","'),
        ("or", True, "(a.eq.1", 14, 'unexpected end of input expecting "," or ")"'),
        ("or", False, ".eq.1", 3, 'unexpected "." expecting "("'),
    ],
)
def test_errors(operator: str, negated: bool, value: str, column: int, details: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse_logic(operator, negated, value)  # type: ignore[arg-type]
    assert caught.value.code == "PGRST100"
    assert caught.value.message == f'"failed to parse logic tree ({value})" (line 1, column {column})'
    assert caught.value.details == details
