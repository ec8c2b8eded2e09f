"""Applying one DDL statement to the objects `pgrest_core.schema.ddl` is building.

Tables, views and ALTER TABLE are parsed with sqlglot (postgres dialect); function headers,
domains, types, comments and SET search_path with the small parsers here, because sqlglot
does not parse all of PostgreSQL's syntax for them (dollar-quoted bodies, SETOF, DEFAULT).
"""

from __future__ import annotations

import dataclasses
import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from pgrest_core.schema import ddl_objects as model
from pgrest_core.schema.ddl_objects import Reader
from pgrest_core.schema.ddl_split import strip_comments
from pgrest_core.schema.ddl_types import TypeSyntaxError, fold_identifier, parse_type, quote_if_needed
from pgrest_core.schema.introspect_sql import DELETE_EVENT, INSERT_EVENT, UPDATE_EVENT

_NAME = r'(?:"(?:[^"]|"")*"|[^\s."(),;]+)'
_QUALIFIED = rf"(?:{_NAME}\s*\.\s*)?{_NAME}"
_CREATE = re.compile(
    r"^create\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unlogged|recursive|global|local)\s+)*"
    r"(table|view|materialized\s+view|foreign\s+table|function|schema|type|domain|"
    r"(?:constraint\s+)?trigger|rule|aggregate|cast)\b",
    re.IGNORECASE,
)
_STRING = r"(?:[eE]?'(?:[^']|'')*'|\$(?P<tag>[^$]*)\$.*?\$(?P=tag)\$)"


def apply(reader: Reader, text: str, line: int) -> None:
    code = strip_comments(text).strip()
    head = code[:40].lower()
    try:
        match = _CREATE.match(code)
        if match:
            kind = " ".join(match.group(1).lower().split())
            _CREATORS[kind](reader, code)
        elif head.startswith("alter table") and re.search(r"\srename\s", code, re.I):
            _rename(reader, code)
        elif head.startswith("alter table"):
            _alter_table(reader, code)
        elif re.match(r"^alter\s+view\s", head):  # ALTER VIEW … ALTER COLUMN … SET DEFAULT
            _alter_table(reader, "ALTER TABLE " + re.sub(r"^alter\s+view\s", "", code, flags=re.I))
        elif head.startswith("comment on"):
            _comment(reader, code)
        elif re.match(r"^set\s+(session\s+|local\s+)?search_path\b", head):
            _set_search_path(reader, code)
        elif re.match(r"^select\s+pg_catalog\.set_config\s*\(\s*'search_path'", code, re.IGNORECASE):
            _set_config_search_path(reader, code)
        elif head.startswith("drop "):
            _drop(reader, code)
    except (SqlglotError, TypeSyntaxError, model.DdlError, ValueError, IndexError, KeyError) as error:
        reader.warn(line, text, f"skipped ({type(error).__name__}: {str(error).splitlines()[0][:200]})")


_NOW_MARKER = "pgrst_ddl_now"
# Rewrites outside quotes, for what sqlglot does not parse or would lose: now() (read as
# CURRENT_TIMESTAMP, which pg_get_expr prints differently), arrays of oid/reg* types, `bit
# varying`, and clauses that do not change the cache (DEFERRABLE, WITH [NO] DATA).
_REWRITES = re.compile(
    r"""('(?:[^']|'')*'|"(?:[^"]|"")*")"""
    r"|(?P<now>\bnow\s*\(\s*\))"
    r"|\b(?P<oid>oid|regclass|regproc|regprocedure|regtype|regrole|regnamespace)(?P<array>\s*\[)"
    r"|(?P<varbit>\bbit\s+varying\b)"
    r"|(?P<drop>\b(?:not\s+)?deferrable\b|\binitially\s+(?:deferred|immediate)\b|\bwith\s+(?:no\s+)?data\s*$)",
    re.IGNORECASE,
)


def _rewrite(match: re.Match[str]) -> str:
    if match.group("now"):
        return f"{_NOW_MARKER}()"
    if match.group("oid"):
        return f"pg_catalog.{match.group('oid')}{match.group('array')}"
    if match.group("varbit"):
        return "varbit"
    if match.group("drop"):
        return " "
    return match.group()


def _parse(code: str) -> exp.Expression:
    code = _REWRITES.sub(_rewrite, code)
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its "falling back to a Command" notices: we warn ourselves
    try:
        tree = sqlglot.parse_one(code, read="postgres")
    finally:
        logger.setLevel(level)
    if isinstance(tree, exp.Command) or not isinstance(tree, exp.Expression):
        raise ValueError("sqlglot cannot parse this statement")
    return tree


def _split_qualified(text: str) -> tuple[str | None, str]:
    parts = [fold_identifier(p) for p in re.findall(_NAME, text.strip())]
    parts = [p for p in parts if p != "."]
    if len(parts) == 1:
        return None, parts[0]
    return parts[0], parts[1]


