"""select= parsing: every item shape, and PostgREST's error messages."""

from __future__ import annotations

import pytest

from pgrest_core.ast import Aggregate, Field, JsonStep, SelectEmbed, SelectField
from pgrest_core.errors import PgrstError
from pgrest_core.request.select import parse_select

STAR = SelectField(Field("*"))


def col(name: str, **kwargs: object) -> SelectField:
    return SelectField(Field(name), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("*", (STAR,)),
        ("", ()),
        ("id,name", (col("id"), col("name"))),
        (" id , name ", (col("id"), col("name"))),
        ("alias:col", (col("col", alias="alias"),)),
        ("col::text", (col("col", cast="text"),)),
        ("a:col::character varying", (col("col", alias="a", cast="character varying"),)),
        ('"my col","a,b":x', (col("my col"), col("x", alias="a,b"))),
        ("first-name", (col("first-name"),)),
        ("nombre,名前", (col("nombre"), col("名前"))),
        ("count()", (SelectField(Field("*"), aggregate=Aggregate.COUNT),)),
        ("n:count()::int", (SelectField(Field("*"), "n", None, Aggregate.COUNT, "int"),)),
        ("amount.sum()", (col("amount", aggregate=Aggregate.SUM),)),
        ("amount.avg()::int", (col("amount", aggregate=Aggregate.AVG, aggregate_cast="int"),)),
        ("amount::int.max()", (col("amount", cast="int", aggregate=Aggregate.MAX),)),
        ("t:amount.min()", (col("amount", alias="t", aggregate=Aggregate.MIN),)),
        ("id.count()", (col("id", aggregate=Aggregate.COUNT),)),
        ("count", (col("count"),)),
    ],
)
def test_fields(text: str, items: tuple[SelectField, ...]) -> None:
    assert parse_select(text) == items


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("data->a", (JsonStep("->", "a"),)),
        ("data->>a", (JsonStep("->>", "a"),)),
        ("data->a->>b", (JsonStep("->", "a"), JsonStep("->>", "b"))),
        ("data->0", (JsonStep("->", 0),)),
        ("data->>-1", (JsonStep("->>", -1),)),
        ("data->0x", (JsonStep("->", "0x"),)),
        ('data->"a,b"', (JsonStep("->", "a,b"),)),
        ("data->!@#$%^&*_a", (JsonStep("->", "!@#$%^&*_a"),)),
        ("data->a-b", (JsonStep("->", "a-b"),)),
    ],
)
def test_json_paths(text: str, path: tuple[JsonStep, ...]) -> None:
    assert parse_select(text) == (SelectField(Field("data", path)),)


def test_json_path_with_cast_and_alias() -> None:
    assert parse_select("myInt:settings->foo->>int::integer") == (
        SelectField(Field("settings", (JsonStep("->", "foo"), JsonStep("->>", "int"))), "myInt", "integer"),
    )


def test_index_before_closing_paren_is_an_index() -> None:
    assert parse_select("rel(data->0)") == (
        SelectEmbed("rel", (SelectField(Field("data", (JsonStep("->", 0),))),)),
    )


@pytest.mark.parametrize(
    ("text", "embed"),
    [
        ("rel(*)", SelectEmbed("rel", (STAR,))),
        ("rel()", SelectEmbed("rel", ())),
        ("a:rel(id)", SelectEmbed("rel", (col("id"),), alias="a")),
        ("rel!hint(*)", SelectEmbed("rel", (STAR,), hint="hint")),
        ("rel!inner(*)", SelectEmbed("rel", (STAR,), join="inner")),
        ("rel!left(*)", SelectEmbed("rel", (STAR,), join="left")),
        ("a:rel!hint!inner(*)", SelectEmbed("rel", (STAR,), "a", "hint", "inner")),
        ("rel!inner!hint(*)", SelectEmbed("rel", (STAR,), None, "hint", "inner")),
        ("rel!leftist(*)", SelectEmbed("rel", (STAR,), hint="leftist")),
        ('rel!"inner"(*)', SelectEmbed("rel", (STAR,), hint="inner")),
        ("...rel(a)", SelectEmbed("rel", (col("a"),), spread=True)),
        ("...rel!hint!left(a)", SelectEmbed("rel", (col("a"),), None, "hint", "left", True)),
        ("a(b(c(d)))", SelectEmbed("a", (SelectEmbed("b", (SelectEmbed("c", (col("d"),)),)),))),
        ("rel( id , name )", SelectEmbed("rel", (col("id"), col("name")))),
    ],
)
def test_embeds(text: str, embed: SelectEmbed) -> None:
    assert parse_select(text) == (embed,)


def test_mixed_items() -> None:
    assert parse_select("*,clients(*,projects(id)),total:amount.sum()") == (
        STAR,
        SelectEmbed("clients", (STAR, SelectEmbed("projects", (col("id"),)))),
        col("amount", alias="total", aggregate=Aggregate.SUM),
    )


def test_trailing_text_after_a_complete_select_is_ignored_like_postgrest() -> None:
    assert parse_select("rel(a)x") == (SelectEmbed("rel", (col("a"),)),)


@pytest.mark.parametrize(
    ("text", "column", "details"),
    [
        ("data->>--34", 9, 'unexpected "-" expecting digit'),
        (
            "data->(!@#$%^&*_d->>!@#$%^&*_e::integer",
            7,
            'unexpected "(" expecting "-", digit or any non reserved character different from: .,>()',
        ),
        (
            "id,clients(name[])",
            16,
            'unexpected \'[\' expecting letter, digit, "-", "->>", "->", "::", ".", ")", "," or end of input',
        ),
        (
            "name!hint",
            5,
            'unexpected \'!\' expecting letter, digit, "-", "->>", "->", "::", ".", ")", "," or end of input',
        ),
        ("name::", 7, "unexpected end of input expecting letter or digit"),
        ("id,x:value->-x", 14, 'unexpected "x" expecting digit'),
        (
            'a:order_keys->"a"b',
            18,
            'unexpected \'b\' expecting "->>", "->", "::", ".", ")", "," or end of input',
        ),
        ("a.foo", 3, 'unexpected "f" expecting "sum", "avg", "count", "max" or "min"'),
        ("a.su", 3, 'unexpected end of input expecting "sum"'),
        ("a.sum", 6, 'unexpected end of input expecting "()"'),
        (
            "a,",
            3,
            'unexpected end of input expecting "...", field name (* or [a..z0..9_$]), "*" or "count()"',
        ),
        ("rel(*", 6, 'unexpected end of input expecting ")", "," or end of input'),
        ("rel(a(b) x)", 10, 'unexpected "x" expecting ","'),
        ('"unclosed', 10, 'unexpected end of input expecting "\\\\" or "\\""'),
        (
            "rel(!)",
            5,
            'unexpected "!" expecting "...", field name (* or [a..z0..9_$]), "*", "count()" or ")"',
        ),
        ("a\x00b", 2, 'unexpected "\\NUL"'),
    ],
)
def test_errors(text: str, column: int, details: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse_select(text)
    error = caught.value
    assert (error.code, error.status) == ("PGRST100", 400)
    assert error.message == f'"failed to parse select parameter ({text})" (line 1, column {column})'
    assert error.details == details
