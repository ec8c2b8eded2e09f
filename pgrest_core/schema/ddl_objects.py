"""The objects the DDL reader builds while it applies statements, and the reader's state.

Mutable while a script is read (a later ALTER TABLE changes an earlier table); `pgrest_core.schema.ddl`
turns them into the catalog document the pure derivation reads once all scripts are applied.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from pgrest_core.schema.ddl_split import strip_comments
from pgrest_core.schema.ddl_types import (
    TypeName,
    display_builtin,
    fold_identifier,
    parse_type,
    quote_if_needed,
)
from pgrest_core.schema.introspect_sql import DELETE_EVENT, INSERT_EVENT, UPDATE_EVENT

ALL_EVENTS = INSERT_EVENT | UPDATE_EVENT | DELETE_EVENT
NAMEDATALEN = 64


@dataclass(frozen=True, slots=True)
class DdlWarning:
    """A statement the reader skipped because it could not understand it."""

    line: int
    statement: str  # its first line
    reason: str
    source: str = ""  # the file (or other name) the text came from, when known

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.source else f"line {self.line}"
        return f"{where}: {self.reason}: {self.statement}"


class DdlError(ValueError):
    """A statement the reader understood but cannot apply (e.g. a column of an unknown table)."""


# -- the objects being built ------------------------------------------------------------------


@dataclass(slots=True)
class TypeDef:
    """A user-defined type: an enum, a domain, a composite or a relation's row type."""

    oid: int
    schema: str
    name: str
    kind: str  # 'e' enum, 'd' domain, 'c' composite, 'r' a relation's row type
    labels: tuple[str, ...] = ()
    base: ResolvedType | None = None  # a domain's base type
    not_null: bool = False
    default: str | None = None
    relid: int = 0


@dataclass(frozen=True, slots=True)
class ResolvedType:
    """A type name resolved against the types defined so far."""

    written: TypeName
    user: TypeDef | None  # None: built-in (or unknown, kept as written)

    @property
    def array(self) -> bool:
        return self.written.array


@dataclass(slots=True)
class ColumnDef:
    name: str
    type: ResolvedType | None  # None: a view column whose type the reader cannot infer
    not_null: bool = False
    default: str | None = None
    generated: bool = False
    description: str | None = None
    dropped: bool = False  # ALTER TABLE … DROP COLUMN


@dataclass(slots=True)
class RelationDef:
    oid: int
    schema: str
    name: str
    kind: str  # pg_class.relkind: r, v, m, f, p
    columns: list[ColumnDef]
    description: str | None = None
    sources: dict[int, tuple[int, int]] = field(default_factory=dict)  # view column -> base
    # Writes a view (or foreign table) accepts: automatically (`auto_events`, also limited by what
    # its base relation `base` accepts) or through INSTEAD OF triggers and unconditional INSTEAD rules.
    auto_events: int = ALL_EVENTS
    base: int = 0
    instead_events: int = 0
    partition: bool = False

    def live(self) -> list[tuple[int, ColumnDef]]:
        """(attnum, column) of the columns not dropped; a dropped one keeps its number, as in pg_attribute."""
        return [(num, col) for num, col in enumerate(self.columns, 1) if not col.dropped]

    def column(self, name: str) -> ColumnDef:
        for _num, col in self.live():
            if col.name == name:
                return col
        raise DdlError(f'column "{name}" of relation "{self.name}" does not exist')

    def attnum(self, name: str) -> int:
        wanted = self.column(name)
        return next(num for num, col in self.live() if col is wanted)


@dataclass(slots=True)
class ConstraintDef:
    name: str
    type: str  # p, u, f
    relid: int
    columns: tuple[str, ...]
    frelid: int = 0
    fcolumns: tuple[str, ...] | None = None  # None: the referenced table's primary key


@dataclass(slots=True)
class ArgDef:
    name: str
    type: ResolvedType
    mode: str  # i, o, b, v, t
    default: bool = False


@dataclass(slots=True)
class FunctionDef:
    schema: str
    name: str
    args: list[ArgDef]
    returns: ResolvedType | None  # None: record
    set_of: bool
    volatility: str
    rows: float
    description: str | None = None
    settings: tuple[str, ...] = ()  # SET clauses as `name=value`, as pg_proc.proconfig keeps them


@dataclass(frozen=True, slots=True)
class AggregateDef:
    """An aggregate over one argument (None: `*` or several) and the type it returns."""

    schema: str
    name: str
    argument: ResolvedType | None
    returns: ResolvedType


@dataclass(frozen=True, slots=True)
class CastDef:
    """CREATE CAST (source AS target) WITH FUNCTION function_schema.function(…)."""

    source: ResolvedType
    target: ResolvedType
    function_schema: str
    function: str


# -- the reader -------------------------------------------------------------------------------


