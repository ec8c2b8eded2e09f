"""A schema cache from DDL text (CREATE TABLE/VIEW/FUNCTION …), without a database.

`schema_from_ddl(texts, schemas)` reads SQL scripts (a schema dump, or migrations in order),
builds the same raw catalog document the live introspection reads (`introspect_sql`), and hands
it to the one pure derivation, `pgrest_core.schema.derive.build_schema_cache`: relationships,
junctions, view tracing, computed fields and relationships are derived exactly as for a live
database. `read_ddl` also returns the warnings (statements that could not be understood).

Understood: CREATE SCHEMA; CREATE TABLE (columns, types, DEFAULT, NOT NULL, identity, serial,
generated columns, PRIMARY KEY, UNIQUE, REFERENCES/FOREIGN KEY inline or table-level, composite
too, INHERITS, PARTITION BY / PARTITION OF, AS SELECT); ALTER TABLE ADD CONSTRAINT / ADD COLUMN /
ALTER COLUMN SET|DROP DEFAULT, SET|DROP NOT NULL / RENAME; ALTER VIEW … SET DEFAULT; CREATE
[MATERIALIZED] VIEW over tables, views, subqueries, LATERAL subqueries, CTEs and functions
(each column traced to the column it shows, PostgreSQL's rules for automatically updatable
views); CREATE TRIGGER … INSTEAD OF and CREATE RULE … DO INSTEAD (views they make writable);
CREATE FOREIGN TABLE; CREATE FUNCTION (arguments with modes, names, defaults, VARIADIC; RETURNS
scalar, SETOF, TABLE(…), a row type, OUT parameters; volatility; ROWS); CREATE TYPE … AS ENUM /
AS (…); CREATE DOMAIN (media type domains too); CREATE AGGREGATE (media type handlers);
CREATE CAST … WITH FUNCTION (data representations); COMMENT ON SCHEMA/TABLE/VIEW/COLUMN/
FUNCTION; SET search_path (and pg_dump's set_config); DROP SCHEMA/TABLE/VIEW/FUNCTION/TYPE/
DOMAIN/AGGREGATE. Everything else (GRANT, INSERT, CREATE INDEX, DO blocks, …) does not change
the cache and is skipped silently; a statement of the kinds above that cannot be parsed or
applied is skipped with a warning.

Modules: ddl_split (statements of a script), ddl_statements (one statement: dispatch, comments,
search_path, drops), ddl_tables, ddl_views, ddl_functions (the statement kinds), ddl_text
(shared text helpers), ddl_types (type names), ddl_objects (the reader's state).

What differs from introspecting the same DDL loaded into PostgreSQL (tests/integration/
test_ddl_differential.py checks that everything else is equal, on the demo schema and on
PostgREST's own test schema):

* view columns computed by an expression: PostgreSQL knows their type from its type inference.
  The reader infers the plain cases (columns, casts, literals, comparisons and other boolean
  expressions, CASE, scalar subqueries, common built-in functions such as count() or
  json_agg(), and user functions with one overload); otherwise the column's type is `unknown`.
* DEFAULT expressions are printed the way pg_get_expr prints the common ones (literals with
  their cast, function calls, nextval of identity and serial sequences); other expressions keep
  sqlglot's formatting, which is equivalent SQL but may differ in spelling. A literal that the
  type's input function normalises (`'2017-12-14 01:02:30'` for a timestamptz reads back as
  `'2017-12-14 01:02:30+00'`) keeps the spelling of the DDL.
* types from extensions (citext, ltree, PostGIS …) are unknown to the reader: they keep the
  name and schema the DDL wrote, and their modifiers as sqlglot prints them (`geometry(POINT,
  4326)` where PostGIS prints `geometry(Point,4326)`); objects an extension creates (its
  functions and types) are not in the DDL at all.
* a foreign table reads as read-only (whether it accepts writes depends on its wrapper).
* views selecting `*` from a function without a known row type, VALUES or XMLTABLE are skipped
  with a warning, and so are statements sqlglot cannot parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgrest_core.schema import ddl_statements
from pgrest_core.schema.ddl_objects import (
    ALL_EVENTS,
    ColumnDef,
    ConstraintDef,
    DdlError,
    DdlWarning,
    FunctionDef,
    Reader,
    RelationDef,
    ResolvedType,
    TypeDef,
)
from pgrest_core.schema.ddl_split import split_script
from pgrest_core.schema.derive import build_schema_cache
from pgrest_core.schema.model import SchemaCache


@dataclass(frozen=True, slots=True)
class DdlSchema:
    """The cache read from DDL and the statements the reader skipped."""

    cache: SchemaCache
    warnings: tuple[DdlWarning, ...]


# -- public entry points ----------------------------------------------------------------------


def read_ddl(
    texts: str | Iterable[str],
    schemas: Sequence[str],
    search_path: Sequence[str] | None = None,
    sources: Sequence[str] = (),
) -> DdlSchema:
    """The schema cache of the DDL `texts` (scripts applied in order) and the reader's warnings.

    `schemas` are the exposed schemas (the first is the default). `search_path` is the one the
    scripts run with (for unqualified names; `SET search_path` in a script changes it), by
    default `schemas` then `public`. `sources` names the texts in warnings (e.g. file names).
    A single string is one script.
    """
    texts = [texts] if isinstance(texts, str) else texts
    path = list(search_path) if search_path is not None else [*schemas, "public"]
    reader = Reader(schemas, path)
    for index, text in enumerate(texts):
        reader.source = sources[index] if index < len(sources) else ""
        script = split_script(text)
        for meta in script.meta_commands:
            reader.warn(meta.line, meta.text, "psql meta-command ignored")
        for statement in script.statements:
            ddl_statements.apply(reader, statement.text, statement.line)
    return DdlSchema(build_schema_cache(catalog_document(reader), schemas), tuple(reader.warnings))


def schema_from_ddl(
    texts: str | Iterable[str], schemas: Sequence[str], search_path: Sequence[str] | None = None
) -> SchemaCache:
    """The schema cache of the DDL `texts`, e.g. `schema_from_ddl([sql], ["api"])`."""
    return read_ddl(texts, schemas, search_path).cache


def ddl_files(paths: Iterable[str | Path]) -> list[Path]:
    """The .sql files named: a file as is, a folder's *.sql files in sorted order (migrations)."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.sql") if p.is_file()))
        else:
            found.append(path)
    return found