def _unquote_string(text: str) -> str:
    text = text.strip()
    if text.startswith("$"):
        tag_end = text.index("$", 1) + 1
        return text[tag_end:-tag_end]
    if text[0] in "eE":
        body = text[2:-1].replace("''", "'")
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return text[1:-1].replace("''", "'")


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, current, index = [], 0, "", 0
    while index < len(text):
        char = text[index]
        if char in "'\"$":
            match = re.match(_STRING if char != '"' else r'"(?:[^"]|"")*"', text[index:], re.DOTALL)
            if match:
                current += match.group()
                index += len(match.group())
                continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
        index += 1
    if current.strip():
        parts.append(current)
    return [part.strip() for part in parts]


# -- schemas, types, domains ------------------------------------------------------------------


def _create_schema(reader: Reader, code: str) -> None:
    pattern = rf"^create\s+schema\s+(?:if\s+not\s+exists\s+)?({_NAME})?(?:\s+authorization\s+({_NAME}))?"
    match = re.match(pattern, code, re.IGNORECASE)
    if match is None:
        raise ValueError("unreadable CREATE SCHEMA")
    name = fold_identifier(match.group(1) or match.group(2))
    if name.lower() in ("if", "authorization"):
        name = fold_identifier(match.group(2))
    reader.schemas.setdefault(name, None)


def _create_type(reader: Reader, code: str) -> None:
    match = re.match(rf"^create\s+type\s+({_QUALIFIED})\s+as\s+(enum\s*)?\((.*)\)\s*$", code, re.I | re.S)
    if match is None:
        return  # a shell, range or base type: nothing the cache shows
    schema, name = _split_qualified(match.group(1))
    schema = schema or reader.creation_schema()
    oid = next(reader.oids)
    if match.group(2):
        labels = tuple(_unquote_string(s) for s in _split_top_level(match.group(3)) if s)
        reader.types[(schema, name)] = model.TypeDef(oid, schema, name, "e", labels=labels)
    else:  # a composite type: a row type with a relation oid (not an exposed relation)
        reader.types[(schema, name)] = model.TypeDef(oid, schema, name, "c", relid=next(reader.oids))


def _create_domain(reader: Reader, code: str) -> None:
    match = re.match(rf"^create\s+domain\s+({_QUALIFIED})\s+(?:as\s+)?(.*)$", code, re.I | re.S)
    if match is None:
        raise ValueError("unreadable CREATE DOMAIN")
    schema, name = _split_qualified(match.group(1))
    schema = schema or reader.creation_schema()
    rest = match.group(2)
    stop = re.search(r"\s(collate|default|constraint|not\s+null|null|check)\b", rest, re.I)
    type_text = rest[: stop.start()] if stop else rest
    options = rest[stop.start() :] if stop else ""
    default = re.search(
        r"\bdefault\s+(.*?)(?=\s+(?:constraint|not\s+null|null|check)\b|$)", options, re.I | re.S
    )
    domain = model.TypeDef(next(reader.oids), schema, name, "d", base=reader.type_text(type_text))
    unchecked = re.sub(r"\bcheck\s*\((?:[^()]|\([^()]*\))*\)", " ", options, flags=re.I)
    domain.not_null = bool(re.search(r"\bnot\s+null\b", unchecked, re.I))
    if default:
        assert domain.base is not None
        domain.default = _deparse_default(
            reader, _parse(f"SELECT {default.group(1)}").expressions[0], domain.base
        )
    reader.types[(schema, name)] = domain


# -- tables -----------------------------------------------------------------------------------


def _register_relation(reader: Reader, schema: str, name: str, kind: str) -> model.RelationDef:
    if schema not in reader.schemas:
        raise model.DdlError(f'schema "{schema}" does not exist')
    rel = model.RelationDef(next(reader.oids), schema, name, kind, [])
    reader.relations[(schema, name)] = rel
    reader.claim_name(schema, name)
    reader.types[(schema, name)] = model.TypeDef(next(reader.oids), schema, name, "r", relid=rel.oid)
    return rel


def _create_table(reader: Reader, code: str) -> None:
    # A foreign table's SERVER … OPTIONS (…) says where rows come from, not what they are.
    code = re.sub(r"\)\s*server\s+\S+(\s+options\s*\(.*\))?\s*$", ")", code, flags=re.I | re.S)
    foreign = bool(re.match(r"^create\s+foreign\s+table", code, re.I))
    tree = _parse(re.sub(r"^create\s+foreign\s+table", "CREATE TABLE", code, flags=re.I))
    assert isinstance(tree, exp.Create)
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    schema, name = reader.qualify(table)
    if tree.args.get("exists") and reader.find_relation(schema, name):
        return
    if tree.expression is not None:
        _create_table_as(reader, schema, name, tree.expression)
        return
    partitioned = bool(re.search(r"\)\s*partition\s+by\b", code, re.I))
    rel = _register_relation(reader, schema, name, "f" if foreign else "p" if partitioned else "r")
    try:
        _fill_table(reader, rel, tree, foreign)
    except Exception:  # the statement fails as a whole, as in PostgreSQL
        _forget_relation(reader, rel)
        raise


