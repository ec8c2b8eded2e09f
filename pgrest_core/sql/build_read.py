"""Compile a `ReadPlan` into SQL: one SELECT per level, embeds as lateral subqueries.

Every level selects exactly the keys of its JSON output, so the level above can aggregate its
rows straight to JSON (`json_agg` for to-many, `row_to_json` for to-one). Request values only
ever enter through `param`; names through `ident`; JSON path keys and casts are part of the
statement's shape and are written as quoted literals and checked type names.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from pgrest_core import ast
from pgrest_core.fragment import EMPTY, Fragment, ident, join, literal_type, param, quote_ident, sql
from pgrest_core.plan.read import (
    EmbedPlan,
    NullCheck,
    OutputField,
    Page,
    PlanCondition,
    PlanLogic,
    ReadPlan,
    RelatedOrder,
)
from pgrest_core.schema.model import ComputedRelationship, QualifiedName, Relationship

_BINARY_OPERATORS = {
    ast.Operator.EQ: "=",
    ast.Operator.NEQ: "<>",
    ast.Operator.GT: ">",
    ast.Operator.GTE: ">=",
    ast.Operator.LT: "<",
    ast.Operator.LTE: "<=",
    ast.Operator.LIKE: "LIKE",
    ast.Operator.ILIKE: "ILIKE",
    ast.Operator.MATCH: "~",
    ast.Operator.IMATCH: "~*",
    ast.Operator.ISDISTINCT: "IS DISTINCT FROM",
    ast.Operator.CS: "@>",
    ast.Operator.CD: "<@",
    ast.Operator.OV: "&&",
    ast.Operator.SL: "<<",
    ast.Operator.SR: ">>",
    # nxl: "does not extend to the left of" is &>; nxr: "… to the right of" is &<.
    ast.Operator.NXL: "&>",
    ast.Operator.NXR: "&<",
    ast.Operator.ADJ: "-|-",
}
_TSQUERY_FUNCTIONS = {
    ast.Operator.FTS: "to_tsquery",
    ast.Operator.PLFTS: "plainto_tsquery",
    ast.Operator.PHFTS: "phraseto_tsquery",
    ast.Operator.WFTS: "websearch_to_tsquery",
}
_IS_KEYWORDS = {
    "null": "NULL",
    "not_null": "NOT NULL",
    "true": "TRUE",
    "false": "FALSE",
    "unknown": "UNKNOWN",
}
# ` = `, ` LIKE `, …: the operator between a filter's column and its value.
_BINARY_SQL = {operator: sql(f" {text} ") for operator, text in _BINARY_OPERATORS.items()}
_LIKE = (ast.Operator.LIKE, ast.Operator.ILIKE)
# Operators whose value a data representation's text parser turns into the column's domain.
_PARSED = frozenset(
    {
        ast.Operator.EQ,
        ast.Operator.NEQ,
        ast.Operator.GT,
        ast.Operator.GTE,
        ast.Operator.LT,
        ast.Operator.LTE,
        ast.Operator.ISDISTINCT,
    }
)


def string_literal(text: str) -> str:
    """A SQL string literal for shape-level text (JSON path keys), never for request values."""
    if "\x00" in text:
        raise ValueError("NUL in literal")
    return "'" + text.replace("'", "''") + "'"


def array_literal(values: tuple[str, ...]) -> str:
    """`{"a","b"}`: one text parameter PostgreSQL casts to the column's array type."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


# --- expressions -----------------------------------------------------------------------------


def json_path(base: Fragment, path: tuple[ast.JsonStep, ...]) -> Fragment:
    text = base.text
    for step in path:
        if isinstance(step.key, int):
            key = str(step.key) if step.key >= 0 else f"({step.key})"
        else:
            key = string_literal(step.key)
        text += step.arrow + key
    return Fragment(text, base.params)


