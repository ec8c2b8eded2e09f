"""`Range` / `Range-Unit` parsing and `Content-Range` formatting."""

from __future__ import annotations

import pytest

from pgrest_core import errors
from pgrest_core.ast import RangeHeader
from pgrest_core.request.ranges import content_range, parse_range


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0-9", RangeHeader(offset=0, limit=10)),
        ("0-0", RangeHeader(offset=0, limit=1)),
        ("1-1", RangeHeader(offset=1, limit=1)),
        ("10-100", RangeHeader(offset=10, limit=91)),
        ("100-199", RangeHeader(offset=100, limit=100)),
        ("10-", RangeHeader(offset=10, limit=None)),
        ("0-", RangeHeader(offset=0, limit=None)),
        (" 2-3 ", RangeHeader(offset=2, limit=2)),
        ("007-8", RangeHeader(offset=7, limit=2)),
    ],
)
def test_items_ranges(value: str, expected: RangeHeader) -> None:
    assert parse_range(value, "items") == expected
    assert parse_range(value, None) == expected  # items is the default unit


def test_unit_is_case_insensitive() -> None:
    assert parse_range("0-1", "Items") == RangeHeader(0, 2)


@pytest.mark.parametrize("unit", ["bytes", "rows", ""])
def test_other_units_are_ignored(unit: str) -> None:
    assert parse_range("0-9", unit) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-",
        "-5",
        "a-b",
        "items=0-9",
        "0-9,20-29",
        "0 - 9",
        "1.5-2",
        "٠-٩",
        "1" * 19 + "-",
        "0-" + "9" * 19,
    ],
)
def test_other_forms_are_ignored(value: str) -> None:
    assert parse_range(value, "items") is None


def test_no_header() -> None:
    assert parse_range(None, "items") is None
    assert parse_range(None, None) is None


@pytest.mark.parametrize("value", ["1-0", "10-9", "100-1"])
def test_reversed_boundaries_are_416(value: str) -> None:
    with pytest.raises(errors.PgrstError) as caught:
        parse_range(value, "items")
    error = caught.value
    assert (error.code, error.status, error.message) == ("PGRST103", 416, "Requested range not satisfiable")
    assert error.details == (
        "The lower boundary must be lower than or equal to the upper boundary in the Range header."
    )


def test_reversed_boundaries_in_another_unit_are_ignored() -> None:
    assert parse_range("1-0", "bytes") is None


@pytest.mark.parametrize(
    ("offset", "rows", "total", "expected"),
    [
        (0, 10, 100, "0-9/100"),
        (0, 10, None, "0-9/*"),
        (0, 1, 1, "0-0/1"),
        (10, 5, None, "10-14/*"),
        (1, 2, 3, "1-2/3"),
        (0, 0, 0, "*/0"),
        (0, 0, None, "*/*"),
        (100, 0, 15, "*/15"),
    ],
)
def test_content_range(offset: int, rows: int, total: int | None, expected: str) -> None:
    assert content_range(offset, rows, total) == expected
