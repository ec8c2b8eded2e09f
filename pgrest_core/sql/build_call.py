"""Compile a `CallPlan` into one statement: the call in a CTE, its result read like a table.

    "api"."fn"("a" := $1::integer, VARIADIC "v" := $2::text[])

Each argument is one bound parameter cast to the parameter's type from the schema cache. A
function returning rows is read through `level_sql` with the call as the row source, so
select, filters, order, embeds, count and Range work as on a table; a scalar function's value
is the `pgrst_scalar` column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgrest_core import ast
from pgrest_core.plan.call import CallArgument, CallPlan, plan_call
from pgrest_core.plan.negotiate import JSON, Handlers, Representation, is_default_select, negotiate
from pgrest_core.plan.types import Prepared, ResponseRecipe
from pgrest_core.response import read_preferences_applied
from pgrest_core.schema.model import SchemaCache
from pgrest_core.sql.build_read import level_sql, page_sql
from pgrest_core.sql.fragment import SLOT, Fragment, ident, join, param, sql
from pgrest_core.sql.statement import (
    SCALAR_COLUMN,
    body_sql,
    call_statement,
    explain_statement,
    scalar_body,
    single_row_body,
)

if TYPE_CHECKING:
    from pgrest_core.pipeline import Options

CALL = "pgrst_call"  # the CTE holding the call's result
# A single text or xml value can be sent as it is for `Accept: text/plain` or `text/xml`
# (the type itself, or a domain named after the media type).
_RAW_OUTPUT = {"text/plain": "text/plain; charset=utf-8", "text/xml": "text/xml; charset=utf-8"}
_RAW_TYPES = {"text/plain": "text", "text/xml": "xml"}


def argument_sql(argument: CallArgument) -> Fragment:
    if SLOT in argument.type:
        raise ValueError("NUL in a type name")
    value = param(argument.value) + sql("::" + argument.type)  # the type comes from the catalog
    if not argument.name:
        return value
    named = ident(argument.name) + sql(" := ") + value
    return sql("VARIADIC ") + named if argument.variadic else named


def call_sql(plan: CallPlan) -> Fragment:
    """`"schema"."fn"(<arguments>)`."""
    function = ident(plan.function.schema, plan.function.name)
    return function + sql("(") + join(", ", (argument_sql(a) for a in plan.arguments)) + sql(")")


def call_cte(plan: CallPlan) -> Fragment:
    """What `pgrst_call` holds: the function's rows, or its value in `pgrst_scalar`."""
    if plan.result in ("rows", "single"):
        return sql("SELECT ") + ident(CALL) + sql(".* FROM ") + call_sql(plan) + sql(" AS ") + ident(CALL)
    return sql("SELECT ") + call_sql(plan) + sql(" AS ") + ident(SCALAR_COLUMN)


def source_sql(plan: CallPlan, *, direct: bool = False) -> Fragment:
    """The page of the result the body is built from: reads `pgrst_call`, or with `direct`
    the function itself (whose rows then have the function's row type, as computed fields
    and computed relationships taking that type need)."""
    if plan.read is not None:
        return level_sql(plan.read, source=call_sql(plan) if direct else ident(CALL))
    query = sql("SELECT ") + ident(CALL, SCALAR_COLUMN) + sql(" FROM ") + ident(CALL)
    return query + page_sql(plan.limit, plan.offset or None)


def count_sql(plan: CallPlan) -> Fragment:
    """The rows before paging, for `Prefer: count=…`."""
    if plan.read is not None:
        return level_sql(plan.read, count_only=True, source=ident(CALL))
    return sql("SELECT 1 FROM ") + ident(CALL)


def _raw_output(accept: tuple[ast.MediaType, ...], plan: CallPlan, returns: str) -> Representation | None:
    """`Accept: text/plain` (or text/xml) first for a function returning one text (xml) value:
    that value sent raw. Other results are negotiated as usual (406)."""
    media = next((m for m in accept if m.q > 0), None)
    if plan.result != "scalar" or media is None or media.essence not in _RAW_OUTPUT:
        return None
    if returns not in (_RAW_TYPES[media.essence], media.essence):
        return None
    return Representation("text", _RAW_OUTPUT[media.essence], base_type=_RAW_TYPES[media.essence])


def _handlers(request: ast.ApiRequest, cache: SchemaCache | None, plan: CallPlan) -> Handlers | None:
    """The media type handlers of the result: the aggregates for the rows of a function
    returning rows, or the media type domain a function returns one value of."""
    if cache is None or plan.return_type is None:
        return None
    if plan.result in ("rows", "single"):
        default_select = is_default_select(request.query.select)
        return Handlers(cache, plan.return_type, default_select=default_select)
    base_type = cache.media_types.get(plan.return_type) if plan.result == "scalar" else None
    if base_type is None:
        return None
    return Handlers(cache, raw_media_type=plan.return_type.name.lower(), raw_base_type=base_type)


def _body(plan: CallPlan, representation: Representation, head: bool) -> str:
    if plan.result == "single" and representation.body_format == "json" and representation.handler is None:
        return single_row_body(representation, head=head)
    if plan.result in ("rows", "single"):
        return body_sql(representation, head=head)
    if plan.result == "void":
        return "NULL::text"
    return scalar_body(
        set_of=plan.result == "scalar_set", head=head, media_base_type=representation.base_type
    )


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
    raw = _raw_output(request.accept, plan, plan.returns)
    if raw is not None:
        representation = raw
    elif plan.result == "void":
        representation = JSON
    else:
        handlers = _handlers(request, cache, plan)
        representation = negotiate(request.accept, plan_enabled=options.plan_enabled, handlers=handlers)
    head = request.method == "HEAD"
    count = request.preferences.count
    counted = count_sql(plan) if count in ("exact", "estimated") else None
    body = _body(plan, representation, head)
    # Rows are read straight from the function unless a count reads them too: then the call
    # goes in a CTE, so that it still runs only once.
    direct = plan.read is not None and counted is None
    call = None if direct else call_cte(plan)
    statement = call_statement(call, source_sql(plan, direct=direct), counted, body)
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
    )
    planned = None
    if count in ("planned", "estimated"):
        planned = sql("WITH pgrst_call AS (") + call_cte(plan) + sql(") ") + count_sql(plan)
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
