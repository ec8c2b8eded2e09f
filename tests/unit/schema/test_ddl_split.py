"""The statement splitter: `;` ends a statement only outside quotes, comments and dollar quotes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgrest_core.schema.ddl_split import split_script, strip_comments


def texts(script: str) -> list[str]:
    return [statement.text for statement in split_script(script).statements]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("select 1; select 2;", ["select 1", "select 2"]),
        ("select 1", ["select 1"]),
        ("select ';'; select 2", ["select ';'", "select 2"]),
        ("select 'it''s; here'; x", ["select 'it''s; here'", "x"]),
        ("select E'a\\'; b'; x", ["select E'a\\'; b'", "x"]),
        ('select 1 as "a;b"; x', ['select 1 as "a;b"', "x"]),
        ("create function f() returns int as $$ select 1; $$ language sql; x",
         ["create function f() returns int as $$ select 1; $$ language sql", "x"]),
        ("do $body$ begin perform 1; $inner$ ; $inner$; end $body$; x",
         ["do $body$ begin perform 1; $inner$ ; $inner$; end $body$", "x"]),
        ("select 1 -- a; comment\n; x", ["select 1 -- a; comment", "x"]),
        ("select /* a; /* nested; */ still; */ 1; x", ["select /* a; /* nested; */ still; */ 1", "x"]),
        ("-- only a comment;\n;;  ; select 1", ["select 1"]),
        ("select $1; select 2", ["select $1", "select 2"]),  # a parameter, not a dollar quote
        ("create rule r as on insert to t do instead (insert into u values (1); insert into v values (2)); x",
         ["create rule r as on insert to t do instead (insert into u values (1); insert into v values (2))", "x"]),
    ],
)  # fmt: skip
def test_split(script: str, expected: list[str]) -> None:
    assert texts(script) == expected


def test_lines_and_meta_commands() -> None:
    script = split_script(
        "\\set ON_ERROR_STOP on\n\ncreate table a (id int);\n\n-- note\ncreate table b ();\n"
    )
    assert [(s.text, s.line) for s in script.statements] == [
        ("create table a (id int)", 3),
        ("-- note\ncreate table b ()", 5),
    ]
    assert [(m.text, m.line) for m in script.meta_commands] == [("\\set ON_ERROR_STOP on", 1)]


def test_an_unterminated_quote_runs_to_the_end_without_hanging() -> None:
    assert texts("select 'open; select 2") == ["select 'open; select 2"]
    assert texts("select $$open; select 2") == ["select $$open; select 2"]


def test_strip_comments_keeps_quoted_text() -> None:
    assert strip_comments("a -- c\nb /* d */ '-- e' $$/* f */$$") == "a  \nb   '-- e' $$/* f */$$"


_PIECES = st.sampled_from(
    ["select 1", "'a;b'", "$$x;y$$", "$t$ $$; $t$", '"q;"', "/* ; */", "(1;2)", "E'\\';'", " ", "x"]
)


@given(st.lists(st.lists(_PIECES, min_size=1, max_size=5), min_size=1, max_size=6))
def test_joined_statements_split_back(statements: list[list[str]]) -> None:
    """Statements whose `;` all hide in quotes, comments or parentheses come back one each."""
    parts = ["x " + " ".join(pieces) for pieces in statements]
    assert texts(";\n".join(parts)) == [part.strip() for part in parts]