def _create_table_as(reader: Reader, schema: str, name: str, query: exp.Expression) -> None:
    """CREATE TABLE … AS SELECT: the query's columns, all nullable, no keys."""
    columns = _output_columns(reader, _first_select(query))
    if any(column_type is None for _name, column_type, _source in columns):
        raise ValueError("a column of CREATE TABLE AS has a type the reader cannot infer")
    rel = _register_relation(reader, schema, name, "r")
    rel.columns = [model.ColumnDef(column_name, column_type) for column_name, column_type, _ in columns]


def _forget_relation(reader: Reader, rel: model.RelationDef) -> None:
    reader.relations.pop((rel.schema, rel.name), None)
    reader.types.pop((rel.schema, rel.name), None)
    reader.constraints = [c for c in reader.constraints if rel.oid not in (c.relid, c.frelid)]


def _fill_table(reader: Reader, rel: model.RelationDef, tree: exp.Create, foreign: bool) -> None:
    target = tree.this
    if foreign:
        rel.auto_events = 0  # whether a foreign table accepts writes depends on its wrapper
    props = tree.args.get("properties")
    for prop in props.expressions if props is not None else []:
        if isinstance(prop, exp.PartitionedOfProperty):
            rel.partition = True
            parent = reader.relation_of(prop.this)
            rel.columns = [model.ColumnDef(c.name, c.type, c.not_null, c.default) for c in parent.columns]
        elif isinstance(prop, exp.InheritsProperty):
            for parent_table in prop.expressions:
                parent = reader.relation_of(parent_table)
                rel.columns.extend(
                    model.ColumnDef(c.name, c.type, c.not_null, c.default) for c in parent.columns
                )
    items = target.expressions if isinstance(target, exp.Schema) else []
    for item in items:  # columns first: a table constraint may come before the columns it names
        if isinstance(item, exp.ColumnDef):
            _add_column(reader, rel, item)
    for item in items:
        if not isinstance(item, exp.ColumnDef):
            _add_table_constraint(reader, rel, item)


def _add_column(reader: Reader, rel: model.RelationDef, item: exp.ColumnDef) -> None:
    name = _ident(item.this)
    kind = item.args.get("kind")
    if kind is None:  # in PARTITION OF: a column option, not a new column
        column = rel.column(name)
    else:
        written = parse_type(kind.sql(dialect="postgres"))
        column = model.ColumnDef(name, reader.resolve_type(written))
        rel.columns.append(column)
        if written.serial:
            sequence = reader.choose_name(rel.schema, rel.name, name, "seq")
            column.default = _nextval(reader, rel.schema, sequence)
            column.not_null = True
    for constraint in item.args.get("constraints") or []:
        _column_constraint(reader, rel, column, constraint)


def _nextval(reader: Reader, schema: str, sequence: str) -> str:
    shown = quote_if_needed(sequence)
    if schema not in reader.exposed:
        shown = f"{quote_if_needed(schema)}.{shown}"
    return f"nextval({model.sql_string(shown)}::regclass)"


def _column_constraint(
    reader: Reader, rel: model.RelationDef, column: model.ColumnDef, constraint: exp.Expression
) -> None:
    name = (
        _ident(constraint.this) if isinstance(constraint, exp.ColumnConstraint) and constraint.this else None
    )
    kind = constraint.args.get("kind") if isinstance(constraint, exp.ColumnConstraint) else constraint
    if isinstance(kind, exp.NotNullColumnConstraint):
        column.not_null = not kind.args.get("allow_null")
    elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
        column.not_null = True
        _add_key(reader, rel, "p", (column.name,), name)
    elif isinstance(kind, exp.UniqueColumnConstraint):
        _add_key(reader, rel, "u", (column.name,), name)
    elif isinstance(kind, exp.DefaultColumnConstraint):
        assert column.type is not None
        column.default = _deparse_default(reader, kind.this, column.type)
    elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        column.not_null = True
        if kind.args.get("expression") is not None:  # GENERATED ALWAYS AS (expr) STORED
            column.generated = True
            return
        sequence = reader.choose_name(rel.schema, rel.name, column.name, "seq")
        column.default = _nextval(reader, rel.schema, sequence)
        column.generated = bool(kind.this)  # ALWAYS (True) or BY DEFAULT (False)
    elif isinstance(kind, exp.ComputedColumnConstraint):
        column.generated = True
    elif isinstance(kind, exp.Reference):
        _add_foreign_key(reader, rel, (column.name,), kind, name)


def _add_key(
    reader: Reader, rel: model.RelationDef, kind: str, columns: tuple[str, ...], name: str | None
) -> None:
    if kind == "p":
        for column in columns:
            rel.column(column).not_null = True
    if name is None:
        label = "pkey" if kind == "p" else "key"
        name = reader.choose_name(
            rel.schema, rel.name, None if kind == "p" else model.joined_columns(columns), label
        )
    else:
        reader.claim_name(rel.schema, name)
    reader.constraints.append(model.ConstraintDef(name, kind, rel.oid, columns))


