"""The wrapper statement: one row with the total count, the page count, the body and the
response GUCs, whatever the request.

    WITH pgrst_source AS (<the read>)
    SELECT <total> AS total_count, pg_catalog.count(_pgrst_t) AS page_count, <body> AS body,
           nullif(current_setting('response.headers', true), '') AS response_headers,
           nullif(current_setting('response.status', true), '') AS response_status
    FROM pgrst_source AS _pgrst_t
"""

from __future__ import annotations

from pgrest_core.plan.negotiate import Representation
from pgrest_core.sql.fragment import Fragment, sql

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
    """A CSV document: a header from the first row's keys, then one line per row.

    json_each_text keeps a `json` object's key order, so columns come out as selected.
    Values holding a comma, quote or line break are quoted, quotes doubled; NULL is empty.
    """
    cell = (
        "CASE WHEN v.value IS NULL THEN '' "
        "WHEN v.value ~ '[,\"\\n\\r]' THEN '\"' || replace(v.value, '\"', '\"\"') || '\"' "
        "ELSE v.value END"
    )
    line = f"(SELECT string_agg({cell}, ',') FROM json_each_text(row_to_json({_ROW})) AS v)"
    header_cell = "CASE WHEN k ~ '[,\"\\n\\r]' THEN '\"' || replace(k, '\"', '\"\"') || '\"' ELSE k END"
    header = (
        f"(SELECT string_agg({header_cell}, ',') FROM "
        f"json_object_keys((array_agg(row_to_json({_ROW})))[1]) AS k)"
    )
    return f"coalesce({header} || E'\\n', '') || coalesce(string_agg({line}, E'\\n'), '')"


def body_sql(representation: Representation, *, head: bool) -> str:
    if head:
        return "NULL::text"
    if representation.body_format == "object":
        return f"coalesce((json_agg({_row_json(representation)})->0)::text, '')"
    if representation.body_format == "csv":
        return _csv_body()
    return f"coalesce(json_agg({_row_json(representation)}), '[]')::text"


def read_statement(
    source: Fragment, count: Fragment | None, representation: Representation, *, head: bool
) -> Fragment:
    total = (
        sql("(SELECT pg_catalog.count(*) FROM (") + count + sql(") AS pgrst_count)") if count else sql("NULL")
    )
    return (
        sql("WITH pgrst_source AS (")
        + source
        + sql(") SELECT ")
        + total
        + sql(
            f"::bigint AS total_count, pg_catalog.count({_ROW}) AS page_count, "
            f"{body_sql(representation, head=head)} AS body, {_GUCS} FROM pgrst_source AS {_ROW}"
        )
    )


def explain_statement(statement: Fragment, representation: Representation) -> Fragment:
    """`EXPLAIN (…)` of a statement, for `Accept: application/vnd.pgrst.plan`."""
    allowed = {"analyze", "verbose", "settings", "buffers", "wal"}
    options = [o.upper() for o in representation.plan_options if o in allowed]
    options.append("FORMAT TEXT" if representation.plan_text else "FORMAT JSON")
    return sql(f"EXPLAIN ({', '.join(options)}) ") + statement
