"""parse(unparse(ast)) == ast for random ASTs, and arbitrary text only ever fails with PgrstError."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgrest_core import ast
from pgrest_core.errors import PgrstError
from pgrest_core.request import unparse
from pgrest_core.request.filters import parse_field, parse_filter, parse_logic
from pgrest_core.request.order import parse_order
from pgrest_core.request.query import parse_query_params
from pgrest_core.request.select import parse_select
from tests.property import strategies as strat

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(strat.select_items(), max_size=4).map(tuple))
def test_select_round_trips(items: tuple[ast.SelectItem, ...]) -> None:
    assert parse_select(unparse.unparse_select(items)) == items


@FAST
@given(strat.fields)
def test_field_round_trips(fld: ast.Field) -> None:
    assert parse_field(unparse.unparse_field(fld)) == fld


@FAST
@given(strat.filters)
def test_filter_round_trips(flt: ast.Filter) -> None:
    value = unparse.unparse_filter_value(flt.operation, flt.negated)
    assert parse_filter(flt.field, value) == flt


@FAST
@given(strat.conditions())
def test_logic_round_trips(logic: ast.Logic) -> None:
    assert parse_logic(logic.operator, logic.negated, unparse.unparse_logic(logic)) == logic


@FAST
@given(st.lists(strat.order_terms, min_size=1, max_size=4).map(tuple))
def test_order_round_trips(terms: tuple[ast.OrderTerm, ...]) -> None:
    assert parse_order(unparse.unparse_order(terms)) == terms


def _split(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


@FAST
@given(strat.query_params())
def test_query_round_trips(query: ast.QueryParams) -> None:
    assert parse_query_params(_split(unparse.unparse_query(query))) == query


@FAST
@given(strat.query_params(routine=True))
def test_routine_query_round_trips(query: ast.QueryParams) -> None:
    assert parse_query_params(_split(unparse.unparse_query(query)), routine=True) == query


_PARSERS = [
    parse_select,
    parse_order,
    parse_field,
    lambda text: parse_filter(ast.Field("c"), text),
    lambda text: parse_logic("or", False, text),
    lambda text: parse_logic("and", True, text),
    lambda text: parse_query_params([(text, "eq.1")]),
    lambda text: parse_query_params([("order", "a"), (text + ".or", "(a.eq.1)")]),
]
_GRAMMAR_TEXT = st.text(st.sampled_from('abc01 \t"\\,.:()[]{}!*->=_$')) | st.text()


@pytest.mark.parametrize("parse", _PARSERS)
@FAST
@given(_GRAMMAR_TEXT)
def test_arbitrary_text_fails_only_with_pgrst_errors(parse: object, text: str) -> None:
    try:
        parse(text)  # type: ignore[operator]
    except PgrstError as error:
        assert error.code == "PGRST100"
        assert error.details