def column_expr(alias: str, field: ast.Field, *, wrap_to_json: bool = False) -> Fragment:
    base = ident(alias, field.name)
    if not field.json_path:
        return base
    if wrap_to_json:
        base = sql("to_jsonb(") + base + sql(")")
    return json_path(base, field.json_path)


def _needs_wrap(plan: ReadPlan, field: ast.Field) -> bool:
    if not field.json_path:
        return False
    type_name = plan.column_type(field.name)
    return type_name is not None and type_name not in ("json", "jsonb")


def filter_lhs(plan: ReadPlan, field: ast.Field) -> Fragment:
    return column_expr(plan.alias, field, wrap_to_json=_needs_wrap(plan, field))


def cast(expr: Fragment, type_name: str | None) -> Fragment:
    if type_name is None:
        return expr
    return sql("(") + expr + sql(")::" + literal_type(type_name))


def output_expr(plan: ReadPlan, out: OutputField) -> Fragment:
    if out.star:
        return sql(ident(plan.alias).text + ".*")
    if out.aggregate is not None and out.field.name == "*":
        expr = sql("pg_catalog.count(*)")
    else:
        if out.computed is not None:
            expr = ident(out.computed.schema, out.computed.name) + sql("(") + ident(plan.alias) + sql(")")
            expr = json_path(expr, out.field.json_path)
        else:
            expr = column_expr(plan.alias, out.field, wrap_to_json=out.wrap_to_json)
        if out.formatter is not None:
            expr = ident(out.formatter.schema, out.formatter.name) + sql("(") + expr + sql(")")
        if out.cast is not None:
            expr = cast(expr, out.cast)
        if out.aggregate is not None:
            expr = sql(out.aggregate.value + "(") + expr + sql(")")
    return cast(expr, out.aggregate_cast) if out.aggregate is not None else expr


# --- conditions ------------------------------------------------------------------------------


def operation_sql(
    lhs: Fragment, operation: ast.Operation, column_type: str | None, text_parser: QualifiedName | None = None
) -> Fragment:
    if isinstance(operation, ast.Compare):
        value = operation.value
        if operation.operator in _LIKE:
            value = value.replace("*", "%")
        rhs = param(value)
        if text_parser is not None and operation.operator in _PARSED:
            # A data representation parses the text into the domain (not for pattern operators).
            rhs = ident(text_parser.schema, text_parser.name) + sql("(") + rhs + sql("::text)")
        return lhs + _BINARY_SQL[operation.operator] + rhs
    if isinstance(operation, ast.Quantified):
        values = operation.values
        if operation.operator in _LIKE:
            values = tuple(v.replace("*", "%") for v in values)
        keyword = "ANY" if operation.quantifier == "any" else "ALL"
        operator = _BINARY_OPERATORS[operation.operator]
        return lhs + sql(f" {operator} {keyword}(") + param(array_literal(values)) + sql(")")
    if isinstance(operation, ast.In):
        listed = param(array_literal(operation.values))
        if text_parser is not None:
            parse = ident(text_parser.schema, text_parser.name)
            parsed = sql("ARRAY(SELECT ") + parse + sql("(v) FROM unnest(") + listed + sql("::text[]) AS v)")
            return lhs + sql(" = ANY(") + parsed + sql(")")
        return lhs + sql(" = ANY(") + listed + sql(")")
    if isinstance(operation, ast.Is):
        return lhs + sql(" IS " + _IS_KEYWORDS[operation.value])
    # Full-text search: non-tsvector columns are converted with the same language.
    function = _TSQUERY_FUNCTIONS[operation.operator]
    language = param(operation.language) + sql("::regconfig, ") if operation.language is not None else EMPTY
    if column_type is not None and column_type != "tsvector":
        lhs = sql("to_tsvector(") + language + lhs + sql(")")
    return lhs + sql(f" @@ {function}(") + language + param(operation.value) + sql(")")


