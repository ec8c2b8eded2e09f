"""Loading the schema cache from a live database.

`load_schema_cache` (async) and `load_schema_cache_sync` run the one catalog query of
`pgrest_core.schema.introspect_sql` and hand its JSON to the pure derivation
`pgrest_core.schema.derive.build_schema_cache` (relationships, view tracing, computed fields).
Only the catalog I/O lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pgrest_core.fragment import quote_ident
from pgrest_core.schema.derive import build_schema_cache, view_column_sources
from pgrest_core.schema.introspect_sql import CATALOG_QUERY, SET_SEARCH_PATH
from pgrest_core.schema.model import SchemaCache

if TYPE_CHECKING:
    import psycopg

__all__ = ["build_schema_cache", "load_schema_cache", "load_schema_cache_sync", "view_column_sources"]


# -- running the query ------------------------------------------------------------------------


def _search_path(schemas: Sequence[str]) -> str:
    return ", ".join(quote_ident(schema) for schema in schemas)


async def load_schema_cache(conn: psycopg.AsyncConnection[Any], schemas: Sequence[str]) -> SchemaCache:
    async with conn.transaction(), conn.cursor() as cur:
        await cur.execute(SET_SEARCH_PATH, {"search_path": _search_path(schemas)})
        await cur.execute(CATALOG_QUERY, {"schemas": list(schemas)})
        row = await cur.fetchone()
    assert row is not None
    return build_schema_cache(row[0], schemas)


def load_schema_cache_sync(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> SchemaCache:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SET_SEARCH_PATH, {"search_path": _search_path(schemas)})
        cur.execute(CATALOG_QUERY, {"schemas": list(schemas)})
        row = cur.fetchone()
    assert row is not None
    return build_schema_cache(row[0], schemas)
