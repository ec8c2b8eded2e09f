"""Request bodies of writes: JSON objects and arrays, CSV and forms, and PGRST102."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from pgrest_core.ast import MediaType
from pgrest_core.errors import PgrstError
from pgrest_core.request.payload import (
    Payload,
    RawBody,
    RawJson,
    _shallow_decode,
    parse_call_body,
    parse_payload,
)

JSON = MediaType("application", "json")
CSV = MediaType("text", "csv")
FORM = MediaType("application", "x-www-form-urlencoded")


def parse(
    body: str | None, media: MediaType | None = JSON, columns: tuple[str, ...] | None = None
) -> Payload:
    return parse_payload(body.encode() if body is not None else None, media, columns=columns)


def test_an_object_is_one_row_and_keeps_its_text() -> None:
    payload = parse('{"id": 1, "name": "x"}')
    assert (payload.keys, payload.shape, payload.row_count) == (("id", "name"), "object", 1)
    assert payload.rows_json == '[{"id": 1, "name": "x"}]'
    assert payload.first_json == '{"id": 1, "name": "x"}'


def test_an_array_of_objects_with_the_same_keys_in_any_order() -> None:
    payload = parse('[{"a": 1, "b": 2}, {"b": 3, "a": 4}]')
    assert (payload.keys, payload.shape, payload.row_count) == (("a", "b"), "array", 2)
    assert payload.rows_json == '[{"a": 1, "b": 2}, {"b": 3, "a": 4}]'
    assert json.loads(payload.first_json) == {"a": 1, "b": 2}


def test_an_empty_array_has_no_keys_and_its_first_row_is_empty() -> None:
    payload = parse("[]")
    assert (payload.keys, payload.row_count, payload.first_json) == ((), 0, "{}")


def test_a_scalar_is_taken_as_nothing_to_write() -> None:
    payload = parse("5")
    assert (payload.rows_json, payload.keys, payload.row_count) == ("[]", (), 0)


@pytest.mark.parametrize("body", [None, "", "  ", "}{ x = 2", "[1,"])
def test_empty_or_invalid_json_is_pgrst102(body: str | None) -> None:
    with pytest.raises(PgrstError) as caught:
        parse(body)
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        "PGRST102",
        400,
        "Empty or invalid json",
    )


@pytest.mark.parametrize("body", ['[{"a": 1}, {"a": 1, "b": 2}]', '[{"a": 1}, 3]', "[1, 2]"])
def test_rows_with_different_keys_are_pgrst102(body: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse(body)
    assert (caught.value.code, caught.value.message) == ("PGRST102", "All object keys must match")


def test_columns_name_the_keys_and_rows_are_not_compared() -> None:
    payload = parse('[{"id": 1, "junk": 2}, {"id": 2}]', columns=("id", "body"))
    assert payload.keys == ("id", "body")
    assert payload.row_count == 2


def test_no_content_type_means_json() -> None:
    assert parse('{"a": 1}', media=None).keys == ("a",)


def test_csv_header_names_the_columns_and_null_cells_are_null() -> None:
    payload = parse('a,b\nbar,baz\n"x,y",NULL\n', media=CSV)
    assert payload.keys == ("a", "b")
    assert json.loads(payload.rows_json) == [{"a": "bar", "b": "baz"}, {"a": "x,y", "b": None}]
    assert json.loads(payload.first_json) == {"a": "bar", "b": "baz"}


def test_csv_lines_with_a_different_number_of_fields_are_rejected() -> None:
    with pytest.raises(PgrstError) as caught:
        parse("a,b\n1\n", media=CSV)
    assert caught.value.code == "PGRST102"


def test_a_form_is_one_object_of_text_values() -> None:
    payload = parse("integer=7&varchar=forms+are+fun&money=$3.99", media=FORM)
    assert payload.shape == "object"
    assert json.loads(payload.rows_json) == [{"integer": "7", "varchar": "forms are fun", "money": "$3.99"}]


def test_other_content_types_are_415() -> None:
    with pytest.raises(PgrstError) as caught:
        parse("<x/>", media=MediaType("text", "xml"))
    assert (caught.value.code, caught.value.status) == ("PGRST107", 415)


# --- issue 8: deep nesting, bare carriage returns, one decoder for writes and calls ---------

DEPTH = 100_000


def test_a_body_of_deeply_nested_arrays_is_pgrst102_not_a_recursion_error() -> None:
    with pytest.raises(PgrstError) as caught:
        parse("[" * DEPTH + "]" * DEPTH)
    # Like PostgREST: the body is valid JSON, but an array of arrays is not rows.
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        "PGRST102",
        400,
        "All object keys must match",
    )


@pytest.mark.parametrize("wrap", [lambda row: row, lambda row: "[" + row + "," + row + "]"])
def test_a_deeply_nested_column_value_is_passed_on_as_sent(wrap: Callable[[str], str]) -> None:
    deep = "[" * DEPTH + "]" * DEPTH
    row = '{"title": "x", "genre": ' + deep + "}"
    payload = parse(wrap(row))
    assert payload.keys == ("title", "genre")
    assert payload.text == wrap(row)
    assert payload.first_json.replace(" ", "") == '{"title":"x","genre":' + deep + "}"
    assert payload.first_items == (("title", "x"), ("genre", deep))
    assert isinstance(payload.first_items[1][1], RawJson)


@pytest.mark.parametrize("depth", [DEPTH, 3000])
def test_deeply_nested_invalid_json_is_still_invalid(depth: int) -> None:
    for body in ("[" * depth + "]" * (depth - 1), '{"a": ' + "[" * depth + "1," + "]" * depth + "}"):
        with pytest.raises(PgrstError) as caught:
            parse(body)
        assert caught.value.message == "Empty or invalid json"


SHALLOW_CASES = [
    "[]",
    "{}",
    " [1, -2.5e3, true, false, null] ",
    '{"a": [1, [2]], "b": {"c": "d\\u00e9\\n"}, "e": ""}',
    '[{"a": 1, "b": [[]]}, {"a": 2, "b": {"x": [3]}}]',
    '"x"',
    "null",
    "[[[1]], 2]",
]


@pytest.mark.parametrize("text", SHALLOW_CASES)
def test_the_shallow_decoder_agrees_with_json_loads(text: str) -> None:
    """Containers below the rows stay text; everything else decodes as json.loads does."""

    def thaw(value: object) -> object:
        if isinstance(value, RawJson):
            return json.loads(value)
        if isinstance(value, list):
            return [thaw(item) for item in value]
        if isinstance(value, dict):
            return {key: thaw(item) for key, item in value.items()}
        return value

    assert thaw(_shallow_decode(text)) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "[1,]",
        '{"a"}',
        "[1 2]",
        "{,}",
        "[",
        "1 2",
        '{"a":1,}',
        "[}",
        "]",
        "",
        '[{"a":[1,]}]',
        "[01]",
        "{'a':1}",
    ],
)
def test_the_shallow_decoder_rejects_what_json_loads_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(PgrstError):
        _shallow_decode(text)


@pytest.mark.parametrize("line_end", ["\r", "\n", "\r\n"])
def test_csv_lines_may_end_with_a_bare_carriage_return(line_end: str) -> None:
    payload = parse(f"a,b{line_end}1,x{line_end}2,NULL", CSV)
    assert json.loads(payload.rows_json) == [{"a": "1", "b": "x"}, {"a": "2", "b": None}]


def test_a_carriage_return_inside_a_quoted_csv_cell_is_kept() -> None:
    payload = parse('a\r\n"x\ry"\r\n', CSV)
    assert json.loads(payload.rows_json) == [{"a": "x\ry"}]


@pytest.mark.parametrize("body", ['a\n"b', 'a\n"b"c'])
def test_malformed_csv_is_pgrst102(body: str) -> None:
    with pytest.raises(PgrstError) as caught:
        parse(body, CSV)
    assert (caught.value.code, caught.value.status) == ("PGRST102", 400)
    assert caught.value.message.startswith("Invalid CSV: ")


def test_a_call_takes_raw_bodies_whole_and_an_empty_json_body_as_no_arguments() -> None:
    text = parse_call_body(b"hi", MediaType("text", "plain"))
    assert text == RawBody("text", "hi")
    assert parse_call_body(b"\x00\x01", MediaType("application", "octet-stream")) == RawBody(
        "bytea", b"\x00\x01"
    )
    empty = parse_call_body(None, JSON)
    assert isinstance(empty, Payload) and (empty.first_items, empty.text) == ((), "{}")


def test_a_call_decodes_json_csv_and_forms_like_a_write() -> None:
    first = parse_call_body(b'[{"a": [1], "b": null}, {"a": 2, "b": 3}]', JSON)
    assert isinstance(first, Payload) and first.first_items == (("a", [1]), ("b", None)) and first.json_values
    csv_body = parse_call_body(b"a,b\r1,NULL\r", CSV)
    assert isinstance(csv_body, Payload) and csv_body.first_items == (("a", "1"), ("b", None))
    assert not csv_body.json_values
    form = parse_call_body(b"v=1&v=2&w=x", FORM)
    assert isinstance(form, Payload) and form.first_items == (("v", "1"), ("v", "2"), ("w", "x"))
    with pytest.raises(PgrstError) as caught:
        parse_call_body(b'[{"a": 1}, {"b": 1}]', JSON)
    assert caught.value.message == "All object keys must match"
