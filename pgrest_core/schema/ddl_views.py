"""Views: their columns traced to the table columns they show, their types, and the writes
they accept (automatically, or through INSTEAD OF triggers and rules)."""

from __future__ import annotations

import dataclasses
import re

from sqlglot import exp

from pgrest_core.schema import ddl_objects as model
from pgrest_core.schema.ddl_objects import Reader
from pgrest_core.schema.ddl_text import (
    NAME,
    QUALIFIED,
    ident_of,
    parse,
    split_qualified,
)
from pgrest_core.schema.introspect_sql import DELETE_EVENT, INSERT_EVENT, UPDATE_EVENT


def register_relation(reader: Reader, schema: str, name: str, kind: str) -> model.RelationDef:
    """A new table, view or foreign table, and its row type (a type of the same name)."""
    if schema not in reader.schemas:
        raise model.DdlError(f'schema "{schema}" does not exist')
    rel = model.RelationDef(next(reader.oids), schema, name, kind, [])
    reader.relations[(schema, name)] = rel
    reader.claim_name(schema, name)
    reader.types[(schema, name)] = model.TypeDef(next(reader.oids), schema, name, "r", relid=rel.oid)
    return rel


def create_table_as(reader: Reader, schema: str, name: str, query: exp.Expression) -> None:
    """CREATE TABLE … AS SELECT: the query's columns, all nullable, no keys."""
    columns = output_columns(reader, first_select(query))
    if any(column_type is None for _name, column_type, _source in columns):
        raise ValueError("a column of CREATE TABLE AS has a type the reader cannot infer")
    rel = register_relation(reader, schema, name, "r")
    rel.columns = [model.ColumnDef(column_name, column_type) for column_name, column_type, _ in columns]


# -- views ------------------------------------------------------------------------------------


def create_view(reader: Reader, code: str) -> None:
    tree = parse(code)
    if not isinstance(tree, exp.Create):
        raise ValueError("unreadable CREATE VIEW")
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    schema, name = reader.qualify(table)
    materialized = bool(re.match(r"^create\s+(or\s+replace\s+)?materialized", code, re.I))
    names = [ident_of(c) for c in target.expressions] if isinstance(target, exp.Schema) else []
    query = tree.expression
    if isinstance(query, exp.Subquery):
        query = query.this
    select = query if isinstance(query, exp.Select) else first_select(query)
    columns = output_columns(reader, select)  # before registering: a failure leaves no view
    rel = reader.relations.get((schema, name)) or register_relation(
        reader, schema, name, "m" if materialized else "v"
    )
    rel.columns = [model.ColumnDef(col_name, col_type) for col_name, col_type, _source in columns]
    rel.sources, rel.auto_events, rel.base = {}, 0, 0
    if isinstance(query, exp.Select):  # a set operation's columns show no single table column
        rel.sources = {num: source for num, (_n, _t, source) in enumerate(columns, 1) if source is not None}
        if not materialized:
            rel.auto_events, rel.base = _view_events(reader, query, columns)
    for index, column_name in enumerate(names):
        rel.columns[index].name = column_name


def first_select(query: exp.Expression) -> exp.Select:
    for _depth in range(100):
        if isinstance(query, exp.Select):
            return query
        query = query.this
    raise ValueError("unreadable view query")


