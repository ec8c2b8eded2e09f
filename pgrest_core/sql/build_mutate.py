"""Compile a `MutatePlan` into one INSERT / UPDATE / DELETE with a RETURNING clause.

The request body is ONE parameter, a JSON text. PostgreSQL turns it into rows of the target's
own row type (`json_populate_recordset(NULL::"s"."t", $1)`), so every value is cast by the
column's type exactly as if it had been written in SQL:

    INSERT INTO "s"."t" AS "t"("a", "b")
    SELECT pgrst_body."a", pgrst_body."b" FROM json_populate_recordset(NULL::"s"."t", $1::json) AS pgrst_body
    [ON CONFLICT ("pk") DO UPDATE SET "a" = EXCLUDED."a", … | DO NOTHING]
    RETURNING "t"."a", …

    UPDATE "s"."t" AS "t" SET "a" = pgrst_body."a"
    FROM json_populate_record(NULL::"s"."t", $1::json) AS pgrst_body WHERE <filters> RETURNING …

    DELETE FROM "s"."t" AS "t" WHERE <filters> RETURNING …

With `missing=default` the columns' default expressions are merged under each row's keys
(`jsonb_build_object('a', <default>) || row`), evaluated once per row. A limited PATCH/DELETE
(`limit=`/`offset=`) picks its rows by `ctid`, so it works on tables (not views), as PostgREST.
"""

from __future__ import annotations

from dataclasses import replace

from pgrest_core.fragment import EMPTY, Fragment, ident, join, param, sql
from pgrest_core.plan.mutate import MutatePlan
from pgrest_core.sql.build_read import condition_sql, order_term_sql, page_sql, string_literal

BODY = "pgrst_body"
SOURCE = "pgrst_source"


def mutation_sql(plan: MutatePlan) -> Fragment:
    """The data-modifying statement that becomes the `pgrst_source` CTE."""
    if plan.kind in ("insert", "put"):
        return insert_sql(plan)
    if plan.kind == "update":
        return update_sql(plan)
    return delete_sql(plan)


def _table(plan: MutatePlan) -> Fragment:
    return ident(plan.relation.schema, plan.relation.name) + sql(" AS ") + ident(plan.alias)


def _row_type(plan: MutatePlan) -> Fragment:
    return sql("NULL::") + ident(plan.relation.schema, plan.relation.name)


def _defaults_object(plan: MutatePlan) -> Fragment:
    pairs = (sql(string_literal(column) + ", " + expression) for column, expression in plan.defaults)
    return sql("jsonb_build_object(") + join(", ", pairs) + sql(")")


def _without_parsed(plan: MutatePlan, value: Fragment) -> Fragment:
    """A jsonb object minus the keys a data representation parses (the type's input would fail)."""
    for column, _ in plan.json_parsers:
        value = value + sql(" - " + string_literal(column))
    return value


def _parsed_value(plan: MutatePlan, column: str, element: Fragment) -> Fragment | None:
    """`fn(element -> 'col')` for a column with a json -> domain representation, else None."""
    for name, function in plan.json_parsers:
        if name == column:
            value = element + sql(" -> " + string_literal(column))
            return ident(function.schema, function.name) + sql("(") + value + sql(")")
    return None


def _body_rows(plan: MutatePlan) -> Fragment:
    """FROM items giving one `pgrst_body` row of the target's type per element of the body array."""
    body = param(plan.payload) + sql("::json")
    if not plan.defaults and not plan.json_parsers:
        return sql("json_populate_recordset(") + _row_type(plan) + sql(", ") + body + sql(") AS " + BODY)
    # A LATERAL call is evaluated per element, so volatile defaults (nextval) differ per row.
    merged = sql("pgrst_element.value::jsonb")
    if plan.defaults:
        merged = _defaults_object(plan) + sql(" || ") + merged
    if plan.json_parsers:
        merged = _without_parsed(plan, sql("(") + merged + sql(")"))
    return (
        sql("json_array_elements(")
        + body
        + sql(") AS pgrst_element CROSS JOIN LATERAL json_populate_record(")
        + _row_type(plan)
        + sql(", (")
        + merged
        + sql(")::json) AS " + BODY)
    )


def _body_row(plan: MutatePlan) -> Fragment:
    """The FROM item giving the one `pgrst_body` row an UPDATE sets columns from."""
    body = param(plan.payload) + sql("::json")
    if plan.defaults or plan.json_parsers:
        merged = param(plan.payload) + sql("::jsonb")
        if plan.defaults:
            merged = _defaults_object(plan) + sql(" || ") + merged
        if plan.json_parsers:
            merged = _without_parsed(plan, sql("(") + merged + sql(")"))
        body = sql("(") + merged + sql(")::json")
    return sql("json_populate_record(") + _row_type(plan) + sql(", ") + body + sql(") AS " + BODY)


