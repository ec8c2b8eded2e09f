"""The respond stage: status, Content-Range and errors from the result row."""

from __future__ import annotations

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.prepared import ResponseRecipe, ResultRow
from pgrest_core.response import respond_read

JSON = ResponseRecipe(content_type="application/json; charset=utf-8", body_format="json")


def row(page: int, total: int | None = None, body: str = "[]", **kw: str) -> ResultRow:
    return ResultRow(total_count=total, page_count=page, body=body, **kw)  # type: ignore[arg-type]


def test_plain_read_is_200_with_open_total() -> None:
    response = respond_read(JSON, row(2, body='[{"a":1},{"a":2}]'))
    assert response.status == 200
    assert ("Content-Range", "0-1/*") in response.headers
    assert response.body == b'[{"a":1},{"a":2}]'


def test_partial_page_with_exact_count_is_206() -> None:
    recipe = ResponseRecipe(content_type="application/json", body_format="json", count="exact", offset=2)
    response = respond_read(recipe, row(2, total=10))
    assert (response.status, dict(response.headers)["Content-Range"]) == (206, "2-3/10")


def test_offset_past_the_end_is_416() -> None:
    recipe = ResponseRecipe(content_type="application/json", body_format="json", count="exact", offset=100)
    with pytest.raises(PgrstError) as raised:
        respond_read(recipe, row(0, total=15))
    assert raised.value.body() == {
        "code": "PGRST103",
        "message": "Requested range not satisfiable",
        "details": "An offset of 100 was requested, but there are only 15 rows.",
        "hint": None,
    }


@pytest.mark.parametrize("page", [0, 2])
def test_singular_needs_exactly_one_row(page: int) -> None:
    recipe = ResponseRecipe(content_type="application/vnd.pgrst.object+json", body_format="object")
    with pytest.raises(PgrstError) as raised:
        respond_read(recipe, row(page))
    assert (raised.value.code, raised.value.status, raised.value.details) == (
        "PGRST116",
        406,
        f"The result contains {page} rows",
    )


def test_response_gucs_override_status_and_headers() -> None:
    response = respond_read(
        JSON,
        row(
            1, response_headers='[{"X-Custom": "yes"}, {"Content-Type": "text/plain"}]', response_status="202"
        ),
    )
    assert response.status == 202
    assert ("X-Custom", "yes") in response.headers
    assert dict(response.headers)["Content-Type"] == "text/plain"


@pytest.mark.parametrize("raw", ["nope", '{"a": "b"}', '[{"a": 1}]', '[{"a": "b", "c": "d"}]'])
def test_bad_response_headers_guc_is_pgrst111(raw: str) -> None:
    with pytest.raises(PgrstError) as raised:
        respond_read(JSON, row(1, response_headers=raw))
    assert raised.value.code == "PGRST111"


@pytest.mark.parametrize("raw", ["abc", "99", "600"])
def test_bad_response_status_guc_is_pgrst112(raw: str) -> None:
    with pytest.raises(PgrstError) as raised:
        respond_read(JSON, row(1, response_status=raw))
    assert raised.value.code == "PGRST112"


def test_head_has_no_body() -> None:
    recipe = ResponseRecipe(content_type="application/json", body_format="json", head=True)
    assert respond_read(recipe, row(1, body="[1]")).body == b""


def test_content_location_sorts_the_query_by_name() -> None:
    from pgrest_core.response import canonical_location

    assert canonical_location("/no_pk", (("b", "eq.1"), ("a", "eq.1"))) == "/no_pk?a=eq.1&b=eq.1"
    assert canonical_location("/t", (("x", "in.(1,2)"), ("x", "gt.0"))) == "/t?x=in.%281%2C2%29&x=gt.0"
    assert canonical_location("/simple_pk", ()) == "/simple_pk"