def condition_sql(plan: ReadPlan, condition: PlanCondition) -> Fragment:
    if isinstance(condition, NullCheck):
        if condition.whole_row:  # a missing lateral row is NULL, a row of NULLs is not
            test = " IS NOT DISTINCT FROM NULL" if condition.is_null else " IS DISTINCT FROM NULL"
            return ident(condition.embed_alias) + sql(test)
        test = " IS NULL" if condition.is_null else " IS NOT NULL"
        return ident(condition.embed_alias, "body") + sql(test)
    if isinstance(condition, ast.Filter):
        field, operation = condition.field, condition.operation
        plain = not field.json_path
        # Only full-text search looks at the column's type, and few tables have text parsers.
        fts = plain and isinstance(operation, ast.FullText)
        column_type = plan.column_type(field.name) if fts else None
        parser = plan.text_parser(field.name) if plain and plan.text_parsers else None
        expr = operation_sql(filter_lhs(plan, field), operation, column_type, parser)
        return sql("NOT (") + expr + sql(")") if condition.negated else expr
    assert isinstance(condition, PlanLogic)
    glue = " AND " if condition.operator == "and" else " OR "
    children = join(glue, (condition_sql(plan, c) for c in condition.children))
    return sql("NOT (" if condition.negated else "(") + children + sql(")")


# --- order and page --------------------------------------------------------------------------


def order_term_sql(plan: ReadPlan, term: ast.OrderTerm | RelatedOrder) -> Fragment:
    if isinstance(term, RelatedOrder) and term.spread:
        expr = json_path(ident(term.embed_alias, term.term.field.name), term.term.field.json_path)
        term_ast = term.term
    elif isinstance(term, RelatedOrder):
        # A to-one embed's row is JSON; jsonb orders numbers as numbers and text as text.
        base = sql("(") + ident(term.embed_alias, "body") + sql("::jsonb)")
        expr = json_path(base, (ast.JsonStep("->", term.term.field.name),) + term.term.field.json_path)
        term_ast = term.term
    else:
        expr = filter_lhs(plan, term.field)
        term_ast = term
    if term_ast.direction is not None:
        expr = expr + sql(" " + term_ast.direction.upper())
    if term_ast.nulls is not None:
        expr = expr + sql(" NULLS " + term_ast.nulls.upper())
    return expr


def page_sql(limit: int | None, offset: int | None) -> Fragment:
    out = EMPTY
    if limit is not None:
        out = out + sql(" LIMIT ") + param(limit)
    if offset:
        out = out + sql(" OFFSET ") + param(offset)
    return out


# --- levels ----------------------------------------------------------------------------------


def _join_conditions(embed: EmbedPlan, parent_alias: str) -> tuple[Fragment, Fragment]:
    """(extra FROM items, WHERE condition) tying an embed's rows to its parent row.

    Only names, never values: written as text, and made a fragment once.
    """
    child = embed.plan.alias
    rel = embed.target.relationship
    if isinstance(rel, ComputedRelationship):
        return EMPTY, EMPTY
    assert isinstance(rel, Relationship)
    if rel.junction is None:
        return EMPTY, Fragment(_equal_columns(child, parent_alias, rel.columns))
    j = rel.junction
    junction = child + "_junction"
    on = _equal_columns(junction, child, j.target_columns)
    table = ident(j.table.schema, j.table.name).text
    from_items = f" INNER JOIN {table} AS {quote_ident(junction)} ON {on}"
    return Fragment(from_items), Fragment(_equal_columns(junction, parent_alias, j.source_columns))


def _equal_columns(left: str, right: str, pairs: Sequence[tuple[str, str]]) -> str:
    """`"left"."b" = "right"."a" AND …` for each (a, b) of `pairs`."""
    return " AND ".join(f"{ident(left, b).text} = {ident(right, a).text}" for a, b in pairs)