def _add_foreign_key(
    reader: Reader,
    rel: model.RelationDef,
    columns: tuple[str, ...],
    reference: exp.Reference,
    name: str | None,
) -> None:
    target_node = reference.this
    target_table = target_node.this if isinstance(target_node, exp.Schema) else target_node
    target = reader.relation_of(target_table)
    fcolumns = (
        tuple(_ident(c) for c in target_node.expressions)
        if isinstance(target_node, exp.Schema) and target_node.expressions
        else None
    )
    if name is None:
        name = reader.choose_name(rel.schema, rel.name, model.joined_columns(columns), "fkey")
    else:
        reader.claim_name(rel.schema, name)
    reader.constraints.append(model.ConstraintDef(name, "f", rel.oid, columns, target.oid, fcolumns))


def _add_table_constraint(reader: Reader, rel: model.RelationDef, item: exp.Expression) -> None:
    name = None
    if isinstance(item, exp.Constraint):
        name = _ident(item.this)
        for inner in item.expressions:
            _add_table_constraint_body(reader, rel, inner, name)
    else:
        _add_table_constraint_body(reader, rel, item, None)


def _add_table_constraint_body(
    reader: Reader, rel: model.RelationDef, item: exp.Expression, name: str | None
) -> None:
    if isinstance(item, exp.PrimaryKey):
        _add_key(reader, rel, "p", tuple(_key_column(c) for c in item.expressions), name)
    elif isinstance(item, exp.UniqueColumnConstraint):
        schema = item.this
        columns = schema.expressions if isinstance(schema, exp.Schema) else []
        _add_key(reader, rel, "u", tuple(_key_column(c) for c in columns), name)
    elif isinstance(item, exp.ForeignKey):
        reference = item.args.get("reference")
        assert isinstance(reference, exp.Reference)
        _add_foreign_key(reader, rel, tuple(_ident(c) for c in item.expressions), reference, name)


def _key_column(node: exp.Expression) -> str:
    return _ident(node.this if isinstance(node, exp.Ordered) else node)


def _alter_table(reader: Reader, code: str) -> None:
    tree = _parse(code)
    if not isinstance(tree, exp.Alter) or (tree.args.get("kind") or "").upper() != "TABLE":
        return
    rel = reader.find_relation(*_schema_and_name(reader, tree.this))
    if rel is None:
        if tree.args.get("exists"):
            return
        raise model.DdlError(f'relation "{tree.this.sql()}" does not exist')
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.AddConstraint):
            for item in action.expressions:
                _add_table_constraint(reader, rel, item)
        elif isinstance(action, exp.ColumnDef):
            _add_column(reader, rel, action)
        elif isinstance(action, exp.AlterColumn):
            _alter_column(reader, rel, action)


_RENAME = re.compile(
    rf"^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?({_QUALIFIED})\s+rename\s+"
    rf"(?:(constraint|column)\s+)?(?:({_NAME})\s+)?to\s+({_NAME})\s*$",
    re.I,
)


def _rename(reader: Reader, code: str) -> None:
    match = _RENAME.match(code)
    if match is None:
        raise ValueError("unreadable ALTER TABLE RENAME")
    rel = reader.find_relation(*_split_qualified(match.group(1)))
    if rel is None:
        raise model.DdlError(f'relation "{match.group(1)}" does not exist')
    new = fold_identifier(match.group(4))
    if match.group(3) is None:  # RENAME TO: the table
        del reader.relations[(rel.schema, rel.name)]
        row_type = reader.types.pop((rel.schema, rel.name), None)
        rel.name = new
        reader.relations[(rel.schema, new)] = rel
        if row_type is not None:
            row_type.name = new
            reader.types[(rel.schema, new)] = row_type
        return
    old = fold_identifier(match.group(3))
    if (match.group(2) or "").lower() == "constraint":
        for con in reader.constraints:
            if con.relid == rel.oid and con.name == old:
                con.name = new
                reader.claim_name(rel.schema, new)
        return
    rel.column(old).name = new
    for con in reader.constraints:
        if con.relid == rel.oid:
            con.columns = tuple(new if c == old else c for c in con.columns)
        if con.frelid == rel.oid and con.fcolumns is not None:
            con.fcolumns = tuple(new if c == old else c for c in con.fcolumns)


def _schema_and_name(reader: Reader, table: exp.Expression) -> tuple[str | None, str]:
    db = table.args.get("db")
    return (_ident(db) if db is not None else None), _ident(table.this)


def _alter_column(reader: Reader, rel: model.RelationDef, action: exp.AlterColumn) -> None:
    column = rel.column(_ident(action.this))
    if action.args.get("drop") and action.args.get("allow_null") is not None:
        column.not_null = False
    elif action.args.get("allow_null") is not None:
        column.not_null = not action.args["allow_null"] if action.args.get("allow_null") is not None else True
    if action.args.get("default") is not None:
        assert column.type is not None
        column.default = _deparse_default(reader, action.args["default"], column.type)
    elif action.args.get("drop") and action.args.get("allow_null") is None:
        column.default = None
    if action.args.get("dtype") is not None:
        column.type = reader.type_text(action.args["dtype"].sql(dialect="postgres"))


# -- defaults ---------------------------------------------------------------------------------