_Output = tuple[str, "model.ResolvedType | None", "tuple[int, int] | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class _FromItem:
    alias: str
    outputs: list[_Output] | None  # None: a function or VALUES, columns unknown
    relation: model.RelationDef | None  # None: a subquery


def _from_items(reader: Reader, query: exp.Select) -> list[_FromItem]:
    """Each FROM and JOIN item with the columns it offers (a subquery's or CTE's traced like a view's)."""
    with_ = query.args.get("with_") or query.args.get("with")
    ctes: dict[str, list[_Output]] = {}
    for cte in with_.expressions if with_ is not None else []:  # in order: a CTE may use the ones before
        ctes[ident_of(cte.args["alias"].this)] = output_columns(reader, first_select(cte.this))
    items: list[exp.Expression] = []
    from_ = query.args.get("from_") or query.args.get("from")
    if from_ is not None:
        items.append(from_.this)
        items.extend(from_.expressions)
    items.extend(join.this for join in query.args.get("joins") or [])
    out: list[_FromItem] = []
    for _index in range(1000):  # a parenthesised join adds its own items
        if not items:
            break
        item = items.pop(0)
        alias_node = item.args.get("alias")
        alias = ident_of(alias_node.this) if alias_node is not None and alias_node.this else None
        if (
            isinstance(item, exp.Subquery)
            and isinstance(item.this, exp.Table)
            and item.this.args.get("joins")
        ):
            inner = item.this
            items = [inner.copy(), *(join.this for join in inner.args["joins"]), *items]
            items[0].set("joins", None)
            continue
        out.append(_from_item(reader, item, alias, ctes))
    return out


def _from_item(
    reader: Reader, item: exp.Expression, alias: str | None, ctes: dict[str, list[_Output]]
) -> _FromItem:
    if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
        name = ident_of(item.this)
        if item.args.get("db") is None and name in ctes:
            return _FromItem(alias or name, ctes[name], None)
        rel = reader.relation_of(item)
        outputs: list[_Output] = [(c.name, c.type, (rel.oid, n)) for n, c in rel.live()]
        return _FromItem(alias or rel.name, outputs, rel)
    if isinstance(item, exp.Lateral) and isinstance(item.this, exp.Subquery):
        item = item.this
    if isinstance(item, exp.Subquery) and isinstance(item.this, exp.Select):
        return _FromItem(alias or "", output_columns(reader, item.this), None)
    if isinstance(item, exp.Table) and isinstance(item.this, exp.Anonymous):
        function = _function_in_from(reader, item)
        return _FromItem(alias or str(item.this.this).lower(), function, None)
    return _FromItem(alias or "", None, None)


def _function_in_from(reader: Reader, item: exp.Table) -> list[_Output] | None:
    """The columns of a function in FROM that returns a table's rows (none of them traced)."""
    db = item.args.get("db")
    name = str(item.this.this).lower()
    schemas = [ident_of(db)] if db is not None else reader.search_path
    for fn in reader.functions:
        if (
            fn.name == name
            and fn.schema in schemas
            and fn.returns is not None
            and fn.returns.user is not None
        ):
            rel = next((r for r in reader.relations.values() if r.oid == fn.returns.user.relid), None)
            if rel is not None and not fn.returns.array:
                return [(c.name, c.type, None) for _n, c in rel.live()]
    return None


def output_columns(reader: Reader, query: exp.Select) -> list[_Output]:
    items = _from_items(reader, query)
    out: list[_Output] = []
    for projection in query.expressions:
        star = isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        )
        if star:
            qualifier = ident_of(projection.args["table"]) if projection.args.get("table") else None
            for item in items:
                if qualifier is None or qualifier == item.alias:
                    if item.outputs is None:
                        raise ValueError("* over a function or VALUES is not read")
                    out.extend(item.outputs)
            continue
        if isinstance(projection, exp.Alias):
            name, inner = ident_of(projection.args["alias"]), projection.this
        elif isinstance(projection, exp.Column):
            name, inner = ident_of(projection.this), projection
        else:
            name, inner = projection.alias_or_name or "?column?", projection
        out.append((name, *_expression_type(reader, inner, items)))
    return out


def _expression_type(
    reader: Reader, node: exp.Expression, items: list[_FromItem]
) -> tuple[model.ResolvedType | None, tuple[int, int] | None]:
    if isinstance(node, exp.Column):
        column_name = ident_of(node.this)
        qualifier = ident_of(node.args["table"]) if node.args.get("table") else None
        for item in items:
            if item.outputs is None or (qualifier is not None and qualifier != item.alias):
                continue
            for output_name, output_type, source in item.outputs:
                if output_name == column_name:
                    return output_type, source
        return None, None
    return _infer_type(reader, node, items, 0), None