def read_ddl_files(
    paths: Iterable[str | Path], schemas: Sequence[str], search_path: Sequence[str] | None = None
) -> DdlSchema:
    """`read_ddl` over files and folders (see `ddl_files`); the one helper here that reads files."""
    files = ddl_files(paths)
    texts = [path.read_text(encoding="utf-8") for path in files]
    return read_ddl(texts, schemas, search_path, sources=[str(path) for path in files])


# -- the catalog document ---------------------------------------------------------------------


def _typname(reader: Reader, resolved: ResolvedType) -> tuple[str, str]:
    """(schema, typname) of a type as pg_type stores it (arrays are `_elem`)."""
    written = resolved.written
    if resolved.user is not None:
        schema, name = resolved.user.schema, resolved.user.name
    elif written.builtin:
        schema, name = "pg_catalog", written.name
    else:
        # An extension's type: where the extension put it is not in the DDL; the first schema
        # of the search_path is where an unqualified name was most likely found.
        fallback = next((schema for schema in reader.search_path if schema in reader.schemas), "public")
        schema, name = written.schema or fallback, written.name
    return schema, ("_" + name if resolved.array else name)


def _column_document(reader: Reader, rel: RelationDef, num: int, col: ColumnDef) -> dict[str, Any]:
    if rel.schema not in reader.exposed:
        return {"num": num, "name": col.name}
    resolved = col.type
    domain = resolved.user if resolved is not None and not resolved.array else None
    domain = domain if domain is not None and domain.kind == "d" else None
    typed = domain.base if domain is not None and domain.base is not None else resolved
    enum_type = typed.user if typed is not None and not typed.array else None
    max_length = typed.written.max_length if typed is not None and typed.user is None else None
    return {
        "num": num,
        "name": col.name,
        "type": reader.display(resolved) if resolved is not None else "unknown",
        "nominal_type": reader.display(domain.base) if domain is not None and domain.base else None,
        "nullable": not (col.not_null or (domain is not None and domain.not_null)),
        "default": None if col.generated and col.default is None else _column_default(col, domain),
        "max_length": max_length,
        "enum_values": list(enum_type.labels) if enum_type is not None and enum_type.kind == "e" else [],
        "description": col.description,
        "generated": col.generated,
    }


