"""The pure pipeline in one place: request -> Prepared (SQL + recipe) -> Response.

    parse_request (request/)  ->  ApiRequest
    prepare (here)            ->  Prepared: plan against the schema cache, compile to one statement
    respond (response.py)     ->  Response from the statement's one result row

Servers (ours in pgrest_server/app.py, or anyone's) call `prepare`, run `Prepared.statement` in a transaction
with their driver, and hand the row to `respond`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote

from pgrest_core import ast
from pgrest_core.errors import ApiRequestError
from pgrest_core.fragment import Fragment, ident, sql
from pgrest_core.plan.call import plan_call
from pgrest_core.plan.mutate import PlannedMutation, plan_mutation
from pgrest_core.plan.negotiate import Handlers, is_default_select, negotiate, negotiate_call
from pgrest_core.plan.read import check_embed_filters, plan_read, top_level_page
from pgrest_core.prepared import Prepared, Response, ResponseRecipe, ResultRow
from pgrest_core.request.preferences import preference_items
from pgrest_core.response import (
    canonical_location,
    legacy_names_warning,
    read_preferences_applied,
    respond_mutation,
    respond_no_content,
    respond_read,
    with_warning,
)
from pgrest_core.schema.model import QualifiedName, SchemaCache
from pgrest_core.sql import build_call
from pgrest_core.sql.build_mutate import inserted_count_sql, mutation_sql
from pgrest_core.sql.build_read import level_sql
from pgrest_core.sql.statement import call_statement, explain_statement, mutation_statement, read_statement


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
    if isinstance(target, ast.RoutineTarget):
        return prepare_call(request, cache, options)
    if request.method in WRITE_METHODS and isinstance(target, ast.TableTarget):
        schema = request.schema or options.schemas[0]
        return prepare_mutation(request, QualifiedName(schema, target.name), cache, options)
    if request.method not in ("GET", "HEAD"):  # OPTIONS is answered without SQL (plan/options.py)
        raise _not_implemented(f"{request.method} requests")
    if not isinstance(target, ast.TableTarget):
        raise _not_implemented("The root endpoint (OpenAPI)")
    schema = request.schema or options.schemas[0]
    return prepare_read(request, QualifiedName(schema, target.name), cache, options)


def prepare_read(
    request: ast.ApiRequest, relation: QualifiedName, cache: SchemaCache | None, options: Options
) -> Prepared:
    handlers = None
    if cache is not None and cache.media_handlers:
        handlers = Handlers(cache, relation, default_select=is_default_select(request.query.select))
    representation = negotiate(request.accept, plan_enabled=options.plan_enabled, handlers=handlers)
    query = request.query
    tree = plan_read(
        query,
        relation,
        cache,
        aggregates_enabled=options.aggregates_enabled,
        legacy_target_names=options.legacy_target_names,
        max_rows=options.max_rows,
    )
    check_embed_filters(query, tree, legacy_target_names=options.legacy_target_names)
    page = top_level_page(tree.limit, tree.offset, request.range, options.max_rows)
    tree = replace(tree, limit=page.limit, offset=page.offset)
    count = request.preferences.count
    counted = level_sql(tree, count_only=True) if count is not None else None
    count_sql = counted if count in ("exact", "estimated") else None  # counted in the statement
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
        preference_applied=read_preferences_applied(request.preferences),
        content_location=canonical_location("/" + quote(relation.name, safe=""), request.query_pairs),
        warning=legacy_names_warning(tree.legacy_names),
    )
    count_statement = counted if count in ("planned", "estimated") else None  # EXPLAINed by the runner
    return Prepared(statement, recipe, read_only=True, count_statement=count_statement)


def respond(prepared: Prepared, row: ResultRow) -> Response:
    """The HTTP response for a prepared request's result row."""
    recipe = prepared.recipe
    if recipe.no_content:
        response = respond_no_content(row)
    elif recipe.mutation is not None:
        response = respond_mutation(recipe, row)
    else:
        response = respond_read(recipe, row)
    return with_warning(response, recipe.warning)


