"""Differential test: random filter trees run by pgrest on PostgreSQL vs. a Python evaluation.

One table of ~30 seeded random rows (nullable int, text, bool and numeric columns). Hypothesis
draws filter trees over it (eq/neq/gt/gte/lt/lte/isdistinct, like/ilike/match/imatch, in, is,
not, nested and/or) with values taken from the rows so that matches happen, plus sometimes an
order and a page. pgrest compiles `GET /t?select=id&…`; PostgreSQL runs it; the ids in the body
must be exactly the rows a direct evaluation in Python picks, using SQL's three-valued logic:
a comparison with NULL is unknown, NOT unknown is unknown, and only rows where the whole
condition is true are returned.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeAlias, TypeVar

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgrest_core import ast
from pgrest_core.ast import Operator
from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.unparse import unparse_query
from pgrest_core.runner.introspect import load_schema_cache_sync
from pgrest_core.schema.model import SchemaCache
from pgrest_server.postgres import TempPostgres

pytestmark = pytest.mark.postgres

# --- the rows ----------------------------------------------------------------------------------

Value: TypeAlias = int | str | bool | Decimal | None
T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    id: int
    n: int | None
    s: str | None
    b: bool | None
    x: Decimal | None

    def get(self, column: str) -> Value:
        value: Value = getattr(self, column)
        return value


COLUMN_TYPES = {"n": "int", "s": "text", "b": "bool", "x": "numeric"}
# Text orders by code point (`COLLATE "C"`), as Python's `<` on str does.
TABLE_SQL = 'create table t (id int primary key, n int, s text collate "C", b bool, x numeric)'
# Characters the URL language and LIKE treat specially are in the data on purpose; no `\`,
# which is LIKE's escape character.
_TEXT_ALPHABET = "abAB .,_%()'\"é"


def _random_rows(seed: int = 20240601, count: int = 30) -> tuple[Row, ...]:
    rng = random.Random(seed)

    def maybe(value: T) -> T | None:
        return None if rng.random() < 0.2 else value

    rows = []
    for i in range(1, count + 1):
        text = "".join(rng.choice(_TEXT_ALPHABET) for _ in range(rng.randint(0, 5)))
        rows.append(
            Row(
                id=i,
                n=maybe(rng.randint(-5, 5)),
                s=maybe(text),
                b=maybe(rng.random() < 0.5),
                x=maybe(Decimal(rng.randint(-300, 300)) / 100),
            )
        )
    return tuple(rows)


ROWS = _random_rows()


def _sql_value(value: Value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _insert_sql() -> str:
    values = ",".join("(" + ",".join(_sql_value(v) for v in (r.id, r.n, r.s, r.b, r.x)) + ")" for r in ROWS)
    return f"{TABLE_SQL};\ninsert into t values {values};"


# --- the database (one per module) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def connection(pg: TempPostgres) -> Iterator[psycopg.Connection[Any]]:
    name = "differential_filters"
    uri = pg.create_database(name, sql_text=_insert_sql())
    try:
        with psycopg.connect(uri, autocommit=True) as conn:
            yield conn
    finally:
        pg.drop_database(name)


@pytest.fixture(scope="module")
def cache(connection: psycopg.Connection[Any]) -> SchemaCache:
    return load_schema_cache_sync(connection, ["public"])


# --- request values, drawn from the rows -------------------------------------------------------


def _text_of(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _values(column: str) -> st.SearchStrategy[str]:
    """A filter value for `column`: mostly one the rows hold, sometimes one just beside."""
    present = sorted({_text_of(v) for r in ROWS if (v := r.get(column)) is not None})
    extra = {"n": ["-6", "6", "0"], "s": ["", "zz", "A"], "b": ["true", "false"], "x": ["0", "3.5", "-0.5"]}
    return st.sampled_from(present + extra[column])


def _like_patterns(case_insensitive: bool) -> st.SearchStrategy[str]:
    """A pattern made from a row's text: some characters turned to `_`, some runs to `*` or `%`."""
    texts = sorted({r.s for r in ROWS if r.s})

    @st.composite
    def pattern(draw: st.DrawFn) -> str:
        source = draw(st.sampled_from(texts))
        if case_insensitive and draw(st.booleans()):
            source = _ascii_swapcase(source)
        out = []
        for ch in source:
            choice = draw(st.sampled_from(("keep", "keep", "keep", "one", "many")))
            out.append(ch if choice == "keep" else "_" if choice == "one" else draw(st.sampled_from("*%")))
        if draw(st.booleans()):
            out.insert(0, "*")
        return "".join(out)

    return pattern()


def _ascii_swapcase(text: str) -> str:
    """Only ASCII letters change case: how far ILIKE folds `é`/`É` depends on the database's
    locale, so the data holds only `é` and patterns never ask about its case."""
    return "".join(ch.swapcase() if ch.isascii() else ch for ch in text)