def _column_default(col: ColumnDef, domain: TypeDef | None) -> str | None:
    if col.default is not None:
        return col.default
    return domain.default if domain is not None else None


def _updatable_events(reader: Reader, rel: RelationDef, depth: int = 0) -> int:
    """pg_relation_is_updatable(rel, include_triggers => true): a view's own INSTEAD OF triggers
    and rules, plus its automatic writes when its base relation accepts them too."""
    if rel.kind in ("r", "p"):
        return ALL_EVENTS
    auto = rel.auto_events
    if auto and rel.base:
        base = next((r for r in reader.relations.values() if r.oid == rel.base), None)
        auto = 0 if base is None or depth > 100 else auto & _updatable_events(reader, base, depth + 1)
    return rel.instead_events | auto


def _relation_document(reader: Reader, rel: RelationDef) -> dict[str, Any]:
    return {
        "oid": rel.oid,
        "schema": rel.schema,
        "name": rel.name,
        "kind": rel.kind,
        "exposed": rel.schema in reader.exposed,
        "description": rel.description,
        "updatable_events": _updatable_events(reader, rel),
        "columns": [_column_document(reader, rel, num, col) for num, col in rel.live()],
    }


def _constraint_documents(reader: Reader) -> list[dict[str, Any]]:
    by_oid = {rel.oid: rel for rel in reader.relations.values()}
    out: list[dict[str, Any]] = []
    for con in reader.constraints:
        rel = by_oid.get(con.relid)
        if rel is None or rel.partition:
            continue
        try:
            out.append(_constraint_document(reader, con, rel, by_oid))
        except DdlError as error:
            reader.warn(0, f"constraint {con.name}", f"skipped ({error})")
    return out


def _constraint_document(
    reader: Reader, con: ConstraintDef, rel: RelationDef, by_oid: dict[int, RelationDef]
) -> dict[str, Any]:
    fcolumns: list[int] = []
    if con.type == "f":
        target = by_oid.get(con.frelid)
        if target is None:
            raise DdlError(f"the table referenced by {con.name} was dropped")
        names = con.fcolumns if con.fcolumns is not None else _primary_key(reader, target)
        fcolumns = [target.attnum(name) for name in names]
    return {
        "name": con.name,
        "type": con.type,
        "relid": con.relid,
        "columns": [rel.attnum(name) for name in con.columns],
        "frelid": con.frelid,
        "fcolumns": fcolumns,
    }


def _primary_key(reader: Reader, rel: RelationDef) -> tuple[str, ...]:
    for con in reader.constraints:
        if con.relid == rel.oid and con.type == "p":
            return con.columns
    raise DdlError(f'there is no primary key for referenced table "{rel.name}"')


def _function_document(reader: Reader, fn: FunctionDef) -> dict[str, Any]:
    returns = fn.returns
    if returns is None:
        return_schema, return_name, return_relid = "pg_catalog", "record", 0
    else:
        base = returns.user.base if returns.user is not None and returns.user.kind == "d" else None
        if base is not None and base.user is not None and base.user.relid and not base.array:
            returns = base  # a domain over a row type returns that relation's rows
        return_schema, return_name = _typname(reader, returns)
        user = returns.user
        return_relid = user.relid if user is not None and not returns.array else 0
    inputs = [arg for arg in fn.args if arg.mode in ("i", "b", "v")]
    return {
        "schema": fn.schema,
        "name": fn.name,
        "volatility": fn.volatility,
        "set_of": fn.set_of,
        "rows": fn.rows,
        "settings": list(fn.settings),
        "description": fn.description,
        "return_schema": return_schema,
        "return_name": return_name,
        "return_relid": return_relid,
        "return_record": returns is None,
        "nargs": len(inputs),
        "ndefaults": sum(1 for arg in inputs if arg.default),
        "args": [
            {
                "name": arg.name,
                "type": reader.display(arg.type, typmod_given=False),
                "mode": arg.mode,
                "relid": arg.type.user.relid if arg.type.user is not None and not arg.type.array else 0,
            }
            for arg in fn.args
        ],
    }


