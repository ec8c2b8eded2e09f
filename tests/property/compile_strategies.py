"""Hypothesis strategies for whole read requests over tests/unit/plan/films.py's schema.

Unlike strategies.py (any AST the URL language can express), these draw requests the planner
accepts: select lists from each table's real columns, embeds that follow real relationships,
filters, orders and pages scoped to levels that exist. Values are drawn separately from the
request's shape (`fill_values`), so a test can compile one shape with two sets of values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

from hypothesis import strategies as st

from pgrest_core import ast
from pgrest_core.ast import FTS_OPERATORS, QUANTIFIABLE, Operator
from tests.property.strategies import names, text
from tests.unit.plan.films import films_cache

CACHE = films_cache()


def _columns(table: str) -> tuple[str, ...]:
    found = CACHE.table("public", table)
    assert found is not None
    return tuple(column.name for column in found.columns)


RELATIONS = frozenset(("films", "directors", "actors", "roles", "film_details"))
COLUMNS = {name: _columns(name) for name in ("films", "directors", "actors", "roles", "film_details")}

# table -> ((embed name, target table, to-one?), ...): the relationships films.py declares.
EMBEDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "films": (
        ("directors", "directors", True),
        ("film_details", "film_details", True),
        ("actors", "actors", False),
        ("roles", "roles", False),
    ),
    "directors": (("films", "films", False),),
}

# Casts are shape (they go into the SQL text); only ones the select parser and `literal_type`
# accept are drawn here (the parser takes no `[]`).
CASTS = ("text", "int", "bigint", "numeric", "jsonb", "character varying")

# A value's unique token: `zq<n>x`. No token is a substring of another, and none occurs in
# pgrest's own SQL, so finding one in the SQL text means a value leaked into it.
TOKEN = re.compile(r"zq\d+x")
# Limit/offset numbers are drawn with seven digits, which the SQL text never holds otherwise.
NUMBERS = st.integers(min_value=1_000_000, max_value=9_999_999)


def _safe_name(name: str) -> bool:
    """Aliases must not look like a value token or a page number, or the leak checks misfire."""
    return "zq" not in name and not re.search(r"\d{7}", name)


aliases = names.filter(_safe_name)

# A placeholder for values while drawing the shape; `fill_values` replaces every one.
_V = "v"


# Strategies are built per table and per level, and cached: building and validating them
# anew for every draw would cost more than drawing from them.

# --- select lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """A level of the embed tree as filters see it: its key path, table and selected embeds."""

    path: tuple[str, ...]
    table: str
    embeds: tuple[tuple[str, str, bool], ...]  # (name in the request, target table, to-one?)


json_steps = st.builds(
    ast.JsonStep,
    st.sampled_from(("->", "->>")),
    st.one_of(st.integers(-3, 5), text.filter(_safe_name)),
)


@functools.cache
def fields(table: str) -> st.SearchStrategy[ast.Field]:
    return st.builds(ast.Field, st.sampled_from(COLUMNS[table]), st.lists(json_steps, max_size=2).map(tuple))


@functools.cache
def select_fields(table: str, *, aggregates: bool) -> st.SearchStrategy[ast.SelectField]:
    plain = st.builds(
        ast.SelectField,
        fields(table),
        st.none() | aliases,
        st.none() | st.sampled_from(CASTS),
    )
    options = [st.just(ast.SelectField(ast.Field("*"))), plain]
    if aggregates:
        aggregated = st.builds(
            ast.SelectField,
            fields(table),
            st.none() | aliases,
            st.none() | st.sampled_from(CASTS),
            st.sampled_from(list(ast.Aggregate)),
            st.none() | st.sampled_from(CASTS),
        )
        count = st.builds(
            lambda alias: ast.SelectField(ast.Field("*"), alias, None, ast.Aggregate.COUNT),
            st.none() | aliases,
        )
        options += [aggregated, count]
    return st.one_of(options)


@st.composite
def select_level(
    draw: st.DrawFn, table: str, path: tuple[str, ...], depth: int, *, aggregates: bool = True
) -> tuple[tuple[ast.SelectItem, ...], list[Level]]:
    """A level's select items, and the levels (this one first) that filters may address."""
    items: list[ast.SelectItem] = list(
        draw(st.lists(select_fields(table, aggregates=aggregates), min_size=1, max_size=4))
    )
    levels: list[Level] = []
    embedded: list[tuple[str, str, bool]] = []
    candidates = EMBEDS.get(table, ()) if depth > 0 else ()
    chosen = draw(st.lists(st.sampled_from(candidates), max_size=2, unique=True)) if candidates else []
    for relation, target, to_one in chosen:
        spread = draw(st.booleans())
        alias = None if spread else draw(st.none() | aliases.filter(lambda a: a not in RELATIONS))
        name = alias or relation
        # Aggregates inside a to-many spread are not implemented (PGRST127): leave them out.
        child_items, child_levels = draw(
            select_level(target, path + (name,), depth - 1, aggregates=to_one or not spread)
        )
        if draw(st.integers(0, 9)) == 0:
            child_items = ()  # `rel()`: embedded only to filter on
        join: ast.JoinType | None = draw(st.none() | st.sampled_from(("inner", "left")))
        items.append(ast.SelectEmbed(relation, child_items, alias, None, join, spread))
        embedded.append((name, target, to_one))
        levels.extend(child_levels)
    draw(st.randoms()).shuffle(items)
    return tuple(items), [Level(path, table, tuple(embedded)), *levels]


