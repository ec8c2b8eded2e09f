"""Properties of every statement pgrest compiles for a read, over tests/unit/plan/films.py's schema.

* it parses as PostgreSQL (sqlglot), rendered for psycopg (`%s`) and for `$n` drivers alike;
* no request value reaches the SQL text: each value carries a unique token `zq<i>x`, which must
  be in the parameters and never in the text (limits and offsets are seven-digit numbers);
* the text depends only on the request's shape: other values give byte-identical text;
* the text has exactly as many placeholders as there are parameters.
"""

from __future__ import annotations

import itertools
import re
import urllib.parse
from urllib.parse import quote

import pytest
import sqlglot
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.unparse import unparse_query
from pgrest_core.translate import translate
from tests.property.compile_strategies import (
    CACHE,
    NUMBERS,
    TOKEN,
    ReadRequest,
    count_values,
    fill_values,
    read_requests,
    token_values,
)

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


class Filler:
    """Hands out the drawn values in order; FTS languages get just the value's token."""

    def __init__(self, texts: list[str], numbers: list[int]) -> None:
        self.texts = iter(texts)
        self.numbers = iter(numbers)

    def text(self, _old: str) -> str:
        return next(self.texts)

    def language(self, _old: str) -> str:
        match = TOKEN.search(next(self.texts))
        assert match is not None
        return match.group()

    def number(self, _old: int) -> int:
        return next(self.numbers)


@st.composite
def filled_requests(
    draw: st.DrawFn, shape: ReadRequest | None = None
) -> tuple[ReadRequest, list[str], list[int]]:
    """A request with token-carrying values, and the values it holds."""
    if shape is None:
        shape = draw(read_requests())
    n_texts, n_numbers = count_values(shape.query)
    texts = draw(token_values(n_texts))
    numbers = draw(st.lists(NUMBERS, min_size=n_numbers, max_size=n_numbers))
    filler = Filler(texts, numbers)
    query = fill_values(shape.query, filler.text, filler.number, filler.language)
    return ReadRequest(shape.table, query, shape.headers), texts, numbers


def request_line(request: ReadRequest) -> str:
    """The request as `translate` takes it, non-ASCII and whitespace percent-encoded as an HTTP
    client sends them (`translate` strips the line, which would eat a trailing U+00A0)."""
    query = re.sub(r"[^\x21-\x7e]+", lambda m: urllib.parse.quote(m.group()), unparse_query(request.query))
    return f"GET /{request.table}" + (f"?{query}" if query else "")


def compiled(request: ReadRequest) -> list[Fragment]:
    """Every statement the request compiles to: the main one and, if any, the count statement."""
    line = request_line(request)
    try:
        statement = translate(line, CACHE, headers=request.headers)
        # The server's way in: the query string as unparsed, not re-encoded.
        query = unparse_query(request.query)
        parsed = parse_request("GET", f"/{request.table}", query, request.headers, schemas=("public",))
        prepared = prepare(parsed, CACHE, Options(aggregates_enabled=True))
    except PgrstError:
        assume(False)
        raise  # unreachable: `assume(False)` rejects the example
    assert prepared.statement == statement
    extra = [prepared.count_statement] if prepared.count_statement is not None else []
    return [statement, *extra]


def parse_postgres(text: str) -> exp.Expr:
    tree = sqlglot.parse_one(text, read="postgres")
    assert tree is not None
    return tree


def placeholders(text: str) -> list[exp.Expr]:
    return [node for node in parse_postgres(text).walk() if isinstance(node, exp.Placeholder | exp.Parameter)]


def dollar_numbers(text: str) -> list[int]:
    """The numbers of the `$n` parameters, in the order they appear in the text (the tokenizer
    skips string literals and quoted identifiers)."""
    tokens = Postgres().tokenize(text)
    return [
        int(number.text)
        for token, number in itertools.pairwise(tokens)
        if token.token_type == TokenType.PARAMETER and number.token_type == TokenType.NUMBER
    ]


