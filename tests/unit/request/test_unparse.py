"""The canonical text written back from ASTs: quoting only where needed, and exact round trips."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from pgrest_core.ast import (
    Aggregate,
    Compare,
    Field,
    Filter,
    FullText,
    In,
    Is,
    JsonStep,
    Logic,
    Operator,
    OrderTerm,
    Quantified,
    QueryParams,
    ScopedCondition,
    ScopedOrder,
    ScopedRange,
    SelectEmbed,
    SelectField,
)
from pgrest_core.request import unparse
from pgrest_core.request.filters import parse_filter, parse_logic
from pgrest_core.request.query import parse_query_params
from pgrest_core.request.select import parse_select


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("id", "id"),
        ("first name", "first name"),
        ("first-name", "first-name"),
        ("名前", "名前"),
        ("a.b", '"a.b"'),
        (" padded", '" padded"'),
        ("a-", '"a-"'),
        ("", '""'),
        ('say "hi"\\', '"say \\"hi\\"\\\\"'),
        ("*", '"*"'),
    ],
)
def test_names(name: str, text: str) -> None:
    assert unparse.unparse_name(name) == text


@pytest.mark.parametrize(
    ("fld", "text"),
    [
        (Field("data", (JsonStep("->", "a"), JsonStep("->>", 0))), "data->a->>0"),
        (Field("data", (JsonStep("->", -1),)), "data->-1"),
        (Field("data", (JsonStep("->", "0"),)), 'data->"0"'),
        (Field("data", (JsonStep("->", "-1"),)), 'data->"-1"'),
        (Field("data", (JsonStep("->", "a.b"),)), 'data->"a.b"'),
        (Field("data", (JsonStep("->", "!@#$"),)), "data->!@#$"),
    ],
)
def test_fields(fld: Field, text: str) -> None:
    assert unparse.unparse_field(fld) == text


def test_select() -> None:
    items = (
        SelectField(Field("*")),
        SelectField(Field("*"), "n", None, Aggregate.COUNT, "int"),
        SelectField(Field("amount"), "total", "numeric", Aggregate.SUM, "int"),
        SelectEmbed("rel", (SelectField(Field("id")),), "r", "fk", "inner"),
        SelectEmbed("other", (), hint="left"),
        SelectEmbed("count", (SelectField(Field("*")),)),
        SelectEmbed("sp", (SelectField(Field("a")),), join="left", spread=True),
    )
    text = '*,n:count()::int,total:amount::numeric.sum()::int,r:rel!fk!inner(id),other!"left"(),"count"(*),...sp!left(a)'
    assert unparse.unparse_select(items) == text
    assert parse_select(text) == items


@pytest.mark.parametrize(
    ("flt", "value"),
    [
        (Filter(Field("c"), Compare(Operator.EQ, "a,b (c)")), "eq.a,b (c)"),
        (Filter(Field("c"), Compare(Operator.ISDISTINCT, "x"), True), "not.isdistinct.x"),
        (Filter(Field("c"), In(("1", "a,b", "", 'q"'))), 'in.(1,"a,b","","q\\"")'),
        (Filter(Field("c"), In(())), "in.()"),
        (Filter(Field("c"), Is("not_null")), "is.not_null"),
        (Filter(Field("c"), FullText(Operator.WFTS, "a b", "english")), "wfts(english).a b"),
        (
            Filter(Field("c"), Quantified(Operator.LIKE, "any", ("a*", "b c", "NULL", ""))),
            'like(any).{a*,"b c","NULL",""}',
        ),
    ],
)
def test_filter_values(flt: Filter, value: str) -> None:
    assert unparse.unparse_filter_value(flt.operation, flt.negated) == value
    assert parse_filter(flt.field, value) == flt


def test_logic() -> None:
    logic = Logic(
        "or",
        (
            Filter(Field("a"), Compare(Operator.EQ, "x,y")),
            Filter(Field("b"), Compare(Operator.EQ, "plain")),
            Filter(Field("c"), Quantified(Operator.EQ, "any", ("1", "2"))),
            Filter(Field("d"), Quantified(Operator.EQ, "any", ("}",))),
            Filter(Field("e"), Compare(Operator.CS, "{1,2}")),
            Logic("and", (Filter(Field("f"), Is("null"), True),), True),
        ),
    )
    text = '(a.eq."x,y",b.eq.plain,c.eq(any).{1,2},d.eq(any)."{\\"}\\"}",e.cs."{1,2}",not.and(f.not.is.null))'
    assert unparse.unparse_logic(logic) == text
    assert parse_logic("or", False, text) == logic


def test_order() -> None:
    terms = (OrderTerm(Field("a"), "desc", "last"), OrderTerm(Field("b"), None, "first", "rel"))
    assert unparse.unparse_order(terms) == "a.desc.nullslast,rel(b).nullsfirst"


def test_query_string() -> None:
    query = QueryParams(
        select=(SelectField(Field("id")),),
        conditions=(
            ScopedCondition(("rel",), Filter(Field("name"), Compare(Operator.EQ, "a&b=c+d %"))),
            ScopedCondition((), Filter(Field("order"), Compare(Operator.EQ, "1"))),
            ScopedCondition(("not",), Logic("or", (Filter(Field("a"), Is("null")),), True)),
        ),
        orders=(ScopedOrder(("rel",), (OrderTerm(Field("a")),)),),
        ranges=(ScopedRange((), 10, 20), ScopedRange(("rel",), None, 1)),
        on_conflict=("a b",),
        columns=("x", "y"),
    )
    text = unparse.unparse_query(query)
    assert text == (
        'select=id&rel.name=eq.a%26b%3Dc%2Bd%20%25&"order"=eq.1&"not".not.or=(a.is.null)'
        "&rel.order=a&limit=10&offset=20&rel.offset=1&on_conflict=a%20b&columns=x,y"
    )
    pairs = [tuple(unquote(part) for part in pair.split("=", 1)) for pair in text.split("&")]
    assert parse_query_params(pairs) == query  # type: ignore[arg-type]


def test_routine_params_are_written_as_they_are() -> None:
    assert unparse.unparse_query(QueryParams(params=(("a", "1 2"),))) == "a=1%202"