# --- conditions, orders, pages -----------------------------------------------------------------

_SIMPLE = [op for op in Operator if op not in FTS_OPERATORS and op not in (Operator.IN, Operator.IS)]


@functools.cache
def operations(*, list_sizes: int = 3) -> st.SearchStrategy[ast.Operation]:
    value_lists = st.lists(st.just(_V), min_size=1, max_size=list_sizes).map(tuple)
    return st.one_of(
        st.builds(ast.Compare, st.sampled_from(_SIMPLE), st.just(_V)),
        st.builds(
            ast.Quantified,
            st.sampled_from(sorted(QUANTIFIABLE)),
            st.sampled_from(("any", "all")),
            value_lists,
        ),
        st.builds(ast.In, value_lists),
        st.builds(ast.Is, st.sampled_from(("null", "not_null", "true", "false", "unknown"))),
        st.builds(ast.FullText, st.sampled_from(sorted(FTS_OPERATORS)), st.just(_V), st.none() | st.just(_V)),
    )


@functools.cache
def level_filters(level: Level) -> st.SearchStrategy[ast.Filter]:
    column_filters = st.builds(ast.Filter, fields(level.table), operations(), st.booleans())
    if not level.embeds:
        return column_filters
    # `rel=is.null` / `rel=not.is.null` on an embedded resource.
    null_checks = st.builds(
        lambda name, value, negated: ast.Filter(ast.Field(name), ast.Is(value), negated),
        st.sampled_from([name for name, _, _ in level.embeds]),
        st.sampled_from(("null", "not_null")),
        st.booleans(),
    )
    return st.one_of(column_filters, null_checks)


@functools.cache
def logic_trees(level: Level, depth: int = 2) -> st.SearchStrategy[ast.Logic]:
    leaf = level_filters(level)
    child = leaf if depth == 0 else st.one_of(leaf, logic_trees(level, depth - 1))
    return st.builds(
        ast.Logic,
        st.sampled_from(("and", "or")),
        st.lists(child, min_size=1, max_size=3).map(tuple),
        st.booleans(),
    )


@functools.cache
def order_terms(level: Level) -> st.SearchStrategy[ast.OrderTerm]:
    direction: st.SearchStrategy[Literal["asc", "desc"] | None] = st.none() | st.sampled_from(("asc", "desc"))
    nulls: st.SearchStrategy[Literal["first", "last"] | None] = st.none() | st.sampled_from(("first", "last"))
    own = st.builds(ast.OrderTerm, fields(level.table), direction, nulls)
    to_one = [(name, target) for name, target, one in level.embeds if one]
    if not to_one:
        return own

    @st.composite
    def related(draw: st.DrawFn) -> ast.OrderTerm:
        name, target = draw(st.sampled_from(to_one))
        column = draw(st.sampled_from(COLUMNS[target]))
        return ast.OrderTerm(ast.Field(column), draw(direction), draw(nulls), name)

    return st.one_of(own, related())