# --- the properties ----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(filled_requests())
def test_every_statement_parses_as_postgres_in_both_placeholder_styles(
    drawn: tuple[ReadRequest, list[str], list[int]],
) -> None:
    request, _, _ = drawn
    for statement in compiled(request):
        parse_postgres(statement.render("dollar"))
        parse_postgres(statement.render("psycopg"))


@PROPERTY_SETTINGS
@given(filled_requests())
def test_placeholders_match_params_in_both_styles(drawn: tuple[ReadRequest, list[str], list[int]]) -> None:
    request, _, _ = drawn
    for statement in compiled(request):
        n = len(statement.params)
        dollar = statement.render("dollar")
        assert len(placeholders(dollar)) == n
        # `$n` parameters, numbered 1..n in order of appearance.
        assert dollar_numbers(dollar) == list(range(1, n + 1))
        assert len(placeholders(statement.render("psycopg"))) == n
        # psycopg's own reading of the text: `%%` is a literal percent, `%s` a placeholder.
        assert re.findall(r"%%|%s|%", statement.render("psycopg")).count("%s") == n


@PROPERTY_SETTINGS
@given(filled_requests())
def test_no_request_value_reaches_the_sql_text(drawn: tuple[ReadRequest, list[str], list[int]]) -> None:
    request, texts, numbers = drawn
    statements = compiled(request)
    main = statements[0]
    params_text = "\x00".join(str(p) for statement in statements for p in statement.params)
    for statement in statements:
        assert TOKEN.search(statement.text) is None, statement.text
        for number in numbers:
            assert str(number) not in statement.text
    for value in texts:
        token = TOKEN.search(value)
        assert token is not None
        assert token.group() in params_text, f"{value!r} is in no parameter"
    # Every limit and offset (top-level or embedded) is a parameter of the main statement.
    assert set(numbers) <= {p for p in main.params if isinstance(p, int)}


@PROPERTY_SETTINGS
@given(st.data())
def test_sql_text_depends_only_on_the_shape(data: st.DataObject) -> None:
    shape = data.draw(read_requests(), label="shape")
    first, _, _ = data.draw(filled_requests(shape), label="first values")
    second, _, _ = data.draw(filled_requests(shape), label="second values")
    for a, b in itertools.zip_longest(compiled(first), compiled(second)):
        assert a is not None and b is not None
        assert a.text == b.text
        assert len(a.params) == len(b.params)


# --- casts go into the SQL text: what cannot be a type name is a client error ---------------


@pytest.mark.parametrize("cast", ["a$b", "int;drop", "text'", 'x"y', "$1"])
def test_unsafe_cast_is_a_client_error(cast: str) -> None:
    with pytest.raises(PgrstError) as raised:
        translate(f"GET /films?select=id::{quote(cast, safe='')}", CACHE)
    assert (raised.value.code, raised.value.status) == ("PGRST100", 400)


def test_casts_may_use_any_script() -> None:
    sql = translate("GET /films?select=id::t%C3%A9xt", CACHE).render("dollar")
    assert '("films"."id")::téxt' in sql


def test_generated_requests_are_mostly_accepted() -> None:
    """Guards the strategies themselves: they draw requests the planner accepts, so the
    properties above test compiled SQL rather than rejections."""
    accepted = rejected = 0

    @settings(max_examples=100, deadline=None, database=None)
    @given(filled_requests())
    def count(drawn: tuple[ReadRequest, list[str], list[int]]) -> None:
        nonlocal accepted, rejected
        try:
            translate(request_line(drawn[0]), CACHE, headers=drawn[0].headers)
            accepted += 1
        except PgrstError:
            rejected += 1

    count()
    assert rejected <= accepted // 4, (accepted, rejected)


def test_tokens_are_not_substrings_of_each_other() -> None:
    tokens = [f"zq{i}x" for i in range(200)]
    assert all(a == b or a not in b for a in tokens for b in tokens)