def _deparse_default(reader: Reader, node: exp.Expression, column_type: model.ResolvedType) -> str:
    """A DEFAULT expression as pg_get_expr prints the common cases (literals get their cast)."""
    user = column_type.user
    if user is not None and user.kind == "d" and user.base is not None and not column_type.array:
        column_type = model.base_type(column_type)  # the literal is cast to the domain's base type
    shown = reader.display(column_type, typmod_given=False)
    if isinstance(node, exp.Paren):
        return _deparse_default(reader, node.this, column_type)
    if isinstance(node, exp.Literal) and node.is_string:
        return f"{model.sql_string(str(node.this))}::{shown}"
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        number = node.this.this
        cast = "integer" if re.fullmatch(r"\d+", number) and int(number) < 2**31 else "numeric"
        if re.fullmatch(r"\d+", number) and int(number) >= 2**31:
            cast = "bigint"
        return f"'-{number}'::{cast}"
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Null):
        return f"NULL::{shown}"
    if isinstance(node, exp.CurrentTimestamp):
        return "CURRENT_TIMESTAMP"
    if isinstance(node, exp.CurrentDate):
        return "CURRENT_DATE"
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        target = reader.type_text(node.to.sql(dialect="postgres"))
        return f"{model.sql_string(str(node.this.this))}::{reader.display(target, typmod_given=False)}"
    if isinstance(node, exp.Anonymous) and str(node.this) == _NOW_MARKER:
        return "now()"
    if isinstance(node, exp.Anonymous) and not isinstance(node.this, exp.Expression):
        args = [_deparse_default(reader, arg, column_type) for arg in node.expressions]
        if str(node.this).lower() == "nextval" and len(args) == 1:
            args = [_regclass(args[0])]
        return f"{str(node.this).lower()}({', '.join(args)})"
    if isinstance(node, exp.Cast):
        target = reader.type_text(node.to.sql(dialect="postgres"))
        if (
            target.written.builtin
            and target.written.name == "regclass"
            and isinstance(node.this, exp.Literal)
        ):
            return f"{model.sql_string(str(node.this.this))}::regclass"
    return node.sql(dialect="postgres")


def _regclass(argument: str) -> str:
    """nextval('x') stores the sequence as a regclass constant: `'x'::regclass`."""
    return re.sub(r"::[a-z ]+$", "::regclass", argument) if argument.startswith("'") else argument


# -- views ------------------------------------------------------------------------------------


def _create_view(reader: Reader, code: str) -> None:
    tree = _parse(code)
    assert isinstance(tree, exp.Create)
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    schema, name = reader.qualify(table)
    materialized = bool(re.match(r"^create\s+(or\s+replace\s+)?materialized", code, re.I))
    names = [_ident(c) for c in target.expressions] if isinstance(target, exp.Schema) else []
    query = tree.expression
    if isinstance(query, exp.Subquery):
        query = query.this
    select = query if isinstance(query, exp.Select) else _first_select(query)
    columns = _output_columns(reader, select)  # before registering: a failure leaves no view
    rel = reader.relations.get((schema, name)) or _register_relation(
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


def _first_select(query: exp.Expression) -> exp.Select:
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
        ctes[_ident(cte.args["alias"].this)] = _output_columns(reader, _first_select(cte.this))
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
        alias = _ident(alias_node.this) if alias_node is not None and alias_node.this else None
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
        name = _ident(item.this)
        if item.args.get("db") is None and name in ctes:
            return _FromItem(alias or name, ctes[name], None)
        rel = reader.relation_of(item)
        outputs: list[_Output] = [(c.name, c.type, (rel.oid, n)) for n, c in enumerate(rel.columns, 1)]
        return _FromItem(alias or rel.name, outputs, rel)
    if isinstance(item, exp.Lateral) and isinstance(item.this, exp.Subquery):
        item = item.this
    if isinstance(item, exp.Subquery) and isinstance(item.this, exp.Select):
        return _FromItem(alias or "", _output_columns(reader, item.this), None)
    if isinstance(item, exp.Table) and isinstance(item.this, exp.Anonymous):
        function = _function_in_from(reader, item)
        return _FromItem(alias or str(item.this.this).lower(), function, None)
    return _FromItem(alias or "", None, None)


def _function_in_from(reader: Reader, item: exp.Table) -> list[_Output] | None:
    """The columns of a function in FROM that returns a table's rows (none of them traced)."""
    db = item.args.get("db")
    name = str(item.this.this).lower()
    schemas = [_ident(db)] if db is not None else reader.search_path
    for fn in reader.functions:
        if (
            fn.name == name
            and fn.schema in schemas
            and fn.returns is not None
            and fn.returns.user is not None
        ):
            rel = next((r for r in reader.relations.values() if r.oid == fn.returns.user.relid), None)
            if rel is not None and not fn.returns.array:
                return [(c.name, c.type, None) for c in rel.columns]
    return None


def _output_columns(reader: Reader, query: exp.Select) -> list[_Output]:
    items = _from_items(reader, query)
    out: list[_Output] = []
    for projection in query.expressions:
        star = isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        )
        if star:
            qualifier = _ident(projection.args["table"]) if projection.args.get("table") else None
            for item in items:
                if qualifier is None or qualifier == item.alias:
                    if item.outputs is None:
                        raise ValueError("* over a function or VALUES is not read")
                    out.extend(item.outputs)
            continue
        if isinstance(projection, exp.Alias):
            name, inner = _ident(projection.args["alias"]), projection.this
        elif isinstance(projection, exp.Column):
            name, inner = _ident(projection.this), projection
        else:
            name, inner = projection.alias_or_name or "?column?", projection
        out.append((name, *_expression_type(reader, inner, items)))
    return out


