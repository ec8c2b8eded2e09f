"""The compiled-shape cache answers exactly what a fresh compile answers.

For generated read requests (tests/property/compile_strategies.py), one shape is sent with three
sets of values through one ShapeCache: a miss, the sighting that builds the template, and a hit.
Each result must equal `prepare` on the same request: statement text and parameters, count
statement, recipe (Content-Location included) and access mode.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pgrest_core import shape_cache
from pgrest_core.ast import ApiRequest
from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.unparse import unparse_query
from pgrest_core.schema.model import SchemaCache
from pgrest_core.shape_cache import ShapeCache
from tests.property.compile_strategies import CACHE, ReadRequest, read_requests
from tests.property.test_compile_properties import filled_requests

OPTIONS = Options(aggregates_enabled=True)
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


def parsed(request: ReadRequest) -> ApiRequest:
    return parse_request(
        "GET", f"/{request.table}", unparse_query(request.query), request.headers, schemas=("public",)
    )


@st.composite
def one_shape_three_times(draw: st.DrawFn) -> list[ReadRequest]:
    shape = draw(read_requests())
    # Limits and offsets are part of a shape's key: keep them the same in all three.
    first = draw(filled_requests(shape))[0]
    others = [draw(filled_requests(shape))[0] for _ in range(2)]
    return [first] + [
        replace(other, query=replace(other.query, ranges=first.query.ranges)) for other in others
    ]


@SETTINGS
@given(one_shape_three_times())
def test_cached_and_fresh_compiles_are_identical(requests: list[ReadRequest]) -> None:
    shapes = ShapeCache()
    for request in requests:
        api_request = parsed(request)
        try:
            fresh = prepare(api_request, CACHE, OPTIONS)
        except PgrstError:
            assume(False)
            raise
        assert shapes.prepare(api_request, CACHE, OPTIONS) == fresh


class CountingCompiles:
    """Counts the compiles ShapeCache makes (calls of pipeline.prepare from its module)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0

        def counting(*args: Any) -> Any:
            self.calls += 1
            return prepare(*args)

        monkeypatch.setattr(shape_cache, "prepare", counting)


def films(query: str) -> ApiRequest:
    return parse_request("GET", "/films", query, (), schemas=("public",))


def test_a_repeated_shape_is_served_from_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    compiles = CountingCompiles(monkeypatch)
    shapes = ShapeCache()
    results = [shapes.prepare(films(f"select=id,title&id=eq.{v}"), CACHE, OPTIONS) for v in "1234"]
    # miss (1 compile), template (2: real + sentinels), then hits (0 each).
    assert compiles.calls == 3
    assert [r.statement.params for r in results] == [("1",), ("2",), ("3",), ("4",)]
    assert results[3] == prepare(films("select=id,title&id=eq.4"), CACHE, OPTIONS)


def test_a_transformed_value_makes_the_shape_uncacheable(monkeypatch: pytest.MonkeyPatch) -> None:
    compiles = CountingCompiles(monkeypatch)
    shapes = ShapeCache()
    for value in ("a*", "b*", "c*", "d*"):
        request = films(f"title=like.{value}")
        assert shapes.prepare(request, CACHE, OPTIONS) == prepare(request, CACHE, OPTIONS)
    assert compiles.calls == 5  # the probe proved the mapping inexact: every request compiles


def test_a_new_schema_cache_empties_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    compiles = CountingCompiles(monkeypatch)
    shapes = ShapeCache()
    for value in "12":
        shapes.prepare(films(f"id=eq.{value}"), CACHE, OPTIONS)
    reloaded = SchemaCache(schemas=CACHE.schemas, tables=CACHE.tables, relationships=CACHE.relationships)
    shapes.prepare(films("id=eq.3"), reloaded, OPTIONS)
    assert compiles.calls == 4  # no hit on the template built against the old schema cache


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = ShapeCache(capacity=3)
    for column in ("id", "title", "year", "genre", "rating"):
        shapes.prepare(films(f"{column}=eq.1"), CACHE, OPTIONS)
    assert len(shapes) == 3


def test_a_pattern_without_a_star_does_not_make_a_template(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first sightings' patterns pass through unchanged (no `*`), a later one does not: the
    # sentinel probe must still see that `like` transforms its value.
    shapes = ShapeCache()
    for value in ("a", "b", "c*", "d"):
        request = films(f"title=like.{value}&id=eq.1")
        assert shapes.prepare(request, CACHE, OPTIONS) == prepare(request, CACHE, OPTIONS)