# Result types of common built-in functions, by name (as sqlglot prints them for postgres).
_FUNCTION_TYPES = {
    "count": "bigint", "random": "double precision", "version": "text", "encode": "text",
    "replace": "text", "upper": "text", "lower": "text", "concat": "text", "concat_ws": "text",
    "format": "text", "substring": "text", "substr": "text", "trim": "text", "btrim": "text",
    "left": "text", "right": "text", "md5": "text", "to_char": "text", "string_agg": "text",
    "initcap": "text", "repeat": "text", "lpad": "text", "rpad": "text",
    "current_timestamp": "timestamp with time zone",
    "length": "integer", "char_length": "integer", "json_agg": "json", "json_build_object": "json",
    "to_json": "json", "row_to_json": "json", "json_object_agg": "json", "json_build_array": "json",
    "array_to_json": "json", "jsonb_agg": "jsonb", "jsonb_build_object": "jsonb", "to_jsonb": "jsonb",
    "jsonb_object_agg": "jsonb", "jsonb_build_array": "jsonb", "avg": "numeric",
    "current_date": "date", "bool_and": "boolean", "bool_or": "boolean", "every": "boolean",
}  # fmt: skip
_SAME_AS_ARGUMENT = frozenset({"min", "max", "coalesce", "nullif", "greatest", "least"})
_BOOLEAN = (
    exp.Predicate, exp.Not, exp.And, exp.Or, exp.Exists, exp.In, exp.Is, exp.Between, exp.Like, exp.ILike,
)  # fmt: skip


def _infer_type(
    reader: Reader, node: exp.Expr, items: list[_FromItem], depth: int
) -> model.ResolvedType | None:
    """The type of a view column's expression, for the forms whose type is plain from the text."""
    if depth > 50:
        return None
    if isinstance(node, exp.Column):
        return _expression_type(reader, node, items)[0]
    if isinstance(node, exp.Cast):
        return reader.type_text(node.to.sql(dialect="postgres"))
    if isinstance(node, exp.Paren):
        return _infer_type(reader, node.this, items, depth + 1)
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select):
        columns = output_columns(reader, node.this)
        return columns[0][1] if len(columns) == 1 else None
    if isinstance(node, _BOOLEAN):
        return reader.type_text("boolean")
    if isinstance(node, exp.Case):
        branches = [branch.args.get("true") for branch in node.args.get("ifs") or []] + [
            node.args.get("default")
        ]
        return _first_known(reader, [b for b in branches if b is not None], items, depth)
    literal = _literal_type(node)
    if literal is not None:
        return reader.type_text(literal)
    if isinstance(node, exp.Func):
        return _function_type(reader, node, items, depth)
    return None


def _first_known(
    reader: Reader, nodes: list[exp.Expr], items: list[_FromItem], depth: int
) -> model.ResolvedType | None:
    for node in nodes:
        found = _infer_type(reader, node, items, depth + 1)
        if found is not None:
            return found
    return None


def _function_type(
    reader: Reader, node: exp.Expr, items: list[_FromItem], depth: int
) -> model.ResolvedType | None:
    head = re.match(r"([A-Za-z_][\w.]*)\s*(\(|$)", node.sql(dialect="postgres"))
    name = head.group(1).lower() if head else ""
    if name in _FUNCTION_TYPES:
        return reader.type_text(_FUNCTION_TYPES[name])
    arguments = [arg for arg in node.iter_expressions() if not isinstance(arg, exp.Star)]
    if name in _SAME_AS_ARGUMENT:
        return _first_known(reader, arguments, items, depth)
    if name == "sum" and arguments:
        argument = _infer_type(reader, arguments[0], items, depth + 1)
        base = argument.written.name if argument is not None and argument.written.builtin else None
        return reader.type_text({"int2": "bigint", "int4": "bigint", "float4": "real",
                                 "float8": "double precision"}.get(base or "", "numeric"))  # fmt: skip
    user = [fn for fn in reader.functions if fn.name == name.rsplit(".", 1)[-1] and not fn.set_of]
    if len(user) == 1 and user[0].returns is not None:  # a function's result has no type modifier
        returned = user[0].returns
        return model.ResolvedType(dataclasses.replace(returned.written, modifiers=()), returned.user)
    return None