class Reader:
    """Applies statements one by one to the objects built so far."""

    def __init__(self, schemas: Sequence[str], search_path: Sequence[str]) -> None:
        self.exposed = tuple(schemas)
        self.search_path = [fold_identifier(s) for s in search_path]
        self.schemas: dict[str, str | None] = {"public": None}  # name -> comment
        self.relations: dict[tuple[str, str], RelationDef] = {}
        self.types: dict[tuple[str, str], TypeDef] = {}
        self.constraints: list[ConstraintDef] = []
        self.functions: list[FunctionDef] = []
        self.aggregates: list[AggregateDef] = []
        self.casts: list[CastDef] = []
        self.used_names: dict[str, set[str]] = {}  # per schema: relation and constraint names
        self.oids = itertools.count(16384)
        self.warnings: list[DdlWarning] = []
        self.source = ""  # the name of the script being read, for warnings

    # -- names and types

    def creation_schema(self) -> str:
        for schema in self.search_path:
            if schema in self.schemas:
                return schema
        raise DdlError("no schema has been selected to create in")

    def qualify(self, table: exp.Table | exp.Expression) -> tuple[str, str]:
        parts = [part for part in (table.args.get("db"), table.args.get("this")) if part is not None]
        names = [ident(part) for part in parts]
        if len(names) == 2:
            return names[0], names[1]
        return self.creation_schema(), names[-1]

    def find_relation(self, schema: str | None, name: str) -> RelationDef | None:
        paths = [schema] if schema is not None else self.search_path
        for candidate in paths:
            rel = self.relations.get((candidate, name))
            if rel is not None:
                return rel
        return None

    def relation_of(self, table: exp.Table) -> RelationDef:
        db = table.args.get("db")
        name = ident(table.this)
        rel = self.find_relation(ident(db) if db is not None else None, name)
        if rel is None:
            raise DdlError(f'relation "{name}" does not exist')
        return rel

    def resolve_type(self, written: TypeName) -> ResolvedType:
        if written.builtin:
            return ResolvedType(written, None)
        paths = [written.schema] if written.schema is not None else self.search_path
        for schema in paths:
            found = self.types.get((schema, written.name))
            if found is not None:
                return ResolvedType(written, found)
        return ResolvedType(written, None)

    def type_text(self, text: str) -> ResolvedType:
        return self.resolve_type(parse_type(text))

    def display(self, resolved: ResolvedType, typmod_given: bool = True) -> str:
        """The type as format_type() prints it with the exposed schemas as search_path."""
        written = resolved.written
        if resolved.user is not None:
            user = resolved.user
            name = quote_if_needed(user.name)
            text = name if user.schema in self.exposed else f"{quote_if_needed(user.schema)}.{name}"
        elif written.builtin:
            modifiers = written.modifiers if typmod_given else ()
            text = display_builtin(written.name, modifiers, typmod_given)
        else:  # an extension's type: as written
            name = quote_if_needed(written.name)
            visible = written.schema is None or written.schema in self.exposed
            text = name if visible else f"{quote_if_needed(written.schema or '')}.{name}"
            if written.modifiers and typmod_given:
                text += "(" + ",".join(written.modifiers) + ")"
        return text + ("[]" if resolved.array else "")

    def choose_name(self, schema: str, name1: str, name2: str | None, label: str) -> str:
        """PostgreSQL's ChooseRelationName/ChooseConstraintName: unique in the schema."""
        used = self.used_names.setdefault(schema, set())
        for counter in itertools.count():
            suffix = label if counter == 0 else f"{label}{counter}"
            candidate = object_name(name1, name2, suffix)
            if candidate not in used:
                used.add(candidate)
                return candidate
        raise AssertionError("unreachable")

    def claim_name(self, schema: str, name: str) -> None:
        self.used_names.setdefault(schema, set()).add(name)

    def find_function(self, schema: str | None, name: str) -> FunctionDef | None:
        """The first function named so, in `schema` or along the search_path."""
        for candidate in [schema] if schema is not None else self.search_path:
            for fn in self.functions:
                if fn.schema == candidate and fn.name == name:
                    return fn
        return None

    def warn(self, line: int, text: str, reason: str) -> None:
        code = strip_comments(text).strip()
        first = code.splitlines()[0] if code else ""
        self.warnings.append(DdlWarning(line, first[:120], reason, self.source))


def ident(node: Any) -> str:
    if isinstance(node, exp.Identifier):
        return str(node.this) if node.quoted else str(node.this).lower()
    if isinstance(node, exp.Expression):
        return ident(node.this) if not isinstance(node.this, str) else str(node.this).lower()
    return str(node).lower()


def object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's makeObjectName: `name1_name2_label` cut to fit NAMEDATALEN - 1 bytes."""
    overhead = len(label.encode()) + 1 + (1 if name2 is not None else 0)
    available = NAMEDATALEN - 1 - overhead
    first = name1.encode()
    second = (name2 or "").encode()
    len1, len2 = len(first), len(second)
    while len1 + len2 > available:
        if len1 > len2:
            len1 -= 1
        else:
            len2 -= 1
    head = first[:len1].decode(errors="ignore")
    parts = [head] + ([second[:len2].decode(errors="ignore")] if name2 is not None else []) + [label]
    return "_".join(parts)


def joined_columns(columns: Sequence[str]) -> str:
    """ChooseForeignKeyConstraintNameAddition / ChooseIndexNameAddition: names joined by `_`."""
    out = ""
    for name in columns:
        out = name if not out else f"{out}_{name}"
        if len(out.encode()) >= NAMEDATALEN:
            break
    return out


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def base_type(resolved: ResolvedType) -> ResolvedType:
    """Through domains to the type operators see."""
    for _depth in range(50):
        user = resolved.user
        if user is None or user.kind != "d" or user.base is None or resolved.array:
            return resolved
        resolved = user.base
    return resolved
