"""The wrapper statement: one row with the total count, the page count, the body and the
response GUCs, whatever the request.

    WITH pgrst_source AS (<the read>)
    SELECT <total> AS total_count, pg_catalog.count(_pgrst_t) AS page_count, <body> AS body,
           nullif(current_setting('response.headers', true), '') AS response_headers,
           nullif(current_setting('response.status', true), '') AS response_status
    FROM pgrst_source AS _pgrst_t
"""

from __future__ import annotations

from functools import lru_cache

from pgrest_core.fragment import Fragment, join, quote_ident, sql
from pgrest_core.plan.negotiate import Representation
from pgrest_core.schema.model import MediaHandler

_ROW = "_pgrst_t"
_GUCS = (
    "nullif(current_setting('response.headers', true), '') AS response_headers, "
    "nullif(current_setting('response.status', true), '') AS response_status"
)


def _row_json(representation: Representation) -> str:
    if representation.strip_nulls:
        return f"json_strip_nulls(row_to_json({_ROW}))"
    return _ROW


def _csv_body() -> str:
    """A CSV document as PostgREST writes it: the first row's keys, then one line per row.

    Each line is the row's record text without its parentheses, so values follow
    PostgreSQL's record output: written by their type's output function (booleans `t`/`f`),
    double-quoted when empty or holding a quote, backslash, parenthesis, comma or whitespace
    (quotes and backslashes doubled inside), and nothing at all for NULL. The header line is
    the keys as they are, comma-separated; with no rows the document is a single newline.
    """
    header = (
        f"(SELECT coalesce(string_agg(k, ','), '') FROM "
        f"json_object_keys((array_agg(row_to_json({_ROW})))[1]) AS k)"
    )
    line = f"substring({_ROW}::text, 2, length({_ROW}::text) - 2)"
    return f"{header} || E'\\n' || coalesce(string_agg({line}, E'\\n'), '')"


def media_value_sql(value: str, base_type: str) -> str:
    """A media type domain's value as the body's text. bytea goes as hex (the response decodes
    it back to bytes); jsonb as its binary wire format, a version byte 1 before the text, which
    is what PostgREST sends; xml as its output function prints it; any other value as text."""
    if base_type == "bytea":
        return f"encode({value}, 'hex')"
    if base_type == "jsonb":
        return f"chr(1) || ({value})::text"
    if base_type == "xml":
        return f"format('%s', {value})"  # its output function, which drops a first newline
    return f"({value})::text"


def _handler_body(handler: MediaHandler) -> str:
    """The handler aggregate over the rows: cast to the relation's row type when it is that
    relation's own handler, as they are (a record) for an `anyelement` one."""
    row = _ROW
    if handler.target is not None:
        row += "::" + quote_ident(handler.target.schema) + "." + quote_ident(handler.target.name)
    function = quote_ident(handler.function.schema) + "." + quote_ident(handler.function.name)
    return media_value_sql(f"{function}({row})", handler.base_type)


def body_sql(representation: Representation, *, head: bool) -> str:
    if head:
        return "NULL::text"
    if representation.handler is not None:
        return _handler_body(representation.handler)
    if representation.body_format == "object":
        return f"coalesce((json_agg({_row_json(representation)})->0)::text, '')"
    if representation.body_format == "csv":
        return _csv_body()
    if representation.body_format == "geojson":
        # PostGIS turns each row into a Feature: its geometry column, the rest as properties.
        return (
            "json_build_object('type', 'FeatureCollection', 'features', "
            f"coalesce(json_agg(ST_AsGeoJSON({_ROW})::json), '[]'))::text"
        )
    return f"coalesce(json_agg({_row_json(representation)}), '[]')::text"


def read_statement(
    source: Fragment, count: Fragment | None, representation: Representation, *, head: bool
) -> Fragment:
    total = join("", (_COUNT_OPEN, count, _COUNT_CLOSE)) if count else _NULL
    return join("", (_SOURCE_OPEN, source, _SOURCE_CLOSE, total, _read_tail(representation, head)))


_COUNT_OPEN = sql("(SELECT pg_catalog.count(*) FROM (")
_COUNT_CLOSE = sql(") AS pgrst_count)")
_NULL = sql("NULL")
_SOURCE_OPEN = sql("WITH pgrst_source AS (")
_SOURCE_CLOSE = sql(") SELECT ")