def _regex_patterns() -> st.SearchStrategy[str]:
    """Plain letter runs (and `^`), where POSIX and Python regular expressions agree."""
    runs = sorted({m for r in ROWS if r.s for m in re.findall(r"[abAB]+", r.s)})
    return st.builds(lambda anchor, run: anchor + run, st.sampled_from(("", "^")), st.sampled_from(runs))


_COMPARISONS = (Operator.EQ, Operator.NEQ, Operator.GT, Operator.GTE, Operator.LT, Operator.LTE)


def _operations(column: str) -> st.SearchStrategy[ast.Operation]:
    values = _values(column)
    options: list[st.SearchStrategy[ast.Operation]] = [
        st.builds(ast.Compare, st.sampled_from((*_COMPARISONS, Operator.ISDISTINCT)), values),
        st.builds(ast.In, st.lists(values, max_size=4).map(tuple).filter(lambda v: v != ("",))),
        st.builds(ast.Is, st.sampled_from(("null", "not_null"))),
    ]
    if column == "b":
        options.append(st.builds(ast.Is, st.sampled_from(("true", "false", "unknown"))))
    if column == "s":
        options += [
            st.builds(ast.Compare, st.just(Operator.LIKE), _like_patterns(False)),
            st.builds(ast.Compare, st.just(Operator.ILIKE), _like_patterns(True)),
            st.builds(ast.Compare, st.sampled_from((Operator.MATCH, Operator.IMATCH)), _regex_patterns()),
        ]
    return st.one_of(options)


def _filters() -> st.SearchStrategy[ast.Filter]:
    per_column = [
        st.builds(ast.Filter, st.just(ast.Field(column)), _operations(column), st.booleans())
        for column in COLUMN_TYPES
    ]
    return st.one_of(per_column)


def _conditions() -> st.SearchStrategy[ast.Condition]:
    return st.recursive(
        _filters(),
        lambda children: st.builds(
            ast.Logic,
            st.sampled_from(("and", "or")),
            st.lists(children, min_size=1, max_size=3).map(tuple),
            st.booleans(),
        ),
        max_leaves=8,
    )


@dataclass(frozen=True)
class Ordering:
    column: str | None  # None: by id alone
    direction: Literal["asc", "desc"] | None
    nulls: Literal["first", "last"] | None
    limit: int | None
    offset: int | None


orderings = st.builds(
    Ordering,
    st.none() | st.sampled_from(tuple(COLUMN_TYPES)),
    st.none() | st.sampled_from(("asc", "desc")),
    st.none() | st.sampled_from(("first", "last")),
    st.none() | st.integers(0, 12),
    st.none() | st.integers(0, 12),
)


def _query(conditions: list[ast.Condition], ordering: Ordering | None) -> ast.QueryParams:
    orders: tuple[ast.ScopedOrder, ...] = ()
    ranges: tuple[ast.ScopedRange, ...] = ()
    if ordering is not None:
        terms = [ast.OrderTerm(ast.Field("id"))]
        if ordering.column is not None:
            # id breaks ties, so the expected order is fully determined.
            terms.insert(0, ast.OrderTerm(ast.Field(ordering.column), ordering.direction, ordering.nulls))
        orders = (ast.ScopedOrder((), tuple(terms)),)
        if ordering.limit is not None or ordering.offset is not None:
            ranges = (ast.ScopedRange((), ordering.limit, ordering.offset),)
    return ast.QueryParams(
        select=(ast.SelectField(ast.Field("id")),),
        conditions=tuple(ast.ScopedCondition((), c) for c in conditions),
        orders=orders,
        ranges=ranges,
    )


# --- the Python evaluation ---------------------------------------------------------------------

Truth: TypeAlias = bool | None  # None: SQL's unknown


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def _and(values: list[Truth]) -> Truth:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: list[Truth]) -> Truth:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _typed(column: str, text: str) -> Value:
    kind = COLUMN_TYPES[column]
    if kind == "int":
        return int(text)
    if kind == "numeric":
        return Decimal(text)
    if kind == "bool":
        return text == "true"
    return text


def _like(value: str, pattern: str, *, case_insensitive: bool) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    # re.ASCII: fold only ASCII letters, see _ascii_swapcase.
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if case_insensitive else 0)
    return re.fullmatch(regex, value, flags) is not None


def _compare(operator: Operator, left: Any, right: Any) -> bool:
    if operator is Operator.EQ:
        return bool(left == right)
    if operator is Operator.NEQ:
        return bool(left != right)
    if operator is Operator.GT:
        return bool(left > right)
    if operator is Operator.GTE:
        return bool(left >= right)
    if operator is Operator.LT:
        return bool(left < right)
    assert operator is Operator.LTE
    return bool(left <= right)


