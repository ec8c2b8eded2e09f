"""Schemas, enum and composite types, domains, tables, ALTER TABLE and column defaults."""

from __future__ import annotations

import re

from sqlglot import exp

from pgrest_core.schema import ddl_objects as model
from pgrest_core.schema.ddl_objects import Reader
from pgrest_core.schema.ddl_text import (
    NAME,
    NOW_MARKER,
    QUALIFIED,
    ident_of,
    parse,
    split_qualified,
    split_top_level,
    unquote_string,
)
from pgrest_core.schema.ddl_types import fold_identifier, parse_type, quote_if_needed
from pgrest_core.schema.ddl_views import create_table_as, register_relation

# -- schemas, types, domains ------------------------------------------------------------------


def create_schema(reader: Reader, code: str) -> None:
    pattern = rf"^create\s+schema\s+(?:if\s+not\s+exists\s+)?({NAME})?(?:\s+authorization\s+({NAME}))?"
    match = re.match(pattern, code, re.IGNORECASE)
    if match is None:
        raise ValueError("unreadable CREATE SCHEMA")
    name = fold_identifier(match.group(1) or match.group(2))
    if name.lower() in ("if", "authorization"):
        name = fold_identifier(match.group(2))
    reader.schemas.setdefault(name, None)


def create_type(reader: Reader, code: str) -> None:
    match = re.match(rf"^create\s+type\s+({QUALIFIED})\s+as\s+(enum\s*)?\((.*)\)\s*$", code, re.I | re.S)
    if match is None:
        return  # a shell, range or base type: nothing the cache shows
    schema, name = split_qualified(match.group(1))
    schema = schema or reader.creation_schema()
    oid = next(reader.oids)
    if match.group(2):
        labels = tuple(unquote_string(s) for s in split_top_level(match.group(3)) if s)
        reader.types[(schema, name)] = model.TypeDef(oid, schema, name, "e", labels=labels)
    else:  # a composite type: a row type with a relation oid (not an exposed relation)
        reader.types[(schema, name)] = model.TypeDef(oid, schema, name, "c", relid=next(reader.oids))


def create_domain(reader: Reader, code: str) -> None:
    match = re.match(rf"^create\s+domain\s+({QUALIFIED})\s+(?:as\s+)?(.*)$", code, re.I | re.S)
    if match is None:
        raise ValueError("unreadable CREATE DOMAIN")
    schema, name = split_qualified(match.group(1))
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
        domain.default = deparse_default(
            reader, parse(f"SELECT {default.group(1)}").expressions[0], domain.base
        )
    reader.types[(schema, name)] = domain


# -- tables -----------------------------------------------------------------------------------


def create_table(reader: Reader, code: str) -> None:
    # A foreign table's SERVER … OPTIONS (…) says where rows come from, not what they are.
    code = re.sub(r"\)\s*server\s+\S+(\s+options\s*\(.*\))?\s*$", ")", code, flags=re.I | re.S)
    foreign = bool(re.match(r"^create\s+foreign\s+table", code, re.I))
    tree = parse(re.sub(r"^create\s+foreign\s+table", "CREATE TABLE", code, flags=re.I))
    if not isinstance(tree, exp.Create):
        raise ValueError("unreadable CREATE TABLE")
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    schema, name = reader.qualify(table)
    if tree.args.get("exists") and reader.find_relation(schema, name):
        return
    if tree.expression is not None:
        create_table_as(reader, schema, name, tree.expression)
        return
    partitioned = bool(re.search(r"\)\s*partition\s+by\b", code, re.I))
    rel = register_relation(reader, schema, name, "f" if foreign else "p" if partitioned else "r")
    try:
        _fill_table(reader, rel, tree, foreign)
    except Exception:  # the statement fails as a whole, as in PostgreSQL
        _forget_relation(reader, rel)
        raise


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
            rel.columns = [model.ColumnDef(c.name, c.type, c.not_null, c.default) for _n, c in parent.live()]
        elif isinstance(prop, exp.InheritsProperty):
            for parent_table in prop.expressions:
                parent = reader.relation_of(parent_table)
                rel.columns.extend(
                    model.ColumnDef(c.name, c.type, c.not_null, c.default) for _n, c in parent.live()
                )
    items = target.expressions if isinstance(target, exp.Schema) else []
    for item in items:  # columns first: a table constraint may come before the columns it names
        if isinstance(item, exp.ColumnDef):
            _add_column(reader, rel, item)
    for item in items:
        if not isinstance(item, exp.ColumnDef):
            _add_table_constraint(reader, rel, item)


