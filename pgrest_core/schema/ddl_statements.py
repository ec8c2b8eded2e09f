"""Applying one DDL statement to the objects `pgrest_core.schema.ddl` is building.

Tables, views and ALTER TABLE are parsed with sqlglot (postgres dialect); function headers,
domains, types, comments and SET search_path with the small parsers here, because sqlglot
does not parse all of PostgreSQL's syntax for them (dollar-quoted bodies, SETOF, DEFAULT).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

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
    r"(table|view|materialized\s+view|foreign\s+table|function|schema|type|domain)\b",
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
_NOW_OR_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")|\bnow\s*\(\s*\)", re.IGNORECASE)


def _parse(code: str) -> exp.Expression:
    # sqlglot reads now() as CURRENT_TIMESTAMP, which pg_get_expr prints differently: mark it.
    code = _NOW_OR_QUOTED.sub(lambda m: m.group(1) or f"{_NOW_MARKER}()", code)
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
    tree = _parse(code)
    assert isinstance(tree, exp.Create)
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    schema, name = reader.qualify(table)
    if tree.args.get("exists") and reader.find_relation(schema, name):
        return
    if tree.expression is not None:
        raise ValueError("CREATE TABLE AS is not read")
    foreign = bool(re.match(r"^create\s+foreign\s+table", code, re.I))
    partitioned = bool(re.search(r"\)\s*partition\s+by\b", code, re.I))
    rel = _register_relation(reader, schema, name, "f" if foreign else "p" if partitioned else "r")
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
        rel.events = 0  # whether a foreign table accepts writes depends on its wrapper
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
    rel.sources, rel.events = {}, 0
    if isinstance(query, exp.Select):  # a set operation's columns show no single table column
        rel.sources = {num: source for num, (_n, _t, source) in enumerate(columns, 1) if source is not None}
        if not materialized:
            rel.events = _view_events(reader, query, columns)
    for index, column_name in enumerate(names):
        rel.columns[index].name = column_name


def _first_select(query: exp.Expression) -> exp.Select:
    for _depth in range(100):
        if isinstance(query, exp.Select):
            return query
        query = query.this
    raise ValueError("unreadable view query")


_Output = tuple[str, "model.ResolvedType | None", "tuple[int, int] | None"]


@dataclass(frozen=True, slots=True)
class _FromItem:
    alias: str
    outputs: list[_Output] | None  # None: a function or VALUES, columns unknown
    relation: model.RelationDef | None  # None: a subquery


def _from_items(reader: Reader, query: exp.Select) -> list[_FromItem]:
    """Each FROM and JOIN item with the columns it offers (a subquery's traced like a view's)."""
    items: list[exp.Expression] = []
    from_ = query.args.get("from_") or query.args.get("from")
    if from_ is not None:
        items.append(from_.this)
        items.extend(from_.expressions)
    items.extend(join.this for join in query.args.get("joins") or [])
    out: list[_FromItem] = []
    for item in items:
        alias_node = item.args.get("alias")
        alias = _ident(alias_node.this) if alias_node is not None and alias_node.this else None
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            rel = reader.relation_of(item)
            outputs: list[_Output] = [(c.name, c.type, (rel.oid, n)) for n, c in enumerate(rel.columns, 1)]
            out.append(_FromItem(alias or rel.name, outputs, rel))
        elif isinstance(item, exp.Subquery) and isinstance(item.this, exp.Select):
            out.append(_FromItem(alias or "", _output_columns(reader, item.this), None))
        else:
            out.append(_FromItem(alias or "", None, None))
    return out


def _output_columns(reader: Reader, query: exp.Select) -> list[_Output]:
    items = _from_items(reader, query)
    with_ctes = query.args.get("with") is not None
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
        out.append((name, *_expression_type(reader, inner, items, with_ctes)))
    return out


def _expression_type(
    reader: Reader, node: exp.Expression, items: list[_FromItem], with_ctes: bool
) -> tuple[model.ResolvedType | None, tuple[int, int] | None]:
    if isinstance(node, exp.Column) and not with_ctes:
        column_name = _ident(node.this)
        qualifier = _ident(node.args["table"]) if node.args.get("table") else None
        for item in items:
            if item.outputs is None or (qualifier is not None and qualifier != item.alias):
                continue
            for output_name, output_type, source in item.outputs:
                if output_name == column_name:
                    return output_type, source
        return None, None
    if isinstance(node, exp.Cast):
        return reader.type_text(node.to.sql(dialect="postgres")), None
    literal = _literal_type(node)
    return (reader.type_text(literal) if literal else None), None


def _literal_type(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "text"
        return "integer" if re.fullmatch(r"\d+", str(node.this)) else "numeric"
    if isinstance(node, exp.DPipe):
        return "text"
    if isinstance(node, exp.Boolean):
        return "boolean"
    return None


_NOT_AUTO_UPDATABLE = ("distinct", "group", "having", "limit", "offset", "with", "qualify")


def _view_events(reader: Reader, query: exp.Select, columns: list[_Output]) -> int:
    """pg_relation_is_updatable of a view without triggers or rules: PostgreSQL's auto-updatable rules."""
    if any(query.args.get(arg) for arg in _NOT_AUTO_UPDATABLE):
        return 0
    items = _from_items(reader, query)
    if len(items) != 1 or items[0].relation is None or query.args.get("joins"):
        return 0
    if any(node.find(exp.AggFunc, exp.Window) for node in query.expressions):
        return 0
    base = items[0].relation
    base_events = model.ALL_EVENTS if base.kind in ("r", "p") else base.events
    if base.kind in ("v", "m", "f") and base.kind != "v":
        return 0
    events = DELETE_EVENT
    if any(source is not None for _n, _t, source in columns):
        events |= INSERT_EVENT | UPDATE_EVENT
    return events & base_events


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
        r"^drop\s+(table|view|materialized\s+view|foreign\s+table|function|schema|type|domain)\s+(?:if\s+exists\s+)?(.*?)(\s+cascade|\s+restrict)?\s*$",
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
}