def _expression_type(
    reader: Reader, node: exp.Expression, items: list[_FromItem]
) -> tuple[model.ResolvedType | None, tuple[int, int] | None]:
    if isinstance(node, exp.Column):
        column_name = _ident(node.this)
        qualifier = _ident(node.args["table"]) if node.args.get("table") else None
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
        columns = _output_columns(reader, node.this)
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
    rf"^create\s+(?:or\s+replace\s+)?(?:constraint\s+)?trigger\s+{_NAME}\s+instead\s+of\s+"
    rf"((?:insert|update|delete)(?:\s+or\s+(?:insert|update|delete))*)\s+on\s+({_QUALIFIED})",
    re.I,
)
_RULE = re.compile(
    rf"^create\s+(?:or\s+replace\s+)?rule\s+{_NAME}\s+as\s+on\s+(insert|update|delete)\s+to\s+"
    rf"({_QUALIFIED})\s+(where\s+.*?\s+)?do\s+(also\s+|instead\s+)?",
    re.I | re.S,
)
_EVENT_BITS = {"insert": INSERT_EVENT, "update": UPDATE_EVENT, "delete": DELETE_EVENT}


def _create_trigger(reader: Reader, code: str) -> None:
    """INSTEAD OF triggers make a view accept the writes they handle."""
    match = _TRIGGER.match(code)
    if match is None:
        return  # other triggers do not change what the cache says
    rel = reader.find_relation(*_split_qualified(match.group(2)))
    if rel is None:
        raise model.DdlError(f'relation "{match.group(2)}" does not exist')
    for event in re.split(r"\s+or\s+", match.group(1).lower()):
        rel.instead_events |= _EVENT_BITS[event]


def _create_rule(reader: Reader, code: str) -> None:
    """An unconditional DO INSTEAD rule makes a view accept its event."""
    match = _RULE.match(code)
    if match is None or match.group(3) or (match.group(4) or "").strip().lower() != "instead":
        return
    rel = reader.find_relation(*_split_qualified(match.group(2)))
    if rel is None:
        raise model.DdlError(f'relation "{match.group(2)}" does not exist')
    rel.instead_events |= _EVENT_BITS[match.group(1).lower()]


# -- functions --------------------------------------------------------------------------------

_FUNCTION_HEAD = re.compile(rf"^create\s+(?:or\s+replace\s+)?function\s+({_QUALIFIED})\s*\(", re.I)
_RETURNS_END = re.compile(
    r"\s(language|as|immutable|stable|volatile|strict|called|returns\s+null|security|external|cost|rows|"
    r"set|parallel|leakproof|not\s+leakproof|window|transform|support|begin\s+atomic|return)\b",
    re.I,
)


def _balanced(text: str, open_at: int) -> int:
    """The index of the `)` closing the `(` at `open_at`."""
    depth, index = 0, open_at
    while index < len(text):
        char = text[index]
        if char in "'\"$":
            match = re.match(_STRING if char != '"' else r'"(?:[^"]|"")*"', text[index:], re.DOTALL)
            if match:
                index += len(match.group())
                continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError("unbalanced parentheses")


def _create_function(reader: Reader, code: str) -> None:
    head = _FUNCTION_HEAD.match(code)
    if head is None:
        raise ValueError("unreadable CREATE FUNCTION")
    schema, name = _split_qualified(head.group(1))
    schema = schema or reader.creation_schema()
    close = _balanced(code, head.end() - 1)
    args = [_function_arg(reader, text) for text in _split_top_level(code[head.end() : close]) if text]
    rest = code[close + 1 :]
    returns, set_of = _returns(reader, rest, args)
    bodyless = re.sub(_STRING, "''", rest, flags=re.DOTALL)
    volatility = re.search(r"\b(immutable|stable|volatile)\b", bodyless, re.I)
    rows = re.search(r"\brows\s+([\d.]+)", bodyless, re.I)
    function = model.FunctionDef(
        schema=schema,
        name=name,
        args=args,
        returns=returns,
        set_of=set_of,
        volatility=volatility.group(1)[0].lower() if volatility else "v",
        rows=float(rows.group(1)) if rows else (1000.0 if set_of else 0.0),
    )
    signature = _input_signature(reader, function)
    reader.functions = [
        fn for fn in reader.functions
        if not (fn.schema == schema and fn.name == name and _input_signature(reader, fn) == signature)
    ]  # fmt: skip
    reader.functions.append(function)