def _add_column(reader: Reader, rel: model.RelationDef, item: exp.ColumnDef) -> None:
    name = ident_of(item.this)
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
        ident_of(constraint.this)
        if isinstance(constraint, exp.ColumnConstraint) and constraint.this
        else None
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
        column.default = deparse_default(reader, kind.this, _known_type(column))
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
        tuple(ident_of(c) for c in target_node.expressions)
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
        name = ident_of(item.this)
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
        if not isinstance(reference, exp.Reference):
            raise ValueError("unreadable FOREIGN KEY")
        _add_foreign_key(reader, rel, tuple(ident_of(c) for c in item.expressions), reference, name)


def _key_column(node: exp.Expression) -> str:
    return ident_of(node.this if isinstance(node, exp.Ordered) else node)


# ALTER TABLE actions that do not change what the cache says (owner, row level security,
# triggers, storage, statistics, validation, replica identity, clustering).
_IGNORED_ALTER = re.compile(
    rf"^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?{QUALIFIED}\s+(?:owner\s+to|"
    r"(?:enable|disable|force|no\s+force)\s+(?:row\s+level\s+security|trigger|rule|always|replica)|"
    r"set\s+(?:with|without|logged|unlogged|tablespace|access\s+method|\()|reset\s*\(|cluster\s+on|"
    r"set\s+without\s+cluster|replica\s+identity|validate\s+constraint|"
    r"alter\s+(?:column\s+)?\S+\s+set\s+(?:statistics|storage|compression|\())",
    re.I,
)
_SET_SCHEMA = re.compile(
    rf"^alter\s+(?:table|view|materialized\s+view|foreign\s+table)\s+(?:if\s+exists\s+)?({QUALIFIED})"
    rf"\s+set\s+schema\s+({NAME})\s*$",
    re.I,
)


def alter_table(reader: Reader, code: str) -> None:
    if _IGNORED_ALTER.match(code):
        return
    moved = _SET_SCHEMA.match(code)
    if moved:
        _set_schema(reader, moved.group(1), fold_identifier(moved.group(2)))
        return
    tree = parse(code)
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
            if not (action.args.get("exists") and _has_column(rel, ident_of(action.this))):
                _add_column(reader, rel, action)
        elif isinstance(action, exp.AlterColumn):
            _alter_column(reader, rel, action)
        elif isinstance(action, exp.Drop):
            _drop_in_table(reader, rel, action)


def _has_column(rel: model.RelationDef, name: str) -> bool:
    return any(col.name == name for _num, col in rel.live())


def _drop_in_table(reader: Reader, rel: model.RelationDef, action: exp.Drop) -> None:
    """DROP COLUMN (its number stays taken, as in pg_attribute) or DROP CONSTRAINT."""
    kind = str(action.args.get("kind") or "").upper()
    for target in action.args.get("tables") or []:
        name = ident_of(target.this)
        if kind == "COLUMN":
            if action.args.get("exists") and not _has_column(rel, name):
                continue
            rel.column(name).dropped = True
            reader.constraints = [
                con for con in reader.constraints if not _uses_column(reader, con, rel, name)
            ]
        elif kind == "CONSTRAINT":
            kept = [con for con in reader.constraints if not (con.relid == rel.oid and con.name == name)]
            if len(kept) == len(reader.constraints) and not action.args.get("exists"):
                raise model.DdlError(f'constraint "{name}" of relation "{rel.name}" does not exist')
            reader.constraints = kept