def catalog_document(reader: Reader) -> dict[str, Any]:
    """The objects read, in the shape of introspect_sql.CATALOG_QUERY's document."""
    relations = [rel for rel in reader.relations.values() if not rel.partition]
    return {
        "relations": [_relation_document(reader, rel) for rel in relations],
        "constraints": _constraint_documents(reader),
        "views": [
            {"oid": rel.oid, "sources": [[col, *source] for col, source in sorted(rel.sources.items())]}
            for rel in relations
            if rel.kind in ("v", "m")
        ],
        "functions": [
            _function_document(reader, fn) for fn in reader.functions if fn.schema in reader.exposed
        ],
        "schemas": [
            {"name": name, "description": reader.schemas[name]}
            for name in reader.exposed
            if name in reader.schemas
        ],
        "representations": _representations(reader),
        "media_types": [
            {"schema": t.schema, "name": t.name, "base_type": _typname(reader, t.base)[1]}
            for t in reader.types.values()
            if _is_media_type(t) and t.base is not None
        ],
        "media_handlers": _media_handlers(reader),
    }


_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*|\*/\*")


def _is_media_type(user: TypeDef | None) -> bool:
    """A domain named after a media type (`"text/csv"`), as introspect_sql.CATALOG_QUERY finds them."""
    return user is not None and user.kind == "d" and bool(_MEDIA_TYPE.fullmatch(user.name))


def _media_handlers(reader: Reader) -> list[dict[str, Any]]:
    """Aggregates of the exposed schemas over a relation's rows or anyelement that return a media type."""
    by_oid = {rel.oid: rel for rel in reader.relations.values() if not rel.partition}
    out: list[dict[str, Any]] = []
    for agg in reader.aggregates:
        domain = agg.returns.user
        if (
            agg.schema not in reader.exposed
            or agg.argument is None
            or agg.returns.array
            or not _is_media_type(domain)
        ):
            continue
        assert domain is not None and domain.base is not None
        argument = agg.argument
        target = by_oid.get(argument.user.relid) if argument.user is not None and not argument.array else None
        anyelement = argument.written.builtin and argument.written.name == "anyelement" and not argument.array
        if target is None and not anyelement:
            continue
        out.append({
            "schema": agg.schema,
            "name": agg.name,
            "media_type": domain.name.lower(),
            "base_type": _typname(reader, domain.base)[1],
            "target_schema": target.schema if target is not None else None,
            "target": target.name if target is not None else None,
        })  # fmt: skip
    return out


def _representations(reader: Reader) -> list[dict[str, Any]]:
    """Casts with a function between a domain and json or text (the data representations)."""
    out: list[dict[str, Any]] = []
    for cast in reader.casts:
        sides = (cast.source, cast.target)
        domain = any(s.user is not None and s.user.kind == "d" for s in sides)
        plain = any(
            s.user is None and s.written.builtin and s.written.name in ("json", "text") for s in sides
        )
        if domain and plain and not any(s.array for s in sides):
            out.append({
                "source": reader.display(cast.source, typmod_given=False),
                "target": reader.display(cast.target, typmod_given=False),
                "function_schema": cast.function_schema,
                "function": cast.function,
            })  # fmt: skip
    return out


__all__ = [
    "DdlError",
    "DdlSchema",
    "DdlWarning",
    "ddl_files",
    "read_ddl",
    "read_ddl_files",
    "schema_from_ddl",
]
