"""Compile a `CallPlan` into one statement: the call in a CTE, its result read like a table.

    "api"."fn"("a" := $1::integer, VARIADIC "v" := $2::text[])

Each argument is one bound parameter cast to the parameter's type from the schema cache. A
function returning rows is read through `level_sql` with the call as the row source, so
select, filters, order, embeds, count and Range work as on a table; a scalar function's value
is the `pgrst_scalar` column.
"""

from __future__ import annotations

from pgrest_core.fragment import SLOT, Fragment, ident, join, param, sql
from pgrest_core.plan.call import CallArgument, CallPlan
from pgrest_core.plan.negotiate import Representation
from pgrest_core.sql.build_read import level_sql, page_sql
from pgrest_core.sql.statement import (
    SCALAR_COLUMN,
    body_sql,
    scalar_body,
    single_row_body,
)

CALL = "pgrst_call"  # the CTE holding the call's result


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


def planned_count_sql(plan: CallPlan) -> Fragment:
    """The statement whose EXPLAIN estimates the rows, for `count=planned|estimated`."""
    return sql("WITH ") + ident(CALL) + sql(" AS (") + call_cte(plan) + sql(") ") + count_sql(plan)


def call_body(plan: CallPlan, representation: Representation, head: bool) -> str:
    if plan.result == "single" and representation.body_format == "json" and representation.handler is None:
        return single_row_body(representation, head=head)
    if plan.result in ("rows", "single"):
        return body_sql(representation, head=head)
    if plan.result == "void":
        return "NULL::text"
    return scalar_body(
        set_of=plan.result == "scalar_set", head=head, media_base_type=representation.base_type
    )