def _from_item(plan: ReadPlan, embed: EmbedPlan | None, parent_alias: str | None) -> Fragment:
    if embed is not None and isinstance(embed.target.relationship, ComputedRelationship):
        fn = embed.target.relationship.function
        assert parent_alias is not None
        return ident(fn.schema, fn.name) + sql("(") + ident(parent_alias) + sql(") AS ") + ident(plan.alias)
    return _table_as(plan.relation.schema, plan.relation.name, plan.alias)


@lru_cache(maxsize=4096)
def _aliased(expression: str, name: str) -> Fragment:
    """`"films"."title" AS "title"`: a select list's items repeat from request to request."""
    return Fragment(expression + " AS " + quote_ident(name))


@lru_cache(maxsize=1024)
def _table_as(schema: str, name: str, alias: str) -> Fragment:
    """`"schema"."table" AS "alias"`: the same few on every request, so cached."""
    return ident(schema, name) + _AS + ident(alias)


def spread_columns(plan: ReadPlan) -> list[tuple[str, bool]]:
    """The output keys a spread level lifts into its parent, each with "is an embed's JSON"."""
    columns = [(f.name, False) for f in plan.fields if not f.star]
    for embed in plan.embeds:
        if embed.spread:
            columns.extend(spread_columns(embed.plan))
        elif embed.selected:
            columns.append((embed.name, True))
    return columns


def spread_names(plan: ReadPlan) -> list[str]:
    return [name for name, _ in spread_columns(plan)]


def _embed_outputs(embed: EmbedPlan) -> list[tuple[Fragment, str, bool | None]]:
    """(expression, output key, kind) an embed adds to its parent's select.

    kind: True for JSON built from an embed, False for a plain column, None for an aggregate.
    """
    lateral = embed.lateral_alias
    if not embed.spread:
        body = ident(lateral, "body")
        if not embed.target.to_one:
            body = Fragment(f"coalesce({body.text}, '[]')")
        return [(body, embed.name, True)]
    aggregates = {h.name: h for h in embed.hoisted if h.name is not None}
    out: list[tuple[Fragment, str, bool | None]] = []
    for name, is_json in spread_columns(embed.plan):
        hoisted = aggregates.get(name)
        if hoisted is None:
            column = ident(lateral, name)
            if not embed.target.to_one:  # a to-many spread with no rows gives empty arrays
                column = sql("coalesce(") + column + sql(", '[]')")
            out.append((column, name, is_json))
        else:
            expr = sql(hoisted.aggregate.value + "(") + ident(lateral, name) + sql(")")
            out.append((cast(expr, hoisted.cast), hoisted.alias, None))
    for hoisted in embed.hoisted:
        if hoisted.name is None:
            out.append((cast(sql("pg_catalog.count(*)"), hoisted.cast), hoisted.alias, None))
    return out


def _embed_join(embed: EmbedPlan, parent_alias: str) -> Fragment:
    """` LEFT JOIN LATERAL (<the embed's rows as JSON>) AS "alias_lateral" ON TRUE`.

    Around the level's own SELECT goes only text, so it is written as two strings.
    """
    inner = level_sql(embed.plan, embed=embed, parent_alias=parent_alias)
    row = '"pgrst_row"'
    to_many = " HAVING pg_catalog.count(*) > 0"
    if embed.spread and embed.target.to_one:
        before, after = "", ""
    elif embed.spread:
        names = [quote_ident(name) for name in spread_names(embed.plan)]
        columns = ", ".join(f"json_agg({row}.{name}) AS {name}" for name in names)
        before, after = f"SELECT {columns} FROM (", f") AS {row}{to_many}"
    elif embed.target.to_one:
        before, after = f'SELECT row_to_json({row}) AS "body" FROM (', f") AS {row}"
    else:
        before, after = f'SELECT json_agg({row}) AS "body" FROM (', f") AS {row}{to_many}"
    kind = "INNER" if embed.inner else "LEFT"
    lateral = quote_ident(embed.lateral_alias)
    opening = Fragment(f" {kind} JOIN LATERAL ({before}")
    return join("", (opening, inner, Fragment(f"{after}) AS {lateral} ON TRUE")))



