"""The pure pipeline in one place: request -> Prepared (SQL + recipe) -> Response.

    parse_request (request/)  ->  ApiRequest
    prepare (here)            ->  Prepared: plan against the schema cache, compile to one statement
    respond (response.py)     ->  Response from the statement's one result row

Servers (ours in asgi.py, or anyone's) call `prepare`, run `Prepared.statement` in a transaction
with their driver, and hand the row to `respond`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgrest_core import ast
from pgrest_core.errors import ApiRequestError
from pgrest_core.plan.negotiate import negotiate
from pgrest_core.plan.read import check_embed_filters, plan_read, top_level_page
from pgrest_core.plan.types import Prepared, Response, ResponseRecipe, ResultRow
from pgrest_core.response import respond_read
from pgrest_core.schema.model import QualifiedName, SchemaCache
from pgrest_core.sql.build_read import level_sql
from pgrest_core.sql.statement import explain_statement, read_statement


@dataclass(frozen=True, slots=True)
class Options:
    """The settings the pure stages need (a narrow view of config.Settings)."""

    schemas: tuple[str, ...] = ("public",)
    max_rows: int | None = None
    aggregates_enabled: bool = False
    plan_enabled: bool = False
    legacy_target_names: bool = True  # url-use-legacy-target-names


def _not_implemented(what: str) -> ApiRequestError:
    return ApiRequestError(
        "PGRST127", 400, "Feature not implemented", f"{what} is not implemented yet in pgrest."
    )


def prepare(request: ast.ApiRequest, cache: SchemaCache | None, options: Options) -> Prepared:
    """Plan and compile a request into one statement and its response recipe."""
    target = request.target
    if request.method not in ("GET", "HEAD"):
        raise _not_implemented(f"{request.method} requests")
    if not isinstance(target, ast.TableTarget):
        raise _not_implemented("RPC calls" if isinstance(target, ast.RoutineTarget) else "The root endpoint")
    schema = request.schema or options.schemas[0]
    return prepare_read(request, QualifiedName(schema, target.name), cache, options)


def prepare_read(
    request: ast.ApiRequest, relation: QualifiedName, cache: SchemaCache | None, options: Options
) -> Prepared:
    representation = negotiate(request.accept, plan_enabled=options.plan_enabled)
    query = request.query
    tree = plan_read(
        query,
        relation,
        cache,
        aggregates_enabled=options.aggregates_enabled,
        legacy_target_names=options.legacy_target_names,
    )
    check_embed_filters(query, tree, legacy_target_names=options.legacy_target_names)
    page = top_level_page(tree.limit, tree.offset, request.range, options.max_rows)
    tree = replace(tree, limit=page.limit, offset=page.offset)
    count = request.preferences.count
    count_sql = level_sql(tree, count_only=True) if count in ("exact", "estimated") else None
    head = request.method == "HEAD"
    statement = read_statement(level_sql(tree), count_sql, representation, head=head)
    body_format = representation.body_format
    if body_format == "plan":
        statement = explain_statement(statement, representation)
    recipe = ResponseRecipe(
        content_type=representation.content_type,
        body_format=body_format,
        offset=page.offset,
        count=count,
        head=head,
        max_rows=options.max_rows,
        preference_applied=(f"count={count}",) if count else (),
    )
    count_statement = level_sql(tree, count_only=True) if count in ("planned", "estimated") else None
    return Prepared(statement, recipe, read_only=True, count_statement=count_statement)


def respond(prepared: Prepared, row: ResultRow) -> Response:
    """The HTTP response for a prepared request's result row."""
    return respond_read(prepared.recipe, row)
