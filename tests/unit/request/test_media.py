"""`Accept` and `Content-Type` parsing."""

from __future__ import annotations

import pytest

from pgrest_core.ast import MediaType
from pgrest_core.request.media import ANY, parse_accept, parse_content_type


def essences(value: str | None) -> list[str]:
    return [media.essence for media in parse_accept(value)]


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_accept_means_anything(value: str | None) -> None:
    assert parse_accept(value) == (MediaType("*", "*"),)
    assert parse_accept(value) == (ANY,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", MediaType("application", "json")),
        ("text/csv", MediaType("text", "csv")),
        ("application/geo+json", MediaType("application", "geo+json")),
        ("*/*", MediaType("*", "*")),
        ("application/*", MediaType("application", "*")),
        ("application/vnd.pgrst.object+json", MediaType("application", "vnd.pgrst.object+json")),
        ("application/vnd.pgrst.object", MediaType("application", "vnd.pgrst.object")),
        ("application/openapi+json", MediaType("application", "openapi+json")),
        ("pg/outfunc", MediaType("pg", "outfunc")),
    ],
)
def test_single_media_types(value: str, expected: MediaType) -> None:
    assert parse_accept(value) == (expected,)


def test_names_are_lower_cased() -> None:
    assert parse_accept("Application/JSON; Nulls=Stripped") == (
        MediaType("application", "json", (("nulls", "Stripped"),)),
    )


def test_nulls_stripped_parameter() -> None:
    (media,) = parse_accept("application/vnd.pgrst.array+json;nulls=stripped")
    assert media.essence == "application/vnd.pgrst.array+json"
    assert media.param("nulls") == "stripped"


def test_plan_parameters_with_quotes_and_trailing_semicolon() -> None:
    (media,) = parse_accept(
        'application/vnd.pgrst.plan+json; for="application/json"; options=analyze|verbose;'
    )
    assert media == MediaType(
        "application", "vnd.pgrst.plan+json", (("for", "application/json"), ("options", "analyze|verbose"))
    )


def test_quoted_parameter_may_hold_commas_semicolons_and_escapes() -> None:
    (media,) = parse_accept(r'text/plain; x="a,b;c \"d\""')
    assert media.param("x") == 'a,b;c "d"'


def test_q_values_sort_descending_and_stably() -> None:
    value = "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8"
    assert essences(value) == ["text/html", "application/xhtml+xml", "image/webp", "application/xml", "*/*"]


def test_q_is_removed_from_params_and_kept_as_weight() -> None:
    (media,) = parse_accept("text/csv;q=0.5;header=present")
    assert media == MediaType("text", "csv", (("header", "present"),), 0.5)


def test_later_higher_q_comes_first() -> None:
    assert essences("application/json;q=0.1, text/csv;q=0.2, */*;q=0.15") == [
        "text/csv",
        "*/*",
        "application/json",
    ]


def test_equal_q_keeps_client_order() -> None:
    assert essences("text/csv, application/json") == ["text/csv", "application/json"]
    assert essences("image/png, */*") == ["image/png", "*/*"]


def test_zero_q_means_not_acceptable() -> None:
    assert essences("text/csv;q=0, application/json") == ["application/json"]
    assert parse_accept("text/csv;q=0.000") == ()


@pytest.mark.parametrize("bad_q", ["q=abc", "q=2", "q=-1", "q=1.5", "q=0.1234", "q=", "q=nan"])
def test_malformed_q_is_ignored(bad_q: str) -> None:
    assert parse_accept(f"text/csv;{bad_q}") == (MediaType("text", "csv"),)


def test_malformed_params_are_skipped() -> None:
    assert parse_accept("text/csv; ; novalue; =x; a=1") == (MediaType("text", "csv", (("a", "1"),)),)


def test_empty_list_elements_are_skipped() -> None:
    assert essences(",text/csv,, ,application/json,") == ["text/csv", "application/json"]


def test_an_unparseable_piece_is_kept_whole_to_be_named_in_a_406() -> None:
    (media,) = parse_accept("undefined")
    assert media == MediaType("undefined", "")
    assert media.essence == "undefined"
    assert str(media) == "undefined"


def test_unparseable_pieces_do_not_hide_good_ones() -> None:
    assert essences("text/, application/json") == ["text/", "application/json"]


def test_only_parameters_is_skipped() -> None:
    assert parse_accept(";q=0.5") == ()


# --- Content-Type ----------------------------------------------------------------------------


def test_content_type_with_charset() -> None:
    assert parse_content_type("application/json; charset=utf-8") == MediaType(
        "application", "json", (("charset", "utf-8"),)
    )


@pytest.mark.parametrize(
    ("value", "essence"),
    [
        ("application/json", "application/json"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("text/csv", "text/csv"),
        ("TEXT/Plain", "text/plain"),
        ("application/octet-stream", "application/octet-stream"),
    ],
)
def test_content_type_essence(value: str, essence: str) -> None:
    media = parse_content_type(value)
    assert media is not None and media.essence == essence


def test_content_type_keeps_q_as_a_parameter() -> None:
    assert parse_content_type("text/csv; q=0.5") == MediaType("text", "csv", (("q", "0.5"),))


def test_missing_or_blank_content_type() -> None:
    assert parse_content_type(None) is None
    assert parse_content_type("") is None
    assert parse_content_type("  ") is None


def test_unparseable_content_type_is_kept_whole() -> None:
    media = parse_content_type("undefined")
    assert media is not None and media.essence == "undefined"
