"""Strings generated from grammar/pgrest.lark are accepted by pgrest's parse functions.

`hypothesis.extra.lark.from_lark` walks the grammar from one start rule; the free-text terminals
get explicit strategies so names and values stay short and realistic (a column is called `name`,
not a 40-character run of Tibetan). Whatever the grammar can produce, the hand-written parser must
parse without an exception — apart from the errors PostgREST itself gives for well-formed input
(PGRST122 for `handling=strict` with an unknown preference, PGRST103 for a reversed range) — and,
for the URL values, parse(unparse(parse(text))) == parse(text).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from pgrest_core import ast
from pgrest_core.errors import PgrstError
from pgrest_core.request.filters import parse_field, parse_filter, parse_logic
from pgrest_core.request.media import parse_accept
from pgrest_core.request.order import parse_order
from pgrest_core.request.preferences import parse_prefer
from pgrest_core.request.query import parse_query_params
from pgrest_core.request.ranges import parse_range
from pgrest_core.request.select import parse_select
from pgrest_core.request.unparse import (
    query_pairs,
    unparse_filter_value,
    unparse_logic,
    unparse_order,
    unparse_select,
)

GRAMMAR_PATH = Path(__file__).resolve().parents[2] / "grammar" / "pgrest.lark"
START_RULES = (
    "select_param",
    "filter_key",
    "column_key",
    "logic_key",
    "filter_value",
    "logic_value",
    "order_param",
    "limit_param",
    "columns_param",
    "on_conflict_param",
    "prefer_header",
    "accept_header",
    "range_header",
    "range_unit_header",
    "profile_header",
)
GRAMMAR = Lark(GRAMMAR_PATH.read_text(), parser="earley", lexer="dynamic", start=list(START_RULES))

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# --- realistic terminals -----------------------------------------------------------------------

# Words the URL language gives a meaning to; a column named `not` or `desc` is legal in PostgREST
# only in some positions, so generated names avoid them.
KEYWORDS = frozenset(
    {
        "not", "and", "or", "asc", "desc", "nullsfirst", "nullslast", "count", "sum", "avg", "min",
        "max", "inner", "left", "in", "is", "select", "order", "limit", "offset", "columns",
        "on_conflict", "any", "all", "null", "true", "false", "unknown", "not_null",
        *(op.value for op in ast.Operator),
    }
)  # fmt: skip

COMMON_NAMES = ("id", "name", "title", "client_id", "data", "tasks", "clients", "arr", "body", "x1")
identifiers = st.one_of(
    st.sampled_from(COMMON_NAMES),
    st.from_regex(r"[a-z][a-z0-9_]{0,6}(-[a-z0-9_]{1,4})?", fullmatch=True),
).filter(lambda name: name not in KEYWORDS)

# A quoted name or value: mostly realistic ones, sometimes arbitrary text with `"` and `\` escaped.
quoted_names = st.one_of(
    st.sampled_from(('"my col"', '"a,b"', '"x.y"', '"(1,2)"', '"say \\"hi\\""', '"back\\\\slash"', '"a:b"')),
    st.text(st.sampled_from('abc XY_,.:()->"\\'), min_size=1, max_size=6).map(
        lambda raw: '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
)

# JSON keys are looser than names: anything up to `(-:.,>)`.
json_keys = st.one_of(
    identifiers,
    st.sampled_from(("!@#$%^&*_d", "a b", "ключ", "key=1", "x*y", "1a")),
)
type_names = st.sampled_from(("int", "text", "numeric", "json", "integer", "bigint", "date"))
languages = st.sampled_from(("english", "french", "german", "simple"))
small_ints = st.integers(min_value=0, max_value=10_000).map(str)

# Free text after `op.`: anything goes, including the characters that are special elsewhere.
free_values = st.text(st.sampled_from("abcXYZ019 .,:;()*%{}[]\"'-_!&|<>"), min_size=1, max_size=12)
# Unquoted values inside a tree end at `,` or `)`; `{` starts an array literal and `"` a quoted one.
logic_atoms = st.text(st.sampled_from("abcXYZ019 .:*%-_!&|<>"), min_size=1, max_size=10).filter(
    lambda text: text.strip() != ""
)
list_atoms = st.text(st.sampled_from("abcXYZ019 .:*%-_"), min_size=1, max_size=8)
array_literals = st.lists(st.sampled_from(("1", "2", "a", "b c", '"x,y"', "NULL")), max_size=4).map(
    lambda items: "{" + ",".join(items) + "}"
)
range_literals = st.builds(
    lambda low, high, lower, upper: f"{lower}{low},{high}{upper}",
    st.sampled_from(("", "1", "5", "2020-01-01")),
    st.sampled_from(("", "10", "20", "2021-01-01")),
    st.sampled_from("[("),
    st.sampled_from("])"),
)
header_tokens = st.sampled_from(("anything", "params", "foo-bar", "x", "q2"))
pref_values = st.sampled_from(
    ("1", "single-object", "America/Los_Angeles", "+05:30", "UTC", "exact", "x", "-4")
)
profile_names = st.sampled_from(("public", "v1", "v2", "test", 'SPECIAL "@/\\#~_-'))
media_tokens = st.sampled_from(("application", "text", "json", "csv", "*", "xml", "geo+json", "vnd.x+json"))

EXPLICIT: dict[str, st.SearchStrategy[str]] = {
    "IDENT": identifiers,
    "QUOTED": quoted_names,
    "JSON_KEY": json_keys,
    "INDEX": st.integers(min_value=-3, max_value=12).map(str),
    "TYPE_NAME": type_names,
    "VALUE": free_values,
    "ARRAY_LITERAL": array_literals,
    "RANGE_LITERAL": range_literals,
    "PG_LIST_ATOM": list_atoms,
    "LIST_ATOM": list_atoms,
    "LANGUAGE": languages,
    "LOGIC_ATOM": logic_atoms,
    "DIGITS": small_ints,
    "TOKEN": st.one_of(header_tokens, media_tokens),
    "PREF_VALUE": pref_values,
    "QVALUE": st.sampled_from(("0", "0.5", "0.8", "1", "1.0", "0.123")),
    "PROFILE_NAME": profile_names,
    "_SEP": st.sampled_from((",", ",", ", ")),
    "_LIST_SEP": st.sampled_from((",", ", ")),
    "_PARAM_SEP": st.sampled_from((";", "; ")),
}


def _terminals_of(start: str) -> set[str]:
    """The terminals reachable from `start` (from_lark rejects explicit strategies for others)."""
    terminals, rules, _ignored = GRAMMAR.grammar.compile([start], ())
    names = {terminal.name for terminal in terminals}
    for rule in rules:
        names |= {symbol.name for symbol in rule.expansion if symbol.is_term}
    return names


@cache
def generated(start: str) -> st.SearchStrategy[str]:
    """Strings of the language of `start`, with realistic names and values."""
    reachable = _terminals_of(start)
    explicit = {name: strategy for name, strategy in EXPLICIT.items() if name in reachable}
    return from_lark(GRAMMAR, start=start, explicit=explicit)


# --- the grammar's own strategies are sound -------------------------------------------------------


@pytest.mark.parametrize("start", START_RULES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_generated_strings_parse_with_the_grammar(start: str, data: st.DataObject) -> None:
    text = data.draw(generated(start))
    GRAMMAR.parse(text, start=start)


# --- the pgrest parse functions accept the language -----------------------------------------------


@PROPERTY_SETTINGS
@given(generated("select_param"))
def test_select_is_accepted(text: str) -> None:
    items = parse_select(text)
    assert bool(items) == bool(text), text
    assert parse_select(unparse_select(items)) == items, text


@PROPERTY_SETTINGS
@given(generated("column_key"))
def test_column_key_is_accepted(text: str) -> None:
    query = parse_query_params([(text, "eq.1")])
    assert len(query.conditions) == 1, text
    assert isinstance(query.conditions[0].condition, ast.Filter), text
    assert parse_query_params(query_pairs(query)) == query, text


@PROPERTY_SETTINGS
@given(generated("logic_key"))
def test_logic_key_is_accepted(text: str) -> None:
    query = parse_query_params([(text, "(id.eq.1,name.is.null)")])
    assert len(query.conditions) == 1, text
    logic = query.conditions[0].condition
    assert isinstance(logic, ast.Logic), text
    assert logic.negated == (".not." in f".{text}"), text
    assert parse_query_params(query_pairs(query)) == query, text


@PROPERTY_SETTINGS
@given(generated("filter_value"))
def test_filter_value_is_accepted(text: str) -> None:
    condition = parse_filter(parse_field("col"), text)
    assert isinstance(condition, ast.Filter), text
    assert condition.negated == text.startswith("not."), text
    canonical = unparse_filter_value(condition.operation, condition.negated)
    assert parse_filter(parse_field("col"), canonical) == condition, text


@PROPERTY_SETTINGS
@given(generated("logic_value"), st.sampled_from(("and", "or")), st.booleans())
def test_logic_value_is_accepted(text: str, operator: Literal["and", "or"], negated: bool) -> None:
    logic = parse_logic(operator, negated, text)
    assert isinstance(logic, ast.Logic), text
    assert logic.children, text
    assert parse_logic(operator, negated, unparse_logic(logic)) == logic, text


@PROPERTY_SETTINGS
@given(generated("order_param"))
def test_order_is_accepted(text: str) -> None:
    terms = parse_order(text)
    assert len(terms) == len(GRAMMAR.parse(text, start="order_param").children), text
    assert parse_order(unparse_order(terms)) == terms, text


@PROPERTY_SETTINGS
@given(generated("prefer_header"))
def test_prefer_is_accepted(text: str) -> None:
    try:
        parse_prefer([text])
    except PgrstError as error:
        # The one error a well-formed Prefer header may give: strict handling of unknown tokens.
        assert error.code == "PGRST122", (text, error)
        assert "handling=strict" in text, text


@PROPERTY_SETTINGS
@given(generated("accept_header"))
def test_accept_is_accepted(text: str) -> None:
    media_types = parse_accept(text)
    # Every range the grammar makes is `type/subtype`; only `q=0` ones are dropped.
    assert all(media.type and media.subtype for media in media_types), (text, media_types)
    ranges = GRAMMAR.parse(text, start="accept_header").children
    assert len(media_types) <= len(ranges), text


@PROPERTY_SETTINGS
@given(generated("range_header"))
def test_range_is_accepted(text: str) -> None:
    first, _, last = text.partition("-")
    try:
        requested = parse_range(text, "items")
    except PgrstError as error:
        # The one error a well-formed range may give: boundaries the wrong way round.
        assert error.code == "PGRST103", (text, error)
        assert last and int(first) > int(last), text
        return
    assert requested is not None, text
    assert requested.offset == int(first), text
    assert requested.limit == (int(last) - int(first) + 1 if last else None), text
