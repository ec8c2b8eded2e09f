"""pgrest_core: PostgREST's URL language compiled to one parameterized SQL statement.

Pure: no I/O and no database. The pipeline, each step one call:

    request = parse_request("GET", "/films", "year=gt.2000", headers, schemas=("public",))
    prepared = prepare(request, cache, Options(schemas=("public",)))   # plan + compile
    text, params = sql_and_params(prepared.statement)                   # run it with your driver
    response = respond(prepared, row)                                    # the result row -> Response

or all of it for a request line: `translate("GET /films?year=gt.2000", cache)`. A PgrstError
from any step becomes its response with `error_response`. A server answering many requests keeps
a `ShapeCache`: its `prepare_request` is parse + prepare, minus the work a repeated request shape
does not need. Schema caches come from a snapshot
(`load_snapshot`, `load_demo`), from DDL (`schema_from_ddl`) or from a live database
(`load_schema`, `load_schema_sync`: these need the `db` extra). `pgrest_core.runner.host` runs
prepared requests on a psycopg connection with PostgREST's transaction semantics. Everything
else stays importable but is not promised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pgrest_core.ast import ApiRequest
from pgrest_core.config import Settings
from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment, Placeholder
from pgrest_core.pipeline import Options, prepare, respond
from pgrest_core.prepared import Prepared, Response, ResponseRecipe, ResultRow
from pgrest_core.request.api_request import parse_request
from pgrest_core.response import error_response
from pgrest_core.schema.model import SchemaCache
from pgrest_core.schema.snapshot import dump_snapshot, load_demo, load_snapshot
from pgrest_core.shape_cache import ShapeCache
from pgrest_core.translate import translate
from pgrest_core.version import __version__

if TYPE_CHECKING:
    import psycopg

    from pgrest_core.auth import Authenticator, AuthResult


def sql_and_params(statement: Fragment, style: Placeholder = "psycopg") -> tuple[str, tuple[object, ...]]:
    """A statement's SQL text and its parameters, for a driver.

    `style="psycopg"` gives `%s` placeholders (a literal `%` doubled); `style="dollar"` gives
    `$1 … $n`, for asyncpg or PostgreSQL's PREPARE.
    """
    return statement.render(style), statement.params


async def load_schema(db: str | psycopg.AsyncConnection[Any], schemas: Sequence[str]) -> SchemaCache:
    """The schema cache of `schemas`, introspected from a live database (a URI or an open
    async psycopg connection). Needs psycopg (`pip install pgrest-compiler[db]`)."""
    import psycopg

    from pgrest_core.runner.introspect import load_schema_cache

    if not isinstance(db, str):
        return await load_schema_cache(db, tuple(schemas))
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        return await load_schema_cache(conn, tuple(schemas))


def load_schema_sync(db: str | psycopg.Connection[Any], schemas: Sequence[str]) -> SchemaCache:
    """`load_schema` for synchronous code (a URI or an open psycopg connection)."""
    import psycopg

    from pgrest_core.runner.introspect import load_schema_cache_sync

    if not isinstance(db, str):
        return load_schema_cache_sync(db, tuple(schemas))
    with psycopg.connect(db, autocommit=True) as conn:
        return load_schema_cache_sync(conn, tuple(schemas))


def schema_from_ddl(
    texts: str | Iterable[str], schemas: Sequence[str], search_path: Sequence[str] | None = None
) -> SchemaCache:
    """The schema cache of DDL text (CREATE TABLE/VIEW/FUNCTION …, one script or several in
    order, e.g. migrations), without a database. See pgrest_core/schema/ddl.py for what it reads;
    `read_ddl` there also returns the warnings for statements it skipped."""
    from pgrest_core.schema.ddl import schema_from_ddl as read  # sqlglot loads on first use

    return read(texts, schemas, search_path)


def __getattr__(name: str) -> Any:
    """`Authenticator` and `AuthResult` load on first use: JWT verification needs cryptography,
    which translating a request does not."""
    if name in ("Authenticator", "AuthResult"):
        from pgrest_core import auth

        return getattr(auth, name)
    raise AttributeError(f"module 'pgrest_core' has no attribute {name!r}")


__all__ = [
    "ApiRequest",
    "AuthResult",
    "Authenticator",
    "Fragment",
    "Options",
    "PgrstError",
    "Placeholder",
    "Prepared",
    "Response",
    "ResponseRecipe",
    "ResultRow",
    "SchemaCache",
    "ShapeCache",
    "Settings",
    "__version__",
    "dump_snapshot",
    "error_response",
    "load_demo",
    "load_schema",
    "load_schema_sync",
    "load_snapshot",
    "parse_request",
    "prepare",
    "respond",
    "schema_from_ddl",
    "sql_and_params",
    "translate",
]
