"""Raw shapes: a repeated read is answered without parsing, and only when that is provably right."""

from __future__ import annotations

from typing import Any

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request import api_request
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.raw_shape import raw_shape
from pgrest_core.schema.model import SchemaCache
from pgrest_core.shape_cache import ShapeCache
from tests.property.compile_strategies import CACHE
from tests.property.test_shape_cache import CountingCompiles

OPTIONS = Options()
Headers = list[tuple[str, str]]


class Counting(CountingCompiles):
    """Counts parses (`parse`, which `serve` calls) and compiles (`calls`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch)
        self.parses = 0

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        self.parses += 1
        return api_request.parse_request(*args, **kwargs)


def serve(
    shapes: ShapeCache, counting: Counting, query: str, headers: Headers | None = None, cache: SchemaCache = CACHE
) -> Any:
    """The server's way: the raw shape first, else parse and prepare (linking the raw shape)."""
    headers = headers or []
    raw = raw_shape("GET", "/films", query, headers)
    hit = shapes.prepare_raw(raw, headers, cache, OPTIONS)
    if hit is not None:
        return hit
    request = counting.parse("GET", "/films", query, headers, schemas=OPTIONS.schemas)
    return request, shapes.prepare(request, cache, OPTIONS, raw)


def fresh(query: str, headers: Headers | None = None) -> Any:
    return prepare(parse_request("GET", "/films", query, headers or []), CACHE, OPTIONS)


def test_a_repeated_read_is_neither_parsed_nor_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(monkeypatch)
    shapes = ShapeCache()
    answers = [serve(shapes, counting, f"select=id,title&id=eq.{value}&order=id") for value in range(6)]
    # 1: miss; 2: the template (two compiles); 3: template hit that links the raw shape; 4-6: raw.
    assert counting.parses == 3 and counting.calls == 3
    for value, (_request, prepared) in enumerate(answers):
        assert prepared == fresh(f"select=id,title&id=eq.{value}&order=id")


def test_percent_encoded_values_are_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(monkeypatch)
    shapes = ShapeCache()
    for query in ("title=eq.a", "title=eq.b", "title=eq.c", "title=eq.x%26y+z%2E", "title=eq.%E2%82%AC"):
        _head, prepared = serve(shapes, counting, query)
        assert prepared == fresh(query)
    assert counting.parses == 3
    assert prepared.statement.params == ("€",)


def test_headers_that_shape_the_request_are_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(monkeypatch)
    shapes = ShapeCache()
    for value in range(4):
        serve(shapes, counting, f"id=eq.{value}")
    parses = counting.parses
    _head, prepared = serve(shapes, counting, "id=eq.9", [("prefer", "count=exact")])
    assert counting.parses == parses + 1  # another shape: parsed
    assert prepared == fresh("id=eq.9", [("prefer", "count=exact")])
    # Other headers and cookies reach the head, not the key.
    head, _prepared = serve(shapes, counting, "id=eq.9", [("x-a", "1"), ("cookie", "k=v; j=w")])
    assert counting.parses == parses + 1
    assert head.headers == (("x-a", "1"),) and head.cookies == (("k", "v"), ("j", "w"))


@pytest.mark.parametrize(
    "query",
    [
        "id=not.eq.{v}",  # the parser takes `not.` apart; the raw split keeps it whole
        "or=(id.eq.{v},id.eq.2)",  # logic trees are shape, values and all
        "id=eq.{v}&or=(id.eq.{v})",  # equal values in the tree must not fool the link
    ],
)
def test_shapes_the_raw_split_does_not_mirror_are_parsed_every_time(
    monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    counting = Counting(monkeypatch)
    shapes = ShapeCache()
    for value in range(5):
        _head, prepared = serve(shapes, counting, query.format(v=value))
        assert prepared == fresh(query.format(v=value))
    assert counting.parses == 5


def test_a_nul_in_a_value_is_parsed_and_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(monkeypatch)
    shapes = ShapeCache()
    for value in range(4):
        serve(shapes, counting, f"id=eq.{value}")
    with pytest.raises(PgrstError) as caught:
        serve(shapes, counting, "id=eq.1%00")
    assert caught.value.code == "PGRST100"


def test_a_new_schema_cache_unlinks_raw_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(monkeypatch)
    shapes = ShapeCache()
    for value in range(4):
        serve(shapes, counting, f"id=eq.{value}")
    reloaded = SchemaCache(schemas=CACHE.schemas, tables=CACHE.tables, relationships=CACHE.relationships)
    parses = counting.parses
    serve(shapes, counting, "id=eq.7", cache=reloaded)
    assert counting.parses == parses + 1


def test_raw_links_are_bounded() -> None:
    shapes = ShapeCache(capacity=2)
    for column in ("id", "title", "year", "genre"):
        for value in range(3):
            query = f"{column}=eq.{value}"
            raw = raw_shape("GET", "/films", query, [])
            request = parse_request("GET", "/films", query, [])
            shapes.prepare(request, CACHE, OPTIONS, raw)
    assert len(shapes._raw) == 2