def _input_signature(reader: Reader, fn: model.FunctionDef) -> tuple[str, ...]:
    return tuple(reader.display(a.type, typmod_given=False) for a in fn.args if a.mode in ("i", "b", "v"))


_MODES = {"in": "i", "out": "o", "inout": "b", "variadic": "v"}


def _function_arg(reader: Reader, text: str) -> model.ArgDef:
    default = re.search(r"\s(default\b|=)", text, re.I)
    body = text[: default.start()] if default else text
    words = body.split(None, 1)
    mode = "i"
    if words and words[0].lower() in _MODES and len(words) > 1:
        mode, body = _MODES[words[0].lower()], words[1]
    name, type_text = "", body.strip()
    if not _is_bare_type(type_text):
        first = re.match(_NAME, type_text)
        assert first is not None
        name, type_text = fold_identifier(first.group()), type_text[first.end() :].strip()
    return model.ArgDef(name, reader.type_text(type_text), mode, default is not None)


def _is_bare_type(text: str) -> bool:
    """Whether an argument is only a type (no name): `integer`, `double precision`, `s.t[]`."""
    stripped = re.sub(r"\([^()]*\)|\[\s*\d*\s*\]", "", text).strip()
    if re.fullmatch(_QUALIFIED, stripped):
        return True
    try:
        written = parse_type(text)
    except TypeSyntaxError:
        return False
    return written.builtin and " " in stripped


def _returns(reader: Reader, rest: str, args: list[model.ArgDef]) -> tuple[model.ResolvedType | None, bool]:
    match = re.search(r"\breturns\s+", rest, re.I)
    outputs = [arg for arg in args if arg.mode in ("o", "b")]
    if match is None:  # only OUT parameters: one gives its type, several a record
        if len(outputs) == 1:
            return outputs[0].type, False
        return None, False
    after = rest[match.end() :]
    table = re.match(r"table\s*\(", after, re.I)
    if table:
        close = _balanced(after, table.end() - 1)
        for text in _split_top_level(after[table.end() : close]):
            column = _function_arg(reader, text)
            args.append(model.ArgDef(column.name, column.type, "t"))
        columns = [arg for arg in args if arg.mode == "t"]
        return (columns[0].type if len(columns) == 1 else None), True
    end = _RETURNS_END.search(after)
    type_text = (after[: end.start()] if end else after).strip()
    set_of = bool(re.match(r"setof\s", type_text, re.I))
    if set_of:
        type_text = type_text[5:].strip()
    written = parse_type(type_text)
    if written.builtin and written.name == "record" and not written.array:
        if len(outputs) == 1 and not set_of:
            return outputs[0].type, False
        return None, set_of
    return reader.resolve_type(written), set_of


# -- aggregates and casts (media type handlers and data representations) ----------------------

_AGGREGATE_HEAD = re.compile(rf"^create\s+(?:or\s+replace\s+)?aggregate\s+({_QUALIFIED})\s*\(", re.I)


def _create_aggregate(reader: Reader, code: str) -> None:
    head = _AGGREGATE_HEAD.match(code)
    if head is None:
        raise ValueError("unreadable CREATE AGGREGATE")
    schema, name = _split_qualified(head.group(1))
    close = _balanced(code, head.end() - 1)
    arguments = [a for a in _split_top_level(code[head.end() : close]) if a and a != "*"]
    open_options = code.index("(", close + 1)
    options: dict[str, str] = {}
    for option in _split_top_level(code[open_options + 1 : _balanced(code, open_options)]):
        key, _, value = option.partition("=")
        options[key.strip().lower()] = value.strip()
    returns = reader.type_text(options["stype"])
    if options.get("finalfunc"):
        final = reader.find_function(*_split_qualified(options["finalfunc"]))
        if final is None or final.returns is None:
            raise model.DdlError(f"function {options['finalfunc']} does not exist")
        returns = final.returns
    argument = _function_arg(reader, arguments[0]).type if len(arguments) == 1 else None
    schema = schema or reader.creation_schema()
    reader.aggregates = [a for a in reader.aggregates if not (a.schema == schema and a.name == name)]
    reader.aggregates.append(model.AggregateDef(schema, name, argument, returns))


_CAST = re.compile(
    rf"^create\s+cast\s*\((.+?)\s+as\s+(.+?)\)\s*with\s+function\s+({_QUALIFIED})\s*(\(|$)", re.I | re.S
)


def _create_cast(reader: Reader, code: str) -> None:
    match = _CAST.match(code)
    if match is None:
        return  # WITHOUT FUNCTION or WITH INOUT: no function to call
    schema, name = _split_qualified(match.group(3))
    function = reader.find_function(schema, name)
    if function is None:
        raise model.DdlError(f"function {match.group(3)} does not exist")
    cast = model.CastDef(
        reader.type_text(match.group(1)), reader.type_text(match.group(2)), function.schema, name
    )
    reader.casts.append(cast)


# -- comments, search_path, drops -------------------------------------------------------------

_COMMENT = re.compile(
    rf"^comment\s+on\s+(table|view|materialized\s+view|foreign\s+table|column|function|schema)\s+"
    rf"(.*?)\s+is\s+(null|{_STRING})\s*$",
    re.I | re.S,
)


