"""Splitting the query string's pairs into select, filters, logic trees, orders, ranges, …"""

from __future__ import annotations

import pytest

from pgrest_core.ast import (
    Compare,
    Field,
    Filter,
    Is,
    JsonStep,
    Logic,
    Operator,
    OrderTerm,
    QueryParams,
    ScopedCondition,
    ScopedOrder,
    ScopedRange,
    SelectField,
)
from pgrest_core.errors import PgrstError
from pgrest_core.request.query import parse_query_params


def eq(name: str, value: str) -> Filter:
    return Filter(Field(name), Compare(Operator.EQ, value))


def test_empty() -> None:
    assert parse_query_params([]) == QueryParams()


def test_reserved_and_filters() -> None:
    query = parse_query_params(
        [
            ("select", "id"),
            ("id", "eq.1"),
            ("id", "gt.0"),
            ("order", "id.desc"),
            ("limit", "10"),
            ("offset", "5"),
            ("on_conflict", "a,b"),
            ("columns", "a, b"),
        ]
    )
    assert query == QueryParams(
        select=(SelectField(Field("id")),),
        conditions=(
            ScopedCondition((), eq("id", "1")),
            ScopedCondition((), Filter(Field("id"), Compare(Operator.GT, "0"))),
        ),
        orders=(ScopedOrder((), (OrderTerm(Field("id"), "desc"),)),),
        ranges=(ScopedRange((), 10, 5),),
        on_conflict=("a", "b"),
        columns=("a", "b"),
    )


def test_embed_scoped_keys() -> None:
    query = parse_query_params(
        [
            ("rel.order", "a"),
            ("rel.limit", "1"),
            ("a.b.offset", "2"),
            ("a.b.or", "(x.eq.1)"),
            ("a.not.and", "(x.eq.1)"),
            ("not.a.or", "(x.eq.1)"),
            ("a.b.col", "is.null"),
            ("rel.data->>x", "eq.1"),
            ('"a.b".c', "eq.1"),
        ]
    )
    assert query.orders == (ScopedOrder(("rel",), (OrderTerm(Field("a")),)),)
    assert query.ranges == (ScopedRange(("rel",), limit=1), ScopedRange(("a", "b"), offset=2))
    assert query.conditions == (
        ScopedCondition(("a", "b"), Logic("or", (eq("x", "1"),))),
        ScopedCondition(("a",), Logic("and", (eq("x", "1"),), True)),
        ScopedCondition(("a",), Logic("or", (eq("x", "1"),), True)),
        ScopedCondition(("a", "b"), Filter(Field("col"), Is("null"))),
        ScopedCondition(("rel",), Filter(Field("data", (JsonStep("->>", "x"),)), Compare(Operator.EQ, "1"))),
        ScopedCondition(("a.b",), eq("c", "1")),
    )


def test_root_logic_keys() -> None:
    query = parse_query_params([("or", "(a.eq.1)"), ("not.and", "(a.eq.1,b.eq.2)")])
    assert query.conditions == (
        ScopedCondition((), Logic("or", (eq("a", "1"),))),
        ScopedCondition((), Logic("and", (eq("a", "1"), eq("b", "2")), True)),
    )


def test_quoted_reserved_words_are_columns() -> None:
    query = parse_query_params([('"order"', "eq.1"), ('"select"', "eq.2"), ('"not".or', "(a.eq.1)")])
    assert query.conditions == (
        ScopedCondition((), eq("order", "1")),
        ScopedCondition((), eq("select", "2")),
        ScopedCondition(("not",), Logic("or", (eq("a", "1"),))),
    )


def test_first_select_wins_and_last_limit_wins() -> None:
    query = parse_query_params([("select", "a"), ("select", "b"), ("limit", "1"), ("limit", "2")])
    assert query.select == (SelectField(Field("a")),)
    assert query.ranges == (ScopedRange((), 2),)


def test_empty_select_is_the_empty_selection() -> None:
    assert parse_query_params([("select", "")]).select == ()


def test_routine_keeps_non_reserved_pairs_raw() -> None:
    query = parse_query_params(
        [("a", "1"), ("b.c", "eq.x"), ("or", "(a.eq.1)"), ("limit", "3")], routine=True
    )
    assert query.params == (("a", "1"), ("b.c", "eq.x"))
    assert query.conditions == (ScopedCondition((), Logic("or", (eq("a", "1"),))),)
    assert query.ranges == (ScopedRange((), 3),)


@pytest.mark.parametrize(
    ("pairs", "message", "details"),
    [
        (
            [("columns", "")],
            '"failed to parse columns parameter ()" (line 1, column 1)',
            "unexpected end of input expecting field name (* or [a..z0..9_$])",
        ),
        (
            [("on_conflict", "a,")],
            '"failed to parse on_conflict parameter (a,)" (line 1, column 3)',
            "unexpected end of input expecting field name (* or [a..z0..9_$])",
        ),
        (
            [("or", "()")],
            '"failed to parse logic tree (())" (line 1, column 4)',
            'unexpected ")" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)',
        ),
        (
            [("id", "0")],
            '"failed to parse filter (0)" (line 1, column 1)',
            'unexpected "0" expecting "not" or operator (eq, gt, ...)',
        ),
        (
            [("order", "id.asc.nullslasttt")],
            '"failed to parse order (id.asc.nullslasttt)" (line 1, column 17)',
            "unexpected 't' expecting \",\" or end of input",
        ),
        (
            [("select", "data->>--34")],
            '"failed to parse select parameter (data->>--34)" (line 1, column 9)',
            'unexpected "-" expecting digit',
        ),
        (
            [("a!b", "eq.1")],
            '"failed to parse tree path (a!b)" (line 1, column 2)',
            'unexpected \'!\' expecting letter, digit, "-", "->>", "->", delimiter (.) or end of input',
        ),
        ([("a\x00", "eq.1")], '"failed to parse tree path (a\x00)" (line 1, column 2)', 'unexpected "\\NUL"'),
        (
            [("a", "x\x00")],
            '"failed to parse query parameter (x\x00)" (line 1, column 2)',
            'unexpected "\\NUL"',
        ),
    ],
)
def test_errors(pairs: list[tuple[str, str]], message: str, details: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse_query_params(pairs, routine=pairs[0] == ("a", "x\x00"))
    assert (caught.value.code, caught.value.status) == ("PGRST100", 400)
    assert caught.value.message == message
    assert caught.value.details == details