def _operation(row: Row, column: str, operation: ast.Operation) -> Truth:
    value = row.get(column)
    if isinstance(operation, ast.Is):
        return {
            "null": value is None,
            "not_null": value is not None,
            "true": value is True,
            "false": value is False,
            "unknown": value is None,
        }[operation.value]
    if isinstance(operation, ast.In):
        if not operation.values:
            return False  # `x = ANY('{}')` is false, even for NULL
        if value is None:
            return None
        return value in [_typed(column, v) for v in operation.values]
    assert isinstance(operation, ast.Compare)
    operator = operation.operator
    if operator is Operator.ISDISTINCT:
        return value != _typed(column, operation.value)
    if value is None:
        return None
    if operator in (Operator.LIKE, Operator.ILIKE):
        pattern = operation.value.replace("*", "%")
        return _like(str(value), pattern, case_insensitive=operator is Operator.ILIKE)
    if operator in (Operator.MATCH, Operator.IMATCH):
        flags = re.IGNORECASE | re.ASCII if operator is Operator.IMATCH else 0
        return re.search(operation.value, str(value), flags) is not None
    return _compare(operator, value, _typed(column, operation.value))


def evaluate(row: Row, condition: ast.Condition) -> Truth:
    if isinstance(condition, ast.Logic):
        results = [evaluate(row, child) for child in condition.children]
        result = _and(results) if condition.operator == "and" else _or(results)
    else:
        result = _operation(row, condition.field.name, condition.operation)
    return _not(result) if condition.negated else result


def expected_ids(conditions: list[ast.Condition], ordering: Ordering | None) -> list[int] | str:
    """The ids PostgreSQL should answer, or the error code PostgREST answers instead: an empty
    page that starts past the first row (limit=0 with an offset) is unsatisfiable (416)."""
    if ordering is not None and ordering.limit == 0 and (ordering.offset or 0) > 0:
        return "PGRST103"
    rows = [r for r in ROWS if _and([evaluate(r, c) for c in conditions]) is True]
    if ordering is None:
        return sorted(r.id for r in rows)
    rows.sort(key=lambda r: r.id)
    if ordering.column is not None:
        rows = _sorted_by(rows, ordering)
    start = ordering.offset or 0
    end = None if ordering.limit is None else start + ordering.limit
    return [r.id for r in rows[start:end]]


def _sort_key(value: Value) -> Any:
    return value


def _sorted_by(rows: list[Row], ordering: Ordering) -> list[Row]:
    """PostgreSQL's order: NULLs last ascending and first descending, unless told otherwise."""
    assert ordering.column is not None
    column = ordering.column
    descending = ordering.direction == "desc"
    nulls_first = ordering.nulls == "first" if ordering.nulls is not None else descending
    present = [r for r in rows if r.get(column) is not None]
    present.sort(key=lambda r: _sort_key(r.get(column)), reverse=descending)  # stable: ties keep id order
    absent = [r for r in rows if r.get(column) is None]
    return absent + present if nulls_first else present + absent


# --- the test ----------------------------------------------------------------------------------


def run(connection: psycopg.Connection[Any], cache: SchemaCache, query: ast.QueryParams) -> list[int] | str:
    """The ids of the rows pgrest answers, in order, or the code of the error it answers."""
    request = parse_request("GET", "/t", unparse_query(query), [], schemas=("public",))
    try:
        statement = prepare(request, cache, Options()).statement
    except PgrstError as error:
        return error.code
    with connection.cursor() as cur:
        cur.execute(statement.render("psycopg"), statement.params)
        assert cur.description is not None
        names = [column.name for column in cur.description]
        row = cur.fetchone()
    assert row is not None
    body = json.loads(row[names.index("body")])
    return [item["id"] for item in body]


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    conditions=st.lists(_conditions(), min_size=1, max_size=2),
    ordering=st.none() | orderings,
)
def test_filters_pick_the_rows_python_picks(
    connection: psycopg.Connection[Any],
    cache: SchemaCache,
    conditions: list[ast.Condition],
    ordering: Ordering | None,
) -> None:
    query = _query(conditions, ordering)
    got = run(connection, cache, query)
    expected = expected_ids(conditions, ordering)
    if ordering is None and isinstance(got, list):
        got = sorted(got)
    assert got == expected, unparse_query(query)


def test_the_rows_have_nulls_and_matches(connection: psycopg.Connection[Any], cache: SchemaCache) -> None:
    """The table is what the Python side believes, and a simple filter agrees both ways."""
    with connection.cursor() as cur:
        cur.execute("select id, n, s, b, x from t order by id")
        stored = [Row(*r) for r in cur.fetchall()]
    assert tuple(stored) == ROWS
    assert any(r.n is None for r in ROWS) and any(r.s is None for r in ROWS)
    negated_null = [ast.Filter(ast.Field("n"), ast.Compare(Operator.GT, "0"), True)]
    assert run(connection, cache, _query(list(negated_null), None)) == expected_ids(list(negated_null), None)
