"""OPTIONS: which methods a resource allows, answered from the schema cache alone (no SQL).

Tables and views allow what their insertable/updatable/deletable flags say; PUT also needs a
primary key (it upserts by it). Functions allow POST, and GET/HEAD too unless they are
VOLATILE (those run only in read-write transactions). The root allows GET and HEAD.
"""

from __future__ import annotations

from pgrest_core import ast
from pgrest_core.errors import SchemaCacheError
from pgrest_core.plan.relationships import table_not_found
from pgrest_core.prepared import Response
from pgrest_core.schema.model import QualifiedName, SchemaCache, Table


def table_methods(table: Table) -> tuple[str, ...]:
    methods = ["OPTIONS", "GET", "HEAD"]
    if table.insertable:
        methods.append("POST")
    if table.insertable and table.updatable and table.primary_key:
        methods.append("PUT")
    if table.updatable:
        methods.append("PATCH")
    if table.deletable:
        methods.append("DELETE")
    return tuple(methods)


def allowed_methods(request: ast.ApiRequest, cache: SchemaCache, schema: str) -> tuple[str, ...]:
    """The `Allow` header's methods for the request's target; PGRST205/PGRST202 when unknown."""
    target = request.target
    if isinstance(target, ast.RootTarget):
        return ("OPTIONS", "GET", "HEAD")
    if isinstance(target, ast.TableTarget):
        table = cache.table(schema, target.name)
        if table is None:
            raise table_not_found(cache, schema, target.name)
        return table_methods(table)
    overloads = cache.routines.get(QualifiedName(schema, target.name), ())
    if not overloads:
        raise SchemaCacheError(
            "PGRST202",
            404,
            f"Could not find the function {schema}.{target.name} in the schema cache",
        )
    if all(routine.volatility == "volatile" for routine in overloads):
        return ("OPTIONS", "POST")
    return ("OPTIONS", "GET", "HEAD", "POST")


def options_response(request: ast.ApiRequest, cache: SchemaCache, schemas: tuple[str, ...]) -> Response:
    methods = allowed_methods(request, cache, request.schema or schemas[0])
    return Response(200, (("Allow", ",".join(methods)),), b"")
