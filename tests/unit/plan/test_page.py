"""The top level's page (limit, offset, Range header, db-max-rows) and limit/offset values,
with PostgREST 16's edge cases."""

from __future__ import annotations

import pytest

from pgrest_core.ast import RangeHeader
from pgrest_core.errors import PgrstError
from pgrest_core.plan.read import Page, top_level_page
from pgrest_core.request.query import parse_query_params, range_number


@pytest.mark.parametrize(
    ("limit", "offset", "header", "max_rows", "page"),
    [
        (None, None, None, None, Page(0, None)),
        (3, None, None, None, Page(0, 3)),
        (3, 2, None, None, Page(2, 3)),
        (None, 5, None, None, Page(5, None)),
        (0, None, None, None, Page(0, 0)),  # limit=0: no rows
        (0, 0, None, None, Page(0, 0)),
        (None, -4, None, None, Page(0, None)),  # a negative offset is a no-op
        (2, -1, None, None, Page(0, 1)),  # rows -1..0, of which row 0 exists
        (1, -1, None, None, Page(0, 0)),  # rows -1..-1: PostgREST's limit-zero page
        (3, None, RangeHeader(0, 2), None, Page(0, 2)),  # the header narrows the limit
        (2, None, RangeHeader(1, 5), None, Page(1, 1)),  # rows 0..1 and 1..5: row 1
        (None, 2, RangeHeader(0, 5), None, Page(2, 3)),
        (0, None, RangeHeader(0, 6), None, Page(0, 0)),  # limit=0 wins over the header
        (None, None, RangeHeader(4, None), None, Page(4, None)),
        (None, None, None, 2, Page(0, 2)),  # db-max-rows
        (5, 1, None, 2, Page(1, 2)),
        (1, None, None, 2, Page(0, 1)),
        (None, None, RangeHeader(3, 10), 4, Page(3, 4)),
    ],
)
def test_pages(
    limit: int | None, offset: int | None, header: RangeHeader | None, max_rows: int | None, page: Page
) -> None:
    assert top_level_page(limit, offset, header, max_rows) == page


@pytest.mark.parametrize(
    ("limit", "offset", "header"),
    [
        (-1, None, None),  # a negative limit
        (-1, 2, None),
        (-5, -1, None),
        (0, 2, None),  # rows 2..1: PostgREST's limit-zero exemption is only for rows ..-1
        (5, None, RangeHeader(10, 5)),  # a header past the limit
    ],
)
def test_nothing_left_is_pgrst103(limit: int, offset: int | None, header: RangeHeader | None) -> None:
    with pytest.raises(PgrstError) as caught:
        top_level_page(limit, offset, header, None)
    error = caught.value
    assert (error.code, error.status, error.message, error.details) == (
        "PGRST103",
        416,
        "Requested range not satisfiable",
        "Limit should be greater than or equal to zero.",
    )


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("10", 10),
        ("0", 0),
        ("-1", -1),
        (" 7 ", 7),
        ("007", 7),
        ("x", None),
        ("1.5", None),
        ("+2", None),
        ("", None),
        ("--1", None),
        ("1x", None),
        ("²", None),
    ],
)
def test_limit_and_offset_values_read_as_integers(text: str, number: int | None) -> None:
    assert range_number(text) == number


def test_a_limit_that_is_not_an_integer_is_ignored_like_in_postgrest() -> None:
    query = parse_query_params((("limit", "abc"), ("offset", "2"), ("films.limit", "-1")))
    assert {(r.path, r.limit, r.offset) for r in query.ranges} == {((), None, 2), (("films",), -1, None)}