# --- writes ----------------------------------------------------------------------------------

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The preferences each kind of write reports in Preference-Applied (tx is the server's to add).
_HONOURED = {
    "insert": ("resolution", "missing", "return", "count", "handling", "timezone"),
    "put": ("return", "count", "handling", "timezone"),
    "update": ("missing", "return", "count", "handling", "timezone", "max-affected"),
    "delete": ("return", "count", "handling", "timezone", "max-affected"),
}


def prepare_mutation(
    request: ast.ApiRequest, relation: QualifiedName, cache: SchemaCache | None, options: Options
) -> Prepared:
    """A POST/PUT/PATCH/DELETE on a table: the mutation as a CTE, the response read from its rows.

    db-max-rows does not limit writes, and the Range header is ignored.
    """
    representation = negotiate(request.accept, plan_enabled=options.plan_enabled)
    planned = plan_mutation(
        request,
        relation,
        cache,
        aggregates_enabled=options.aggregates_enabled,
        legacy_target_names=options.legacy_target_names,
    )
    mutation = planned.mutation
    with_body = planned.return_ == "representation"
    location = planned.location_columns if planned.return_ == "headers-only" else ()
    if with_body:
        rows = level_sql(planned.representation, source=_representation_source(planned))
    else:
        rows = sql("SELECT * FROM pgrst_source")
    statement = mutation_statement(
        mutation_sql(mutation),
        rows,
        representation if with_body else None,
        location_columns=location,
        inserted=inserted_count_sql(mutation),
    )
    if representation.body_format == "plan":
        statement = explain_statement(statement, representation)
    prefs = request.preferences
    strict = prefs.handling == "strict"
    merge = prefs.resolution == "merge-duplicates" and mutation.on_conflict is not None
    recipe = ResponseRecipe(
        content_type=representation.content_type,
        body_format=representation.body_format,
        count=prefs.count,
        preference_applied=_applied(planned, prefs),
        mutation=None if representation.body_format == "plan" else mutation.kind,
        with_body=with_body,
        location_path="/" + relation.name if location else None,
        location_columns=location,
        max_affected=prefs.max_affected if strict and mutation.kind in ("update", "delete") else None,
        created_unless_all_updated=merge,
        warning=legacy_names_warning(planned.representation.legacy_names),
    )
    return Prepared(statement, recipe, read_only=False, check_before_commit=True)


def _representation_source(planned: PlannedMutation) -> Fragment:
    """The rows the representation reads: the CTE, re-typed as rows of the table for
    computed fields and computed relationships (functions taking the table's row type)."""
    mutation = planned.mutation
    if not mutation.typed_rows:
        return sql("pgrst_source")
    table = ident(mutation.relation.schema, mutation.relation.name)
    return (
        sql("json_populate_recordset(NULL::")
        + table
        + sql(", (SELECT json_agg(pgrst_row) FROM pgrst_source AS pgrst_row))")
    )


def _applied(planned: PlannedMutation, prefs: ast.Preferences) -> tuple[str, ...]:
    honoured = set(_HONOURED[planned.mutation.kind])
    if not planned.resolution_applied:
        honoured.discard("resolution")
    if prefs.handling != "strict":
        honoured.discard("max-affected")
    return tuple(f"{key}={value}" for key, value in preference_items(prefs) if key in honoured)


def prepare_call(request: ast.ApiRequest, cache: SchemaCache | None, options: Options) -> Prepared:
    """Plan and compile `/rpc/fn` into one statement and its response recipe."""
    plan = plan_call(
        request,
        cache,
        default_schema=options.schemas[0],
        max_rows=options.max_rows,
        aggregates_enabled=options.aggregates_enabled,
        legacy_target_names=options.legacy_target_names,
    )
    representation = negotiate_call(request, cache, plan, plan_enabled=options.plan_enabled)
    head = request.method == "HEAD"
    count = request.preferences.count
    counted = build_call.count_sql(plan) if count in ("exact", "estimated") else None
    body = build_call.call_body(plan, representation, head)
    # Rows are read straight from the function unless a count reads them too: then the call
    # goes in a CTE, so that it still runs only once.
    direct = plan.read is not None and counted is None
    call = None if direct else build_call.call_cte(plan)
    statement = call_statement(call, build_call.source_sql(plan, direct=direct), counted, body)
    if representation.body_format == "plan":
        statement = explain_statement(statement, representation)
    recipe = ResponseRecipe(
        content_type=representation.content_type,
        body_format=representation.body_format,
        offset=plan.offset,
        count=count,
        head=head,
        max_rows=options.max_rows,
        preference_applied=read_preferences_applied(request.preferences),
        no_content=plan.result == "void",
        warning=legacy_names_warning(plan.read.legacy_names) if plan.read is not None else None,
    )
    planned = None
    if count in ("planned", "estimated"):
        planned = build_call.planned_count_sql(plan)
    # A singular response that fails (PGRST116) must roll back what the function did.
    singular = representation.body_format == "object"
    return Prepared(
        statement, recipe, read_only=plan.read_only, count_statement=planned, check_before_commit=singular
    )