@st.composite
def scoped_for_levels(
    draw: st.DrawFn, levels: list[Level]
) -> tuple[tuple[ast.ScopedCondition, ...], tuple[ast.ScopedOrder, ...], tuple[ast.ScopedRange, ...]]:
    levels_st = st.sampled_from(levels)
    conditions = []
    for _ in range(draw(st.integers(0, 4))):
        level = draw(levels_st)
        condition = draw(st.one_of(level_filters(level), logic_trees(level)))
        conditions.append(ast.ScopedCondition(level.path, condition))
    orders = []
    for level in draw(st.lists(levels_st, max_size=2, unique_by=lambda lv: lv.path)):
        terms = draw(st.lists(order_terms(level), min_size=1, max_size=3).map(tuple))
        orders.append(ast.ScopedOrder(level.path, terms))
    ranges = []
    for level in draw(st.lists(levels_st, max_size=2, unique_by=lambda lv: lv.path)):
        limit = draw(st.none() | st.just(1))
        # A zero offset is dropped from the SQL (`OFFSET` only when non-zero), so whether an
        # offset is there at all is part of the shape; drawn offsets are never zero.
        offset = draw(st.none() | st.just(1))
        if limit is not None or offset is not None:
            ranges.append(ast.ScopedRange(level.path, limit, offset))
    return tuple(conditions), tuple(orders), tuple(ranges)


@dataclass(frozen=True)
class ReadRequest:
    table: str
    query: ast.QueryParams
    headers: tuple[tuple[str, str], ...]


ACCEPTS = (None, "application/json", "text/csv", "application/vnd.pgrst.object+json")
COUNTS = (None, "exact", "planned", "estimated")


@st.composite
def read_requests(draw: st.DrawFn) -> ReadRequest:
    """A GET request on films, directors or actors whose values are all `v` / 1 (fill them)."""
    table = draw(st.sampled_from(("films", "directors", "actors")))
    items, levels = draw(select_level(table, (), depth=2))
    conditions, orders, ranges = draw(scoped_for_levels(levels))
    select = None if items == (ast.SelectField(ast.Field("*")),) and draw(st.booleans()) else items
    headers: list[tuple[str, str]] = []
    accept = draw(st.sampled_from(ACCEPTS))
    if accept is not None:
        headers.append(("Accept", accept))
    count = draw(st.sampled_from(COUNTS))
    if count is not None:
        headers.append(("Prefer", f"count={count}"))
    query = ast.QueryParams(select=select, conditions=conditions, orders=orders, ranges=ranges)
    return ReadRequest(table, query, tuple(headers))


# --- values ------------------------------------------------------------------------------------

TextFn: TypeAlias = Callable[[str], str]
IntFn: TypeAlias = Callable[[int], int]


def fill_values(
    query: ast.QueryParams, text_value: TextFn, number: IntFn, language: TextFn | None = None
) -> ast.QueryParams:
    """The same query with every request value (filter values, list items, FTS languages,
    limits and offsets) replaced by `text_value(old)` / `number(old)` / `language(old)`, in a
    fixed order. Languages are identifiers in the URL, hence their own function."""
    language = language or text_value

    def operation(op: ast.Operation) -> ast.Operation:
        if isinstance(op, ast.Compare):
            return replace(op, value=text_value(op.value))
        if isinstance(op, ast.Quantified):
            return replace(op, values=tuple(text_value(v) for v in op.values))
        if isinstance(op, ast.In):
            return replace(op, values=tuple(text_value(v) for v in op.values))
        if isinstance(op, ast.FullText):
            value = text_value(op.value)
            return replace(op, value=value, language=None if op.language is None else language(op.language))
        return op

    def condition(c: ast.Condition) -> ast.Condition:
        if isinstance(c, ast.Logic):
            return replace(c, children=tuple(condition(child) for child in c.children))
        return replace(c, operation=operation(c.operation))

    def page(r: ast.ScopedRange) -> ast.ScopedRange:
        limit = None if r.limit is None else number(r.limit)
        offset = None if r.offset is None else number(r.offset)
        return replace(r, limit=limit, offset=offset)

    return replace(
        query,
        conditions=tuple(replace(s, condition=condition(s.condition)) for s in query.conditions),
        ranges=tuple(page(r) for r in query.ranges),
    )


def count_values(query: ast.QueryParams) -> tuple[int, int]:
    """(text values, numbers) in a query."""
    texts: list[str] = []
    numbers: list[int] = []

    def text_value(value: str) -> str:
        texts.append(value)
        return value

    def number(value: int) -> int:
        numbers.append(value)
        return value

    fill_values(query, text_value, number)
    return len(texts), len(numbers)


def token_values(n: int) -> st.SearchStrategy[list[str]]:
    """`n` values, the i-th holding the token `zq<i>x` among arbitrary text."""
    return st.tuples(*(st.tuples(text, text) for _ in range(n))).map(
        lambda pairs: [f"{before}zq{i}x{after}" for i, (before, after) in enumerate(pairs)]
    )
