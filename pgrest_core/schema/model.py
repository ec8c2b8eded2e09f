"""The schema cache: what the planner knows about the database, as frozen dataclasses.

Loaded by the runner's introspection (or from a JSON snapshot, see `snapshot.py`); the pure
stages only ever read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True, slots=True, order=True)
class QualifiedName:
    """`schema.name` of a table, view or function."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # as format_type prints it: "integer", "character varying", "text[]"
    nullable: bool = True
    default: str | None = None
    max_length: int | None = None
    enum_values: tuple[str, ...] = ()
    description: str | None = None
    generated: bool = False  # GENERATED ALWAYS AS (…) STORED or identity ALWAYS
    # The base type when `type` is a domain; what operators and casts really see.
    nominal_type: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """A table, view, materialized view or foreign table exposed through the API."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    is_view: bool = False
    insertable: bool = True
    updatable: bool = True
    deletable: bool = True
    description: str | None = None

    @property
    def qualified_name(self) -> QualifiedName:
        return QualifiedName(self.schema, self.name)

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None


class Cardinality(StrEnum):
    MANY_TO_ONE = "many-to-one"
    ONE_TO_MANY = "one-to-many"
    ONE_TO_ONE = "one-to-one"
    MANY_TO_MANY = "many-to-many"


@dataclass(frozen=True, slots=True)
class Junction:
    """The middle table of a many-to-many relationship and its two foreign keys."""

    table: QualifiedName
    source_constraint: str  # junction -> source table
    source_columns: tuple[tuple[str, str], ...]  # (source column, junction column)
    target_constraint: str  # junction -> target table
    target_columns: tuple[tuple[str, str], ...]  # (target column, junction column)


@dataclass(frozen=True, slots=True)
class Relationship:
    """A way to embed `target` in `source`, from a foreign key (possibly traced through views).

    `columns` pairs a source column with the target column it joins to. For a many-to-many
    relationship, `columns` is empty and `junction` says how to go through the middle table.
    """

    source: QualifiedName
    target: QualifiedName
    cardinality: Cardinality
    constraint: str
    columns: tuple[tuple[str, str], ...] = ()
    junction: Junction | None = None

    @property
    def is_self(self) -> bool:
        return self.source == self.target

    @property
    def to_one(self) -> bool:
        return self.cardinality in (Cardinality.MANY_TO_ONE, Cardinality.ONE_TO_ONE)


@dataclass(frozen=True, slots=True)
class ComputedRelationship:
    """A function `fn(source_row) RETURNS [SETOF] target` used as an embed named `fn`."""

    function: QualifiedName
    source: QualifiedName
    target: QualifiedName
    single_row: bool


@dataclass(frozen=True, slots=True)
class RoutineParam:
    name: str
    type: str
    required: bool = True  # False when it has a DEFAULT
    variadic: bool = False


@dataclass(frozen=True, slots=True)
class ReturnType:
    """What a function returns: a scalar, a composite (a table's row type) or a set of either."""

    schema: str
    name: str
    set_of: bool = False
    composite: bool = False  # a table/view row type or a RECORD/TABLE(...) result


Volatility = Literal["immutable", "stable", "volatile"]


@dataclass(frozen=True, slots=True)
class Routine:
    schema: str
    name: str
    params: tuple[RoutineParam, ...]
    returns: ReturnType
    volatility: Volatility = "volatile"
    description: str | None = None
    # The function's SET clause (`CREATE FUNCTION ... SET statement_timeout = '1s'`), in order.
    # Those named in db-hoisted-tx-settings are applied to the whole transaction of a call.
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def qualified_name(self) -> QualifiedName:
        return QualifiedName(self.schema, self.name)

    @property
    def callable(self) -> bool:
        """Can a request call it? Arguments are passed by name, so every parameter needs one,
        except a single unnamed parameter that takes the whole body. PostgREST's rule (which
        looks at the first parameter's type) is kept, so both expose the same functions."""
        unnamed = sum(1 for param in self.params if not param.name)
        if unnamed == 0:
            return True
        return unnamed == 1 and self.params[0].type in WHOLE_BODY_TYPES


# The types of a single unnamed parameter that takes the request body whole.
WHOLE_BODY_TYPES = frozenset({"bytea", "json", "jsonb", "text", "xml"})


@dataclass(frozen=True, slots=True)
class MediaHandler:
    """A user-defined aggregate whose result, a domain named after a media type (`"text/csv"`),
    is the whole response body for that media type: over one relation's rows (`target`), or
    over any relation's (`target` None, an `anyelement` aggregate)."""

    media_type: str  # "type/subtype" in lower case, or "*/*" for any media type
    function: QualifiedName  # the aggregate
    base_type: str  # the domain's base type: "bytea", "text", "json", "jsonb", "xml", …
    target: QualifiedName | None = None


@dataclass(frozen=True, slots=True)
class SchemaCache:
    """Everything the planner may look up, keyed for the lookups it makes."""

    schemas: tuple[str, ...]  # exposed schemas, the first is the default
    tables: Mapping[QualifiedName, Table] = field(default_factory=dict)
    relationships: Mapping[QualifiedName, tuple[Relationship, ...]] = field(default_factory=dict)
    computed_relationships: tuple[ComputedRelationship, ...] = ()
    routines: Mapping[QualifiedName, tuple[Routine, ...]] = field(default_factory=dict)  # overloads
    # Functions taking a table's row type and returning a scalar: `select=full_name`.
    computed_fields: Mapping[QualifiedName, tuple[Routine, ...]] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)  # schema comments
    # Data representations: casts with a function where one side is a domain, keyed by
    # (source type, target type): ("public.color", "json") formats, ("text", "public.color")
    # parses. PostgreSQL ignores casts from or to domains, so the function is called directly.
    representations: Mapping[tuple[str, str], QualifiedName] = field(default_factory=dict)
    # Media type handlers (PostgREST's): aggregates producing a body, and the domains named
    # after a media type with their base type (a function returning one answers it raw).
    media_handlers: tuple[MediaHandler, ...] = ()
    media_types: Mapping[QualifiedName, str] = field(default_factory=dict)

    def table(self, schema: str, name: str) -> Table | None:
        return self.tables.get(QualifiedName(schema, name))

    def relationships_from(self, source: QualifiedName) -> tuple[Relationship, ...]:
        return self.relationships.get(source, ())

    def representation(self, source: str, target: str) -> QualifiedName | None:
        return self.representations.get((source, target))

    def media_handler(self, target: QualifiedName | None, media_type: str) -> MediaHandler | None:
        """The aggregate producing `media_type` for `target`'s rows (None: the `anyelement` one)."""
        for handler in self.media_handlers:
            if handler.target == target and handler.media_type == media_type:
                return handler
        return None