def returning_sql(plan: MutatePlan) -> Fragment:
    if plan.returning is None:
        columns = sql(ident(plan.alias).text + ".*")
    elif plan.returning:
        columns = join(", ", (ident(plan.alias, c) for c in plan.returning))
    else:
        columns = sql("1")
    return sql(" RETURNING ") + columns


def inserted_count_sql(plan: MutatePlan) -> Fragment | None:
    """How many of an upsert's rows were inserted rather than updated (None if not an upsert).

    Every part of a statement sees the database as it was before the statement, so a returned
    row whose conflict key is not in the table yet was inserted. (`xmax = 0` would say the same
    but is not available on partitioned tables and views.)
    """
    if not plan.track_inserted or plan.on_conflict is None or not plan.on_conflict.columns:
        return None
    existing = ident("pgrst_existing")
    keys = plan.on_conflict.columns
    same_key = join(" AND ", (ident("pgrst_existing", k) + sql(" = ") + ident(SOURCE, k) for k in keys))
    return (
        sql("(SELECT pg_catalog.count(*) FROM pgrst_source WHERE NOT EXISTS (SELECT 1 FROM ")
        + ident(plan.relation.schema, plan.relation.name)
        + sql(" AS ")
        + existing
        + sql(" WHERE ")
        + same_key
        + sql("))")
    )


def _insert_value(plan: MutatePlan, column: str) -> Fragment:
    parsed = _parsed_value(plan, column, sql("pgrst_element.value"))
    if parsed is None:
        return ident(BODY, column)
    # A key the element lacks keeps what the row got otherwise (NULL or its default).
    missing = sql("pgrst_element.value -> " + string_literal(column) + " IS NULL")
    otherwise = ident(BODY, column)
    return sql("CASE WHEN ") + missing + sql(" THEN ") + otherwise + sql(" ELSE ") + parsed + sql(" END")


def insert_sql(plan: MutatePlan) -> Fragment:
    columns = join(", ", (ident(c) for c in plan.columns))
    selected = join(", ", (_insert_value(plan, c) for c in plan.columns))
    query = sql("INSERT INTO ") + _table(plan)
    if plan.columns:
        query = query + sql("(") + columns + sql(")")
    query = query + sql(" SELECT ") + selected + sql(" FROM ") + _body_rows(plan)
    if plan.where:
        # PUT: the URL's primary key must match the body's, else nothing is written.
        body_level = replace(plan.target, alias=BODY)
        query = query + sql(" WHERE ") + join(" AND ", (condition_sql(body_level, c) for c in plan.where))
    return query + _on_conflict_sql(plan) + returning_sql(plan)


def _on_conflict_sql(plan: MutatePlan) -> Fragment:
    conflict = plan.on_conflict
    if conflict is None or not conflict.columns:
        return EMPTY
    target = sql(" ON CONFLICT (") + join(", ", (ident(c) for c in conflict.columns)) + sql(")")
    if conflict.action == "ignore" or not plan.columns:
        return target + sql(" DO NOTHING")
    updates = join(", ", (ident(c) + sql(" = EXCLUDED.") + ident(c) for c in plan.columns))
    return target + sql(" DO UPDATE SET ") + updates


def _where(plan: MutatePlan) -> Fragment:
    """The WHERE of an UPDATE/DELETE: the filters, or the ctids of the ordered page of them."""
    conditions = [condition_sql(plan.target, c) for c in plan.where]
    limited = plan.limit is not None or bool(plan.offset)
    if not limited:
        return sql(" WHERE ") + join(" AND ", conditions) if conditions else EMPTY
    ctid = ident(plan.alias, "ctid")
    inner = sql("SELECT ") + ctid + sql(" FROM ") + _table(plan)
    if conditions:
        inner = inner + sql(" WHERE ") + join(" AND ", conditions)
    if plan.order:
        inner = inner + sql(" ORDER BY ") + join(", ", (order_term_sql(plan.target, t) for t in plan.order))
    inner = inner + page_sql(plan.limit, plan.offset)
    return sql(" WHERE ") + ctid + sql(" = ANY(ARRAY(") + inner + sql("))")


def update_sql(plan: MutatePlan) -> Fragment:
    if not plan.columns:
        # Nothing to set (`{}`): no rows are updated, but the response keeps its shape.
        returned = returning_sql(plan).text.removeprefix(" RETURNING ")
        return sql("SELECT " + returned + " FROM ") + _table(plan) + sql(" WHERE false")
    payload = param(plan.payload) + sql("::json")
    sets = join(
        ", ",
        (ident(c) + sql(" = ") + (_parsed_value(plan, c, payload) or ident(BODY, c)) for c in plan.columns),
    )
    return (
        sql("UPDATE ")
        + _table(plan)
        + sql(" SET ")
        + sets
        + sql(" FROM ")
        + _body_row(plan)
        + _where(plan)
        + returning_sql(plan)
    )


def delete_sql(plan: MutatePlan) -> Fragment:
    return sql("DELETE FROM ") + _table(plan) + _where(plan) + returning_sql(plan)
