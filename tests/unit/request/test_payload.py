"""Request bodies of writes: JSON objects and arrays, CSV and forms, and PGRST102."""

from __future__ import annotations

import json

import pytest

from pgrest_core.ast import MediaType
from pgrest_core.errors import PgrstError
from pgrest_core.request.payload import Payload, parse_payload

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