def _uses_column(reader: Reader, con: model.ConstraintDef, rel: model.RelationDef, name: str) -> bool:
    if con.relid == rel.oid and name in con.columns:
        return True
    if con.frelid != rel.oid:
        return False
    referenced = con.fcolumns
    if referenced is None:  # the referenced table's primary key
        referenced = next((c.columns for c in reader.constraints if c.relid == rel.oid and c.type == "p"), ())
    return name in referenced


def _set_schema(reader: Reader, target: str, schema: str) -> None:
    rel = reader.find_relation(*split_qualified(target))
    if rel is None:
        raise model.DdlError(f'relation "{target}" does not exist')
    if schema not in reader.schemas:
        raise model.DdlError(f'schema "{schema}" does not exist')
    del reader.relations[(rel.schema, rel.name)]
    row_type = reader.types.pop((rel.schema, rel.name), None)
    rel.schema = schema
    reader.relations[(schema, rel.name)] = rel
    if row_type is not None:
        row_type.schema = schema
        reader.types[(schema, rel.name)] = row_type


_RENAME = re.compile(
    rf"^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?({QUALIFIED})\s+rename\s+"
    rf"(?:(constraint|column)\s+)?(?:({NAME})\s+)?to\s+({NAME})\s*$",
    re.I,
)


def rename(reader: Reader, code: str) -> None:
    match = _RENAME.match(code)
    if match is None:
        raise ValueError("unreadable ALTER TABLE RENAME")
    rel = reader.find_relation(*split_qualified(match.group(1)))
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
    return (ident_of(db) if db is not None else None), ident_of(table.this)


def _known_type(column: model.ColumnDef) -> model.ResolvedType:
    if column.type is None:
        raise ValueError(f'the type of column "{column.name}" is unknown')
    return column.type


def _alter_column(reader: Reader, rel: model.RelationDef, action: exp.AlterColumn) -> None:
    """SET|DROP NOT NULL (sqlglot: allow_null), SET|DROP DEFAULT, TYPE."""
    column = rel.column(ident_of(action.this))
    allow_null = action.args.get("allow_null")
    if allow_null is not None:
        column.not_null = not allow_null
    elif action.args.get("drop"):
        column.default = None
    if action.args.get("default") is not None:
        column.default = deparse_default(reader, action.args["default"], _known_type(column))
    if action.args.get("dtype") is not None:
        column.type = reader.type_text(action.args["dtype"].sql(dialect="postgres"))


# -- defaults ---------------------------------------------------------------------------------


def deparse_default(reader: Reader, node: exp.Expression, column_type: model.ResolvedType) -> str:
    """A DEFAULT expression as pg_get_expr prints the common cases (literals get their cast)."""
    user = column_type.user
    if user is not None and user.kind == "d" and user.base is not None and not column_type.array:
        column_type = model.base_type(column_type)  # the literal is cast to the domain's base type
    shown = reader.display(column_type, typmod_given=False)
    if isinstance(node, exp.Paren):
        return deparse_default(reader, node.this, column_type)
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
    if isinstance(node, exp.Anonymous) and str(node.this) == NOW_MARKER:
        return "now()"
    if isinstance(node, exp.Anonymous) and not isinstance(node.this, exp.Expression):
        args = [deparse_default(reader, arg, column_type) for arg in node.expressions]
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
    # pg_get_expr prints function names in lower case; sqlglot upper-cases the ones it knows.
    return re.sub(r"^([A-Z_][A-Z0-9_]*)\(", lambda m: m.group(1).lower() + "(", node.sql(dialect="postgres"))


def _regclass(argument: str) -> str:
    """nextval('x') stores the sequence as a regclass constant: `'x'::regclass`."""
    return re.sub(r"::[a-z ]+$", "::regclass", argument) if argument.startswith("'") else argument