def _literal_type(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "text"
        return "integer" if re.fullmatch(r"\d+", str(node.this)) else "numeric"
    if isinstance(node, exp.DPipe):
        return "text"
    if isinstance(node, exp.Boolean):
        return "boolean"
    return None


_NOT_AUTO_UPDATABLE = ("distinct", "group", "having", "limit", "offset", "with", "with_", "qualify")


def _view_events(reader: Reader, query: exp.Select, columns: list[_Output]) -> tuple[int, int]:
    """The writes PostgreSQL does automatically through a view, and the relation they go to.

    Only a view selecting from one table or view, without DISTINCT, GROUP BY, HAVING, LIMIT,
    OFFSET, WITH, aggregates, window or set-returning functions, is automatically updatable;
    it accepts DELETE, and INSERT and UPDATE when at least one column is a plain base column.
    """
    if any(query.args.get(arg) for arg in _NOT_AUTO_UPDATABLE) or query.args.get("joins"):
        return 0, 0
    items = _from_items(reader, query)
    if len(items) != 1 or items[0].relation is None or items[0].relation.kind == "m":
        return 0, 0
    if any(
        _outside_subqueries(node, (exp.AggFunc, exp.Window, exp.Explode, exp.Unnest))
        for node in query.expressions
    ):
        return 0, 0
    events = DELETE_EVENT
    if any(source is not None for _n, _t, source in columns):
        events |= INSERT_EVENT | UPDATE_EVENT
    return events, items[0].relation.oid


def _outside_subqueries(node: exp.Expr, kinds: tuple[type[exp.Expr], ...]) -> bool:
    """Whether `node` has one of `kinds` in it, not counting subqueries (their own business)."""
    prune = lambda inner: isinstance(inner, exp.Subquery | exp.Select) and inner is not node  # noqa: E731
    return any(isinstance(inner, kinds) for inner in node.walk(prune=prune))


_TRIGGER = re.compile(
    rf"^create\s+(?:or\s+replace\s+)?(?:constraint\s+)?trigger\s+{NAME}\s+instead\s+of\s+"
    rf"((?:insert|update|delete)(?:\s+or\s+(?:insert|update|delete))*)\s+on\s+({QUALIFIED})",
    re.I,
)
_RULE = re.compile(
    rf"^create\s+(?:or\s+replace\s+)?rule\s+{NAME}\s+as\s+on\s+(insert|update|delete)\s+to\s+"
    rf"({QUALIFIED})\s+(where\s+.*?\s+)?do\s+(also\s+|instead\s+)?",
    re.I | re.S,
)
_EVENT_BITS = {"insert": INSERT_EVENT, "update": UPDATE_EVENT, "delete": DELETE_EVENT}


def create_trigger(reader: Reader, code: str) -> None:
    """INSTEAD OF triggers make a view accept the writes they handle."""
    match = _TRIGGER.match(code)
    if match is None:
        return  # other triggers do not change what the cache says
    rel = reader.find_relation(*split_qualified(match.group(2)))
    if rel is None:
        raise model.DdlError(f'relation "{match.group(2)}" does not exist')
    for event in re.split(r"\s+or\s+", match.group(1).lower()):
        rel.instead_events |= _EVENT_BITS[event]


def create_rule(reader: Reader, code: str) -> None:
    """An unconditional DO INSTEAD rule makes a view accept its event."""
    match = _RULE.match(code)
    if match is None or match.group(3) or (match.group(4) or "").strip().lower() != "instead":
        return
    rel = reader.find_relation(*split_qualified(match.group(2)))
    if rel is None:
        raise model.DdlError(f'relation "{match.group(2)}" does not exist')
    rel.instead_events |= _EVENT_BITS[match.group(1).lower()]
