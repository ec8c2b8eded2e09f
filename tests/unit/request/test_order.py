"""order= parsing and PostgREST's error messages."""

from __future__ import annotations

import pytest

from pgrest_core.ast import Field, JsonStep, OrderTerm
from pgrest_core.errors import PgrstError
from pgrest_core.request.order import parse_order


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("id", (OrderTerm(Field("id")),)),
        ("id.asc", (OrderTerm(Field("id"), "asc"),)),
        ("id.desc", (OrderTerm(Field("id"), "desc"),)),
        ("id.nullsfirst", (OrderTerm(Field("id"), None, "first"),)),
        ("name.desc.nullslast", (OrderTerm(Field("name"), "desc", "last"),)),
        (
            "a,b.desc, c.asc.nullsfirst",
            (OrderTerm(Field("a")), OrderTerm(Field("b"), "desc"), OrderTerm(Field("c"), "asc", "first")),
        ),
        ("json_col->key.asc", (OrderTerm(Field("json_col", (JsonStep("->", "key"),)), "asc"),)),
        ("data->>0.desc", (OrderTerm(Field("data", (JsonStep("->>", 0),)), "desc"),)),
        ("clients(name).desc.nullsfirst", (OrderTerm(Field("name"), "desc", "first", "clients"),)),
        ("clients(data->0)", (OrderTerm(Field("data", (JsonStep("->", 0),)), relation="clients"),)),
        ('"my col".desc', (OrderTerm(Field("my col"), "desc"),)),
        (
            "name,clients(name),id",
            (OrderTerm(Field("name")), OrderTerm(Field("name"), relation="clients"), OrderTerm(Field("id"))),
        ),
    ],
)
def test_terms(text: str, terms: tuple[OrderTerm, ...]) -> None:
    assert parse_order(text) == terms


@pytest.mark.parametrize(
    ("text", "column", "details"),
    [
        ("id.asc.nullslasttt", 17, "unexpected 't' expecting \",\" or end of input"),
        (
            "clients(name,id)",
            8,
            'unexpected \'(\' expecting letter, digit, "-", "->>", "->", delimiter (.), "," or end of input',
        ),
        ("id.ac", 4, 'unexpected "c" expecting "asc", "desc", "nullsfirst" or "nullslast"'),
        ("id.descc", 8, "unexpected 'c' expecting delimiter (.), \",\" or end of input"),
        ("id.nulsfist", 4, 'unexpected "n" expecting "asc", "desc", "nullsfirst" or "nullslast"'),
        ("id.nullslasttt", 13, "unexpected 't' expecting \",\" or end of input"),
        ("id.smth34", 4, 'unexpected "s" expecting "asc", "desc", "nullsfirst" or "nullslast"'),
        ("id.asc.nlsfst", 8, 'unexpected "l" expecting "nullsfirst" or "nullslast"'),
        ("id.asc.smth34", 8, 'unexpected "s" expecting "nullsfirst" or "nullslast"'),
        ("", 1, "unexpected end of input expecting field name (* or [a..z0..9_$])"),
        ("a,", 3, "unexpected end of input expecting field name (* or [a..z0..9_$])"),
    ],
)
def test_errors(text: str, column: int, details: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse_order(text)
    assert caught.value.code == "PGRST100"
    assert caught.value.message == f'"failed to parse order ({text})" (line 1, column {column})'
    assert caught.value.details == details
