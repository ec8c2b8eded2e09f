"""A request answered from its raw shape equals the same request parsed and compiled fresh.

For generated read requests (tests/property/compile_strategies.py), one shape is sent with four
sets of values through one ShapeCache the way the server sends it: first `prepare_raw` (a
request whose raw shape is linked answers without parsing), else parse + `prepare` with the raw
shape. Whichever answers must equal `prepare` on the parsed request, and the request head must
be the parsed request's.
"""

from __future__ import annotations

import re
import urllib.parse

from hypothesis import given

from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.raw_shape import raw_shape
from pgrest_core.request.unparse import unparse_query
from pgrest_core.shape_cache import ShapeCache
from tests.property.compile_strategies import CACHE, ReadRequest
from tests.property.test_shape_cache import OPTIONS, SETTINGS, one_shape_three_times


def query_string(request: ReadRequest, *, encoded: bool) -> str:
    query = unparse_query(request.query)
    if not encoded:
        return query
    # As an HTTP client sends it: everything outside printable ASCII percent-encoded.
    return re.sub(r"[^\x21-\x7e]+", lambda m: urllib.parse.quote(m.group()), query)


@SETTINGS
@given(one_shape_three_times())
def test_raw_shape_answers_equal_fresh_compiles(requests: list[ReadRequest]) -> None:
    shapes = ShapeCache()
    for index, request in enumerate(requests + requests[:1]):
        query = query_string(request, encoded=index % 2 == 1)
        headers = [(name.lower(), value) for name, value in request.headers] + [("x-trace", str(index))]
        path = f"/{request.table}"
        try:
            parsed = parse_request("GET", path, query, headers, schemas=OPTIONS.schemas)
            fresh = prepare(parsed, CACHE, OPTIONS)
        except PgrstError:
            return  # an invalid request is never linked (nothing to compare)
        raw = raw_shape("GET", path, query, headers)
        hit = shapes.prepare_raw(raw, headers, CACHE, OPTIONS)
        if hit is None:
            assert shapes.prepare(parsed, CACHE, OPTIONS, raw) == fresh
            continue
        head, prepared = hit
        assert prepared == fresh
        assert head.method == parsed.method and head.target == parsed.target
        assert head.schema == parsed.schema and head.preferences == parsed.preferences
        assert head.headers == parsed.headers and head.cookies == parsed.cookies