@lru_cache(maxsize=256)
def _read_tail(representation: Representation, head: bool) -> Fragment:
    """The read wrapper's columns after the total: the same few texts over and over, so cached
    (representations are immutable, and their media handlers come from the schema cache)."""
    return sql(
        f"::bigint AS total_count, pg_catalog.count({_ROW}) AS page_count, "
        f"{body_sql(representation, head=head)} AS body, {_GUCS} FROM pgrst_source AS {_ROW}"
    )


def explain_statement(statement: Fragment, representation: Representation) -> Fragment:
    """`EXPLAIN (…)` of a statement, for `Accept: application/vnd.pgrst.plan`."""
    allowed = {"analyze", "verbose", "settings", "buffers", "wal"}
    options = [o.upper() for o in representation.plan_options if o in allowed]
    options.append("FORMAT TEXT" if representation.plan_text else "FORMAT JSON")
    return sql(f"EXPLAIN ({', '.join(options)}) ") + statement


# --- function calls (/rpc/fn) -----------------------------------------------------------------

SCALAR_COLUMN = "pgrst_scalar"  # the column holding a scalar function's result


def call_statement(call: Fragment | None, source: Fragment, count: Fragment | None, body: str) -> Fragment:
    """The wrapper of a function call: the call runs once, in the `pgrst_call` CTE (or in
    `source` itself when `call` is None).

        WITH pgrst_call AS (<call>), pgrst_source AS (<source: reads pgrst_call>)
        SELECT <total>, <page count>, <body>, <GUCs> FROM pgrst_source AS _pgrst_t

    `count` (reading `pgrst_call` too) counts the rows before the page; `body` is one of the
    `*_body` expressions below.
    """
    total = (
        sql("(SELECT pg_catalog.count(*) FROM (") + count + sql(") AS pgrst_count)") if count else sql("NULL")
    )
    ctes = sql("WITH ") if call is None else sql("WITH pgrst_call AS (") + call + sql("), ")
    return (
        ctes
        + sql("pgrst_source AS (")
        + source
        + sql(") SELECT ")
        + total
        + sql(
            f"::bigint AS total_count, pg_catalog.count({_ROW}) AS page_count, "
            f"{body} AS body, {_GUCS} FROM pgrst_source AS {_ROW}"
        )
    )


def single_row_body(representation: Representation, *, head: bool) -> str:
    """A function returning one composite value: that row as an object (`null` when none)."""
    if head:
        return "NULL::text"
    return f"coalesce((json_agg({_row_json(representation)})->0)::text, 'null')"


def scalar_body(*, set_of: bool, head: bool, media_base_type: str | None = None) -> str:
    """A scalar function's value as JSON, a set of them as an array, or, for a media type
    (`media_base_type`: the type of the value sent raw), the value itself (media_value_sql)."""
    value = f"{_ROW}.{SCALAR_COLUMN}"
    if head:
        return "NULL::text"
    if media_base_type is not None:
        return media_value_sql(f"(pg_catalog.array_agg({value}))[1]", media_base_type)
    if set_of:
        return f"coalesce(json_agg({value}), '[]')::text"
    return f"coalesce((json_agg({value})->0)::text, 'null')"


def mutation_statement(
    mutation: Fragment,
    rows: Fragment,
    representation: Representation | None,
    *,
    location_columns: tuple[str, ...] = (),
    inserted: Fragment | None = None,
) -> Fragment:
    """The wrapper of a write: the mutation as the `pgrst_source` CTE, one result row.

    `rows` is what the response reads from `pgrst_source`: the representation's SELECT, or
    `SELECT * FROM pgrst_source` when there is no body (None). `location_columns` (headers-only
    inserts) give a JSON array of the one inserted row's key values as text; `inserted` (an expression
    over `pgrst_source`) counts the rows an upsert inserted rather than updated.
    """
    body = body_sql(representation, head=False) if representation is not None else "NULL::text"
    location = "NULL::text"
    if location_columns:
        values = ", ".join(f"{_ROW}.{quote_ident(c)}::text" for c in location_columns)
        location = (
            f"CASE WHEN pg_catalog.count({_ROW}) = 1 "
            f"THEN (pg_catalog.array_agg(json_build_array({values})::text))[1] END"
        )
    return (
        sql("WITH pgrst_source AS (")
        + mutation
        + sql(") SELECT NULL::bigint AS total_count, ")
        + sql(f"pg_catalog.count({_ROW}) AS page_count, {body} AS body, {_GUCS}, ")
        + sql(f"{location} AS location, ")
        + (inserted if inserted is not None else sql("NULL::bigint"))
        + sql(" AS inserted FROM (")
        + rows
        + sql(f") AS {_ROW}")
    )
