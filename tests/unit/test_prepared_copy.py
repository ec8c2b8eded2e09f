"""`Prepared.with_values` is `dataclasses.replace` for the three value-dependent fields."""

from __future__ import annotations

from dataclasses import fields, replace

from pgrest_core.fragment import Fragment
from pgrest_core.prepared import Prepared, Response, ResponseRecipe


def test_with_values_copies_every_other_field() -> None:
    original = Prepared(
        Fragment("SELECT \x00", ("a",)),
        ResponseRecipe(content_type="text/csv", body_format="csv"),
        read_only=False,
        count_statement=Fragment("SELECT 1"),
        check_before_commit=True,
        answer=Response(200, (), b"x"),
        is_metadata=True,
        function_settings=(("statement_timeout", "1s"),),
        content_location="/a?b=c",
    )
    statement, count = Fragment("SELECT \x00", ("b",)), Fragment("SELECT 2")
    copy = original.with_values(statement, count, "/a?b=d")
    expected = replace(original, statement=statement, count_statement=count, content_location="/a?b=d")
    # Field by field, so that a field the method forgets fails here (unset slot) by name.
    for field in fields(Prepared):
        assert getattr(copy, field.name) == getattr(expected, field.name), field.name
    assert copy == expected
