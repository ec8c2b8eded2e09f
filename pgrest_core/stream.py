"""Streamed reads: a large response sent as the database produces it, never held whole.

    streamed = prepare_stream(request, cache, options)   # None: this request is not streamed
    streamed.rows                                       # one text value per row, in page order
    streamed.opening, streamed.separator, streamed.closing

The usual statement builds the whole body in one value (json_agg), which costs memory in the
database, the driver and the server in proportion to the response. A streamed read instead
selects each row's JSON (or GeoJSON Feature) text; the runner fetches them in batches through
a server-side cursor and the server writes them out between an opening and a closing.

Only what can be answered before the first row is known streams: GET reads of JSON arrays and
GeoJSON collections, without `Prefer: count=…`, singular objects, plans, CSV or media type
handlers. What changes for a streamed response:

- the status and headers go out first: no `Content-Range` (the row count is not known yet) and
  no `Content-Length` (the body is sent chunked);
- `response.headers`/`response.status` set by the pre-request function still apply; set by a
  function evaluated per row, they come too late and are ignored;
- an error after the first byte cannot change the status: the connection is closed before the
  body is complete, so a client sees a truncated (invalid) JSON document, never a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgrest_core import ast
from pgrest_core.fragment import Fragment, sql
from pgrest_core.pipeline import Options
from pgrest_core.plan.negotiate import negotiate
from pgrest_core.plan.read import check_embed_filters, plan_read, top_level_page
from pgrest_core.response import VARY, read_preferences_applied
from pgrest_core.schema.model import QualifiedName, SchemaCache
from pgrest_core.sql.build_read import level_sql

_ROW = "_pgrst_t"
# Each row's text, by body format (json_strip_nulls for `nulls=stripped`).
_ROW_TEXT = {
    "json": f"row_to_json({_ROW})::text",
    "json_stripped": f"json_strip_nulls(row_to_json({_ROW}))::text",
    "geojson": f"ST_AsGeoJSON({_ROW})",
}
_FRAMES = {
    "json": (b"[", b",", b"]"),
    "geojson": (b'{"type":"FeatureCollection","features":[', b",", b"]}"),
}


@dataclass(frozen=True, slots=True)
class StreamedRead:
    """A read to stream: the rows statement and how to frame its rows into a body."""

    rows: Fragment  # SELECT <row text> FROM (<the page>) — one text column
    content_type: str
    opening: bytes
    separator: bytes
    closing: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def frame(self, rows: list[str], *, first: bool) -> bytes:
        """A batch of rows as body bytes; `first` when no row has been written before."""
        if not rows:
            return b""
        joined = self.separator.join(row.encode() for row in rows)
        return joined if first else self.separator + joined


def prepare_stream(
    request: ast.ApiRequest, cache: SchemaCache | None, options: Options
) -> StreamedRead | None:
    """The streamed form of a read, or None when the request must be answered whole."""
    target = request.target
    if request.method != "GET" or not isinstance(target, ast.TableTarget):
        return None
    if request.preferences.count is not None:
        return None  # a count needs every row before the first byte (Content-Range)
    if cache is not None and cache.media_handlers:
        return None  # a handler aggregates the rows itself
    representation = negotiate(request.accept, plan_enabled=options.plan_enabled)
    kind = representation.body_format
    if kind not in _FRAMES:
        return None
    relation = QualifiedName(request.schema or options.schemas[0], target.name)
    tree = plan_read(
        request.query,
        relation,
        cache,
        aggregates_enabled=options.aggregates_enabled,
        legacy_target_names=options.legacy_target_names,
    )
    check_embed_filters(request.query, tree, legacy_target_names=options.legacy_target_names)
    page = top_level_page(tree.limit, tree.offset, request.range, options.max_rows)
    tree = replace(tree, limit=page.limit, offset=page.offset)
    row_text = _ROW_TEXT["json_stripped" if representation.strip_nulls else kind]
    rows = sql(f"SELECT {row_text} FROM (") + level_sql(tree) + sql(f") AS {_ROW}")
    opening, separator, closing = _FRAMES[kind]
    applied = read_preferences_applied(request.preferences)
    headers = (VARY, *((("Preference-Applied", ", ".join(applied)),) if applied else ()))
    return StreamedRead(rows, representation.content_type, opening, separator, closing, headers)


__all__ = ["StreamedRead", "prepare_stream"]
