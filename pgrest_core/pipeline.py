"""The pure pipeline in one place: request -> Prepared (SQL + recipe) -> Response.

    parse_request (request/)  ->  ApiRequest
    prepare (here)            ->  Prepared: plan against the schema cache, compile to one statement
    respond (response.py)     ->  Response from the statement's one result row

Servers (ours in pgrest_server/app.py, or anyone's) call `prepare`, run `Prepared.statement` in a transaction
with their driver, and hand the row to `respond`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from pgrest_core import ast
from pgrest_core.config import OpenApiMode, OpenApiVersion
from pgrest_core.errors import ApiRequestError, unacceptable_schema
from pgrest_core.fragment import Fragment, ident, sql
from pgrest_core.openapi import (
    OPENAPI_CONTENT_TYPE,
    OpenApiOptions,
    OpenApiRecipe,
    Visible,
    negotiate_openapi,
    openapi_document,
    privileges_statement,
    render_openapi,
    root_endpoint_disabled,
    root_spec_call,
    visible_from_body,
)
from pgrest_core.openapi3 import OPENAPI31_CONTENT_TYPE, openapi31_document, openapi_version
from pgrest_core.plan.call import plan_call
from pgrest_core.plan.mutate import PlannedMutation, plan_mutation
from pgrest_core.plan.negotiate import Handlers, is_default_select, negotiate, negotiate_call
from pgrest_core.plan.options import options_response
from pgrest_core.plan.read import check_embed_filters, plan_read, top_level_page
from pgrest_core.prepared import Prepared, Response, ResponseRecipe, ResultRow
from pgrest_core.request.preferences import preference_items
from pgrest_core.response import (
    JSON_CONTENT_TYPE,
    canonical_location,
    legacy_names_warning,
    percent_encoded,
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

if TYPE_CHECKING:
    from pgrest_core.config import Settings


@dataclass(frozen=True, slots=True)
class Options:
    """The settings the pure stages need (a narrow view of config.Settings).

    `schemas` are the exposed schemas, the first being the default; there is always at least
    one, and a request for any other schema is refused (PGRST106). `base_path` is the path the
    API is served under ("/api" when mounted there): it prefixes Location and Content-Location
    and is the OpenAPI document's basePath.
    """

    schemas: tuple[str, ...] = ("public",)
    max_rows: int | None = None
    aggregates_enabled: bool = False
    plan_enabled: bool = False
    legacy_target_names: bool = True  # url-use-legacy-target-names
    openapi_mode: OpenApiMode = "follow-privileges"
    root_spec: str | None = None  # db-root-spec: a function answering `GET /` instead
    server_host: str = "!4"  # server-host and server-port: the OpenAPI host without a Host header
    server_port: int = 3000
    openapi_server_proxy_uri: str | None = None
    openapi_security_active: bool = False
    openapi_default_version: OpenApiVersion = "2.0"  # the root's document when no version is asked
    base_path: str = ""

    def __post_init__(self) -> None:
        if not self.schemas:
            raise ValueError("Options.schemas needs at least one exposed schema")
        if self.base_path and (not self.base_path.startswith("/") or self.base_path.endswith("/")):
            raise ValueError(f"base_path is '' or like '/api' (no trailing '/'), not {self.base_path!r}")

    @classmethod
    def from_settings(cls, settings: Settings, *, base_path: str = "") -> Options:
        """The options for a server configured with `settings` (db-schemas, db-max-rows, …)."""
        return cls(
            schemas=tuple(settings.db_schemas),
            max_rows=settings.db_max_rows,
            aggregates_enabled=settings.db_aggregates_enabled,
            plan_enabled=settings.db_plan_enabled,
            legacy_target_names=settings.url_use_legacy_target_names,
            openapi_mode=settings.openapi_mode,
            root_spec=settings.db_root_spec,
            server_host=settings.server_host,
            server_port=settings.server_port,
            openapi_server_proxy_uri=settings.openapi_server_proxy_uri,
            openapi_security_active=settings.openapi_security_active,
            openapi_default_version=settings.openapi_default_version,
            base_path=base_path,
        )


def _not_implemented(what: str) -> ApiRequestError:
    return ApiRequestError(
        "PGRST127", 400, "Feature not implemented", f"{what} is not implemented yet in pgrest."
    )


def _needs_schema_cache(what: str) -> ApiRequestError:
    return ApiRequestError(
        "PGRST127",
        400,
        "Feature not implemented",
        f"{what} is answered from a schema cache, and none was given.",
        "Load one with load_snapshot, load_schema_cache or schema_from_ddl.",
    )


# One empty result row: the statement of a request answered without the database.
_NO_STATEMENT = sql("SELECT NULL::bigint AS total_count, 0 AS page_count, NULL::text AS body")


def prepare(request: ast.ApiRequest, cache: SchemaCache | None, options: Options) -> Prepared:
    """Plan and compile a request into one statement and its response recipe.

    Every request goes through here: reads, writes, calls, OPTIONS and `GET /` (the OpenAPI
    document, or the db-root-spec function). When the answer needs no database,
    `Prepared.answer` holds it.
    """
    schema = request.schema or options.schemas[0]
    if schema not in options.schemas:
        raise unacceptable_schema(schema, options.schemas)
    target = request.target
    method = request.method
    if method == "OPTIONS":
        if cache is None:
            raise _needs_schema_cache("OPTIONS")
        return _answered(options_response(request, cache, options.schemas))
    if isinstance(target, ast.TableTarget):
        if method == "GET" or method == "HEAD":
            prepared = prepare_read(request, QualifiedName(schema, target.name), cache, options)
        elif method in WRITE_METHODS:
            prepared = prepare_mutation(request, QualifiedName(schema, target.name), cache, options)
        else:
            raise _not_implemented(f"{method} requests")
    elif isinstance(target, ast.RoutineTarget):
        prepared = prepare_call(request, cache, options)
    elif method == "GET" or method == "HEAD":
        return _prepare_root(request, schema, cache, options)
    else:
        raise _not_implemented(f"{method} requests")
    if len(options.schemas) > 1:  # the response says which schema answered, as PostgREST's does
        return replace(prepared, recipe=replace(prepared.recipe, content_profile=schema))
    return prepared


def _prepare_root(
    request: ast.ApiRequest, schema: str, cache: SchemaCache | None, options: Options
) -> Prepared:
    """`GET /`: the OpenAPI document, or a call to the db-root-spec function."""
    if options.root_spec is None:
        return prepare_openapi(request, schema, cache, options)
    call, openapi_label = root_spec_call(request, options.root_spec)
    prepared = prepare_call(call, cache, options)
    recipe = prepared.recipe
    if len(options.schemas) > 1:
        recipe = replace(recipe, content_profile=schema)
    if openapi_label:
        recipe = replace(recipe, content_type=OPENAPI_CONTENT_TYPE)
    return replace(prepared, recipe=recipe)


def _answered(response: Response) -> Prepared:
    return Prepared(_NO_STATEMENT, ResponseRecipe(JSON_CONTENT_TYPE, "json"), answer=response)


def prepare_openapi(
    request: ast.ApiRequest, schema: str, cache: SchemaCache | None, options: Options
) -> Prepared:
    """`GET /`: the OpenAPI document of the request's schema (see openapi.py).

    With openapi-mode=follow-privileges it shows only what the request's role may use: the
    statement asks the database, and `respond` builds the document from its answer.
    """
    if options.openapi_mode == "disabled":
        raise root_endpoint_disabled()
    negotiate_openapi(request.accept)
    if cache is None:
        raise _needs_schema_cache("The OpenAPI document")
    recipe = OpenApiRecipe(
        cache,
        OpenApiOptions(
            schema=schema,
            server_host=options.server_host,
            server_port=options.server_port,
            proxy_uri=options.openapi_server_proxy_uri,
            security_active=options.openapi_security_active,
            request_host=_first_header(request, "host"),
            base_path=options.base_path,
        ),
        version=openapi_version(request.accept, options.openapi_default_version),
        content_profile=schema if len(options.schemas) > 1 else None,
    )
    if options.openapi_mode == "ignore-privileges":
        return _answered(_document_response(recipe, None))
    build = partial(_document_from_row, recipe)
    read = ResponseRecipe(OPENAPI_CONTENT_TYPE, "json", head=request.method == "HEAD", build=build)
    return Prepared(privileges_statement(schema), read, read_only=True, is_metadata=True)


def _document_from_row(recipe: OpenApiRecipe, row: ResultRow) -> Response:
    return _document_response(recipe, visible_from_body(row.body))


def _document_response(recipe: OpenApiRecipe, visible: Visible | None) -> Response:
    """The document (OpenAPI 2.0 or 3.1) of what `visible` lets the role see (None: everything)."""
    if recipe.version == "3.1":
        document = openapi31_document(recipe.cache, recipe.options, visible)
        content_type = OPENAPI31_CONTENT_TYPE
    else:
        document, content_type = openapi_document(recipe.cache, recipe.options, visible), OPENAPI_CONTENT_TYPE
    headers: tuple[tuple[str, str], ...] = (("Content-Type", content_type),)
    if recipe.content_profile is not None:
        headers += (("Content-Profile", recipe.content_profile),)
    return Response(200, headers, render_openapi(document))


def _first_header(request: ast.ApiRequest, name: str) -> str | None:
    return next((value for key, value in request.headers if key == name), None)


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
    count = request.preferences.count
    counted = level_sql(tree, count_only=True) if count is not None else None
    count_sql = counted if count in ("exact", "estimated") else None  # counted in the statement
    head = request.method == "HEAD"
    statement = read_statement(level_sql(tree, page=page), count_sql, representation, head=head)
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
        warning=legacy_names_warning(tree.legacy_names),
    )
    count_statement = counted if count in ("planned", "estimated") else None  # EXPLAINed by the runner
    path = options.base_path + "/" + percent_encoded(relation.name)
    location = canonical_location(path, request.query_pairs)
    return Prepared(
        statement, recipe, read_only=True, count_statement=count_statement, content_location=location
    )


def respond(prepared: Prepared, row: ResultRow) -> Response:
    """The HTTP response for a prepared request's result row.

    Raises PgrstError when the result makes the request fail (a singular response with other
    than one row, handling=strict's max-affected, …); for writes, call it before COMMIT.
    """
    if prepared.answer is not None:
        return prepared.answer
    recipe = prepared.recipe
    if recipe.build is not None:
        return recipe.build(row)
    if recipe.no_content:
        response = respond_no_content(row)
    elif recipe.mutation is not None:
        response = respond_mutation(recipe, row)
    else:
        response = respond_read(recipe, row, prepared.content_location)
    response = with_warning(response, recipe.warning)
    if recipe.content_profile is not None:
        profile = ("Content-Profile", recipe.content_profile)
        return Response(response.status, (*response.headers, profile), response.body)
    return response


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
        location_path=options.base_path + "/" + relation.name if location else None,
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
        statement,
        recipe,
        read_only=plan.read_only,
        count_statement=planned,
        check_before_commit=singular,
        function_settings=plan.settings,
    )