def level_sql(
    plan: ReadPlan,
    *,
    embed: EmbedPlan | None = None,
    parent_alias: str | None = None,
    count_only: bool = False,
    source: Fragment | None = None,
    page: Page | None = None,
) -> Fragment:
    """One level's SELECT; `count_only` keeps FROM and WHERE and drops output, order and page.

    `source` replaces the root's table with another row source of the same shape: the CTE
    holding a mutation's RETURNING rows, or a function call (`"api"."fn"($1)`). It is given
    the level's alias, so every column reference stays the same. `page` (the root's, as
    `top_level_page` settled it) replaces the plan's own limit and offset.

    The pieces are gathered in a list and joined once: adding fragments one by one would copy
    the growing text and parameters at every step.
    """
    group_by: list[Fragment] = []
    if count_only:
        parts = [_SELECT, _ONE, _FROM]
    else:
        outputs, group_by = _outputs(plan)
        parts = [_SELECT, join(", ", outputs) if outputs else _NULL, _FROM]
    where: list[Fragment] = []
    if source is None:
        parts.append(_from_item(plan, embed, parent_alias))
    else:
        parts += (source, _AS, ident(plan.alias))
    if embed is not None and parent_alias is not None:
        extra_from, tie = _join_conditions(embed, parent_alias)
        parts.append(extra_from)
        if tie.text:
            where.append(tie)
    parts.extend(_embed_join(child, plan.alias) for child in plan.embeds)
    where.extend(condition_sql(plan, c) for c in plan.conditions)
    if where:
        parts += (_WHERE, join(" AND ", where))
    if count_only:
        return join("", parts)
    if group_by:
        parts += (_GROUP_BY, join(", ", group_by))
    if plan.order:
        parts += (_ORDER_BY, join(", ", [order_term_sql(plan, t) for t in plan.order]))
    limit, offset = (plan.limit, plan.offset) if page is None else (page.limit, page.offset)
    if limit is not None:
        parts += (_LIMIT, param(limit))
    if offset:
        parts += (_OFFSET, param(offset))
    return join("", parts)


_SELECT = sql("SELECT ")
_FROM = sql(" FROM ")
_AS = sql(" AS ")
_WHERE = sql(" WHERE ")
_GROUP_BY = sql(" GROUP BY ")
_ORDER_BY = sql(" ORDER BY ")
_LIMIT = sql(" LIMIT ")
_OFFSET = sql(" OFFSET ")
_ONE = sql("1")
_NULL = sql("NULL")


def _outputs(plan: ReadPlan) -> tuple[list[Fragment], list[Fragment]]:
    """A level's select list (`expr AS "key"`), and what it groups by (nothing when it does not
    aggregate)."""
    outputs: list[Fragment] = []
    group_by: list[Fragment] = []
    for field in plan.fields:
        expr = output_expr(plan, field)
        if field.star:
            outputs.append(expr)
        elif expr.params:
            outputs.append(expr + _AS + ident(field.name))
        else:  # always, in fact: output expressions are shape, never values
            outputs.append(_aliased(expr.text, field.name))
        if field.aggregate is None:
            group_by.append(expr)
    grouped = plan.has_aggregates
    for child in plan.embeds:
        if not child.selected:
            continue
        for expr, name, kind in _embed_outputs(child):
            if grouped and kind:
                # json has no equality operator: group by its text, output it as json again.
                group_by.append(sql("(") + expr + sql(")::text"))
                expr = sql("((") + expr + sql(")::text)::json")
            elif kind is not None:
                group_by.append(expr)
            outputs.append(expr + _AS + ident(name))
    return outputs, group_by if grouped else []