def _comment(reader: Reader, code: str) -> None:
    match = _COMMENT.match(code)
    if match is None:
        return  # comments on other objects do not reach the cache
    kind = " ".join(match.group(1).lower().split())
    target = match.group(2).strip()
    text = None if match.group(3).lower() == "null" else _unquote_string(match.group(3))
    if kind == "schema":
        name = fold_identifier(target)
        if name in reader.schemas:
            reader.schemas[name] = text
    elif kind == "column":
        parts = [fold_identifier(p) for p in re.findall(_NAME, target) if p != "."]
        rel = reader.find_relation(parts[0] if len(parts) == 3 else None, parts[-2])
        if rel is None:
            raise model.DdlError(f'relation "{parts[-2]}" does not exist')
        rel.column(parts[-1]).description = text
    elif kind == "function":
        _comment_function(reader, target, text)
    else:
        rel = reader.find_relation(*_split_qualified(target))
        if rel is None:
            raise model.DdlError(f'relation "{target}" does not exist')
        rel.description = text


def _comment_function(reader: Reader, target: str, text: str | None) -> None:
    paren = target.find("(")
    schema, name = _split_qualified(target[:paren] if paren >= 0 else target)
    candidates = [
        fn for fn in reader.functions
        if fn.name == name and (fn.schema == schema if schema else fn.schema in reader.search_path)
    ]  # fmt: skip
    if paren >= 0 and len(candidates) > 1:
        wanted = tuple(
            reader.display(_function_arg(reader, arg).type, typmod_given=False)
            for arg in _split_top_level(target[paren + 1 : _balanced(target, paren)])
            if arg and not re.match(r"out\s", arg, re.I)
        )
        candidates = [fn for fn in candidates if _input_signature(reader, fn) == wanted]
    if candidates:
        candidates[0].description = text


def _set_search_path(reader: Reader, code: str) -> None:
    value = re.split(r"\bto\b|=", code, maxsplit=1, flags=re.I)[1]
    reader.search_path = [_unquote_if_string(p) for p in _split_top_level(value.strip()) if p]


def _set_config_search_path(reader: Reader, code: str) -> None:
    match = re.search(r"set_config\s*\(\s*'search_path'\s*,\s*'((?:[^']|'')*)'", code, re.I)
    if match:
        reader.search_path = [
            _unquote_if_string(p) for p in match.group(1).replace("''", "'").split(",") if p.strip()
        ]


def _unquote_if_string(text: str) -> str:
    text = text.strip()
    if text.startswith("'"):
        text = _unquote_string(text)
    return fold_identifier(text.strip())


def _drop(reader: Reader, code: str) -> None:
    match = re.match(
        r"^drop\s+(table|view|materialized\s+view|foreign\s+table|function|schema|type|domain|aggregate)\s+(?:if\s+exists\s+)?(.*?)(\s+cascade|\s+restrict)?\s*$",
        code, re.I | re.S,
    )  # fmt: skip
    if match is None:
        return
    kind = " ".join(match.group(1).lower().split())
    for target in _split_top_level(match.group(2)):
        _drop_one(reader, kind, target)


def _drop_one(reader: Reader, kind: str, target: str) -> None:
    if kind == "schema":
        name = fold_identifier(target)
        reader.schemas.pop(name, None)
        reader.relations = {k: v for k, v in reader.relations.items() if k[0] != name}
        reader.functions = [fn for fn in reader.functions if fn.schema != name]
        reader.types = {k: v for k, v in reader.types.items() if k[0] != name}
        return
    if kind == "aggregate":
        paren = target.find("(")
        schema, name = _split_qualified(target[:paren] if paren >= 0 else target)
        reader.aggregates = [
            a for a in reader.aggregates if not (a.name == name and (schema is None or a.schema == schema))
        ]
        return
    if kind == "function":
        paren = target.find("(")
        schema, name = _split_qualified(target[:paren] if paren >= 0 else target)
        reader.functions = [
            fn for fn in reader.functions if not (fn.name == name and (schema is None or fn.schema == schema))
        ]
        return
    schema, name = _split_qualified(target)
    if kind in ("type", "domain"):
        for path in [schema] if schema else reader.search_path:
            reader.types.pop((path, name), None)
        return
    rel = reader.find_relation(schema, name)
    if rel is not None:
        del reader.relations[(rel.schema, rel.name)]
        reader.types.pop((rel.schema, rel.name), None)
        reader.constraints = [c for c in reader.constraints if rel.oid not in (c.relid, c.frelid)]


def _ident(node: object) -> str:
    return model.ident(node)


_CREATORS = {
    "table": _create_table,
    "foreign table": _create_table,
    "view": _create_view,
    "materialized view": _create_view,
    "function": _create_function,
    "schema": _create_schema,
    "type": _create_type,
    "domain": _create_domain,
    "trigger": _create_trigger,
    "constraint trigger": _create_trigger,
    "rule": _create_rule,
    "aggregate": _create_aggregate,
    "cast": _create_cast,
}
