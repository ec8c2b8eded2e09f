"""Pure schema derivation: the schema cache from raw catalog facts, however they were obtained.

`build_schema_cache` takes the JSON document of `introspect_sql.CATALOG_QUERY` (the runner reads
it from a live database) or the same document built from DDL text (`pgrest_core.schema.ddl`), and
derives what PostgREST derives:

* every foreign key gives a many-to-one relationship and its inverse one-to-many; when the
  key's columns are exactly a primary key or unique constraint of the referencing table it is
  one-to-one both ways;
* views inherit the relationships (and the primary key) of the tables they select from: each
  view column is traced to the base-table column it shows (through chains of views), and a
  view that shows all columns of a key takes part in it: view -> table, table -> view and
  view -> view;
* a table (or view) with two foreign keys whose columns all belong to its primary key is a
  junction: it links the two referenced relations many-to-many, in both directions;
* a function taking one table row returns a computed relationship when it returns rows of a
  table or view, and a computed field when it returns a single non-row value.

A view entry of the document carries either `definition` (PostgreSQL's query tree as text,
pg_rewrite.ev_action) or `sources`, the traced columns already known as
`[[view column, relation oid, relation column], ...]` (what the DDL reader computes).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pgrest_core.schema.introspect_sql import DELETE_EVENT, INSERT_EVENT, UPDATE_EVENT
from pgrest_core.schema.model import (
    Cardinality,
    Column,
    ComputedRelationship,
    Junction,
    MediaHandler,
    QualifiedName,
    Relationship,
    ReturnType,
    Routine,
    RoutineParam,
    SchemaCache,
    Table,
    Volatility,
)

Catalog = Mapping[str, Any]  # the JSON document CATALOG_QUERY returns


# -- view column tracing ----------------------------------------------------------------------

# A node-tree token: a bracket, or a run of non-space characters where `\x` escapes x.
_NODE_TOKEN = re.compile(r"[{}()]|(?:\\.|[^\s{}()\\])+")
_ESCAPE = re.compile(r"\\(.)")


def _parse_node_tree(text: str) -> Any:
    """PostgreSQL's node-tree text (pg_node_tree) as nested dicts (`{NODE :field value}`) and lists."""
    tokens = _NODE_TOKEN.findall(text)
    position = 0

    def value() -> Any:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "{":
            node: dict[str, Any] = {"_node": tokens[position]}
            position += 1
            while tokens[position] != "}":
                key = tokens[position][1:]
                position += 1
                node[key] = value()
                if key == "constvalue" and node[key] is not None:  # `:constvalue 4 [ 1 0 0 0 ]`
                    while tokens[position] != "]":
                        position += 1
                    position += 1
            position += 1
            return node
        if token == "(":
            items = []
            while tokens[position] != ")":
                items.append(value())
            position += 1
            return items
        return None if token == "<>" else _ESCAPE.sub(r"\1", token)

    return value()


def view_column_sources(definition: str) -> dict[int, tuple[int, int]]:
    """View column number -> (relation oid, column number) it shows unchanged, from the view's query tree.

    PostgreSQL records in each output column of the top-level query (`resorigtbl`, `resorigcol`)
    the table column it is a plain reference to; through a view in FROM that is the view's column.
    """
    queries = _parse_node_tree(definition)
    target_list = queries[0].get("targetList") or []
    sources: dict[int, tuple[int, int]] = {}
    for entry in target_list:
        relation, column = int(entry["resorigtbl"]), int(entry["resorigcol"])
        if relation and entry["resjunk"] != "true":
            sources[int(entry["resno"])] = (relation, column)
    return sources


def _view_sources(raw: Mapping[str, Any]) -> dict[int, tuple[int, int]]:
    if "sources" in raw:
        return {int(col): (int(rel), int(relcol)) for col, rel, relcol in raw["sources"]}
    return view_column_sources(raw["definition"])


# -- building the cache -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Relation:
    oid: int
    name: QualifiedName
    kind: str
    exposed: bool
    column_names: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class _Constraint:
    name: str
    type: str  # 'p', 'u' or 'f'
    relid: int
    columns: tuple[int, ...]
    frelid: int
    fcolumns: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _ForeignKey:
    """A foreign key as seen from one relation (the table itself or a view over it) to another."""

    constraint: str
    source: int
    target: int
    columns: tuple[tuple[str, str], ...]
    one_to_one: bool


class _Catalog:
    """The raw catalog facts with the lookups the derivations need."""

    def __init__(self, catalog: Catalog) -> None:
        self.raw_relations = {int(r["oid"]): r for r in catalog["relations"]}
        self.relations = {oid: _relation(raw) for oid, raw in self.raw_relations.items()}
        self.constraints = [_constraint(raw) for raw in catalog["constraints"]]
        self.keys_by_table: dict[int, list[_Constraint]] = defaultdict(list)
        for con in self.constraints:
            self.keys_by_table[con.relid].append(con)
        view_sources = {int(v["oid"]): _view_sources(v) for v in catalog["views"]}
        # For every exposed view: base (table oid, column) -> the view's column numbers showing it.
        self.view_bases: dict[int, dict[tuple[int, int], list[int]]] = {}
        for oid in sorted(view_sources):
            if self.relations[oid].exposed:
                self.view_bases[oid] = _trace_view(oid, view_sources)
        self.views_over: dict[int, list[int]] = defaultdict(list)
        for view, bases in self.view_bases.items():
            for table in sorted({table for table, _ in bases}):
                self.views_over[table].append(view)

    def column_names(self, relation: int, columns: Iterable[int]) -> tuple[str, ...]:
        names = self.relations[relation].column_names
        return tuple(names[col] for col in columns)

    def shown_as(self, relation: int, table: int, columns: tuple[int, ...]) -> list[tuple[str, ...]]:
        """Every way `relation` (the table or a view over it) shows `columns` of `table`, as names.

        A view may show a column twice; each combination is a separate way (PostgREST lists all).
        """
        if relation == table:
            return [self.column_names(table, columns)]
        bases = self.view_bases[relation]
        choices = [bases.get((table, col), []) for col in columns]
        return [self.column_names(relation, combo) for combo in itertools.product(*choices)]

    def seen_from(self, table: int) -> list[int]:
        """The table itself and the exposed views over it."""
        return [table, *self.views_over.get(table, [])]

    def primary_key(self, relation: int) -> tuple[str, ...]:
        if relation not in self.view_bases:
            for con in self.keys_by_table.get(relation, []):
                if con.type == "p":
                    return self.column_names(relation, con.columns)
            return ()
        # A view's key: the primary keys of its base tables that it shows, first way shown.
        key: list[str] = []
        tables = dict.fromkeys(table for table, _ in self.view_bases[relation])
        for table in tables:
            for con in self.keys_by_table.get(table, []):
                ways = self.shown_as(relation, table, con.columns) if con.type == "p" else []
                key.extend(col for col in (ways[0] if ways else ()) if col not in key)
        return tuple(key)

    def is_unique(self, table: int, columns: tuple[int, ...]) -> bool:
        wanted = sorted(columns)
        return any(
            con.type in "pu" and sorted(con.columns) == wanted for con in self.keys_by_table.get(table, [])
        )


def _relation(raw: Mapping[str, Any]) -> _Relation:
    return _Relation(
        oid=int(raw["oid"]),
        name=QualifiedName(raw["schema"], raw["name"]),
        kind=raw["kind"],
        exposed=bool(raw["exposed"]),
        column_names={int(col["num"]): col["name"] for col in raw["columns"]},
    )


def _constraint(raw: Mapping[str, Any]) -> _Constraint:
    return _Constraint(
        name=raw["name"],
        type=raw["type"],
        relid=int(raw["relid"]),
        columns=tuple(raw["columns"]),
        frelid=int(raw["frelid"]),
        fcolumns=tuple(raw["fcolumns"] or ()),
    )


def _trace_view(
    view: int, view_sources: Mapping[int, Mapping[int, tuple[int, int]]]
) -> dict[tuple[int, int], list[int]]:
    """Base (table, column) -> columns of `view` showing it, following views built on views."""
    bases: dict[tuple[int, int], list[int]] = defaultdict(list)
    for view_column, source in sorted(view_sources[view].items()):
        for _depth in range(100):  # views cannot form cycles; the bound only guards bad input
            if source[0] not in view_sources:
                bases[source].append(view_column)
                break
            next_source = view_sources[source[0]].get(source[1])
            if next_source is None:  # an expression in the inner view: not a base column
                break
            source = next_source
    return dict(bases)


def _foreign_keys(cat: _Catalog) -> list[_ForeignKey]:
    """Every foreign key from each relation showing its columns to each relation showing its target."""
    found: list[_ForeignKey] = []
    for con in sorted(cat.constraints, key=lambda c: (c.relid, c.name)):
        if con.type != "f":
            continue
        one_to_one = cat.is_unique(con.relid, con.columns)
        for source, target in itertools.product(cat.seen_from(con.relid), cat.seen_from(con.frelid)):
            ways = itertools.product(
                cat.shown_as(source, con.relid, con.columns), cat.shown_as(target, con.frelid, con.fcolumns)
            )
            for source_cols, target_cols in ways:
                columns = tuple(zip(source_cols, target_cols, strict=True))
                found.append(_ForeignKey(con.name, source, target, columns, one_to_one))
    return found


def _fk_relationships(cat: _Catalog, fks: Iterable[_ForeignKey]) -> Iterator[Relationship]:
    for fk in fks:
        source, target = cat.relations[fk.source].name, cat.relations[fk.target].name
        forward, backward = (
            (Cardinality.ONE_TO_ONE, Cardinality.ONE_TO_ONE)
            if fk.one_to_one
            else (Cardinality.MANY_TO_ONE, Cardinality.ONE_TO_MANY)
        )
        yield Relationship(source, target, forward, fk.constraint, fk.columns)
        yield Relationship(target, source, backward, fk.constraint, tuple((t, s) for s, t in fk.columns))


def _junction_relationships(cat: _Catalog, fks: Iterable[_ForeignKey]) -> Iterator[Relationship]:
    """Many-to-many through every junction: two distinct many-to-one keys inside its primary key."""
    by_junction: dict[int, list[_ForeignKey]] = defaultdict(list)
    for fk in fks:
        if not fk.one_to_one:
            by_junction[fk.source].append(fk)
    for junction_oid, keys in by_junction.items():
        primary_key = set(cat.primary_key(junction_oid))
        junction = cat.relations[junction_oid].name
        for first, second in itertools.permutations(keys, 2):
            junction_cols = {col for col, _ in first.columns} | {col for col, _ in second.columns}
            if first.constraint == second.constraint or not junction_cols <= primary_key:
                continue
            yield Relationship(
                source=cat.relations[first.target].name,
                target=cat.relations[second.target].name,
                cardinality=Cardinality.MANY_TO_MANY,
                constraint=junction.name,
                junction=Junction(
                    table=junction,
                    source_constraint=first.constraint,
                    source_columns=tuple((target, own) for own, target in first.columns),
                    target_constraint=second.constraint,
                    target_columns=tuple((target, own) for own, target in second.columns),
                ),
            )


_CARDINALITY_ORDER = {card: rank for rank, card in enumerate(Cardinality)}


def _relationship_order(rel: Relationship) -> tuple[Any, ...]:
    junction = rel.junction
    return (
        rel.target,
        _CARDINALITY_ORDER[rel.cardinality],
        rel.constraint,
        rel.columns,
        (
            junction.source_constraint,
            junction.target_constraint,
            junction.source_columns,
            junction.target_columns,
        )
        if junction
        else (),
    )


def _relationships(
    cat: _Catalog, exposed: set[QualifiedName]
) -> dict[QualifiedName, tuple[Relationship, ...]]:
    fks = _foreign_keys(cat)
    grouped: dict[QualifiedName, set[Relationship]] = defaultdict(set)
    for rel in itertools.chain(_fk_relationships(cat, fks), _junction_relationships(cat, fks)):
        # A junction hidden in a private schema does not make a relationship (PostgREST: only
        # exposed tables and views, e.g. an exposed view of a private junction, can join).
        through_exposed = rel.junction is None or rel.junction.table in exposed
        if rel.source in exposed and rel.target in exposed and through_exposed:
            grouped[rel.source].add(rel)
    return {source: tuple(sorted(grouped[source], key=_relationship_order)) for source in sorted(grouped)}


def _column(raw: Mapping[str, Any]) -> Column:
    return Column(
        name=raw["name"],
        type=raw["type"],
        nullable=bool(raw["nullable"]),
        default=raw["default"],
        max_length=raw["max_length"],
        enum_values=tuple(raw["enum_values"]),
        description=raw["description"],
        generated=bool(raw["generated"]),
        nominal_type=raw["nominal_type"],
    )


def _table(cat: _Catalog, raw: Mapping[str, Any]) -> Table:
    events = int(raw["updatable_events"])
    oid = int(raw["oid"])
    return Table(
        schema=raw["schema"],
        name=raw["name"],
        columns=tuple(_column(col) for col in raw["columns"]),
        primary_key=cat.primary_key(oid),
        is_view=raw["kind"] in ("v", "m"),
        insertable=bool(events & INSERT_EVENT),
        updatable=bool(events & UPDATE_EVENT),
        deletable=bool(events & DELETE_EVENT),
        description=raw["description"],
    )


_VOLATILITY: Mapping[str, Volatility] = {"i": "immutable", "s": "stable", "v": "volatile"}
_INPUT_MODES = ("i", "b", "v")  # IN, INOUT, VARIADIC; OUT and TABLE columns are results


def _routine(raw: Mapping[str, Any]) -> Routine:
    inputs = [arg for arg in raw["args"] if arg["mode"] in _INPUT_MODES]
    first_optional = int(raw["nargs"]) - int(raw["ndefaults"])
    return Routine(
        schema=raw["schema"],
        name=raw["name"],
        params=tuple(
            RoutineParam(
                arg["name"], arg["type"], required=index < first_optional, variadic=arg["mode"] == "v"
            )
            for index, arg in enumerate(inputs)
        ),
        returns=ReturnType(
            schema=raw["return_schema"],
            name=raw["return_name"],
            set_of=bool(raw["set_of"]),
            # OUT/INOUT/TABLE parameters make a composite result (even a single OUT one, whose
            # prorettype is that parameter's type); a bare RECORD without them is a scalar value.
            composite=int(raw["return_relid"]) != 0
            or any(arg["mode"] in ("o", "b", "t") for arg in raw["args"]),
        ),
        volatility=_VOLATILITY[raw["volatility"]],
        # proconfig items are `name=value`; the value may itself contain '='.
        settings=tuple(
            (name, value) for name, _, value in (str(item).partition("=") for item in raw.get("settings", ()))
        ),
        description=raw["description"],
    )


@dataclass(frozen=True, slots=True)
class _Routines:
    by_name: dict[QualifiedName, tuple[Routine, ...]]
    computed_fields: dict[QualifiedName, tuple[Routine, ...]]
    computed_relationships: tuple[ComputedRelationship, ...]


def _routines(cat: _Catalog, raw_functions: Iterable[Mapping[str, Any]]) -> _Routines:
    by_name: dict[QualifiedName, list[Routine]] = defaultdict(list)
    fields: dict[QualifiedName, list[Routine]] = defaultdict(list)
    computed: list[ComputedRelationship] = []
    for raw in raw_functions:
        routine = _routine(raw)
        if routine.callable:  # others are never exposed, though they may be computed fields
            by_name[routine.qualified_name].append(routine)
        inputs = [arg for arg in raw["args"] if arg["mode"] in _INPUT_MODES]
        row_of = cat.relations.get(int(inputs[0]["relid"])) if len(inputs) == 1 else None
        if row_of is None or not row_of.exposed:
            continue
        returned = cat.relations.get(int(raw["return_relid"]))
        if returned is not None:
            single = not routine.returns.set_of or float(raw["rows"]) == 1
            computed.append(ComputedRelationship(routine.qualified_name, row_of.name, returned.name, single))
        elif not routine.returns.set_of:
            fields[row_of.name].append(routine)

    def overloads(routines: list[Routine]) -> tuple[Routine, ...]:
        return tuple(sorted(routines, key=lambda r: (r.name, tuple((p.name, p.type) for p in r.params))))

    return _Routines(
        by_name={name: overloads(by_name[name]) for name in sorted(by_name)},
        computed_fields={name: overloads(fields[name]) for name in sorted(fields)},
        computed_relationships=tuple(sorted(computed, key=lambda c: (c.source, c.function, c.target))),
    )


def build_schema_cache(catalog: Catalog, schemas: Sequence[str]) -> SchemaCache:
    """The schema cache from the JSON document of CATALOG_QUERY."""
    cat = _Catalog(catalog)
    tables = sorted(
        (_table(cat, raw) for raw in catalog["relations"] if raw["exposed"]), key=lambda t: t.qualified_name
    )
    routines = _routines(cat, catalog["functions"])
    return SchemaCache(
        schemas=tuple(schemas),
        tables={table.qualified_name: table for table in tables},
        relationships=_relationships(cat, {table.qualified_name for table in tables}),
        computed_relationships=routines.computed_relationships,
        routines=routines.by_name,
        computed_fields=routines.computed_fields,
        descriptions={
            s["name"]: s["description"]
            for s in sorted(catalog["schemas"], key=lambda s: s["name"])
            if s["description"] is not None
        },
        representations={
            (r["source"], r["target"]): QualifiedName(r["function_schema"], r["function"])
            for r in sorted(catalog.get("representations", []), key=lambda r: (r["source"], r["target"]))
        },
        media_handlers=_media_handlers(catalog.get("media_handlers", [])),
        media_types={
            QualifiedName(m["schema"], m["name"]): m["base_type"]
            for m in sorted(catalog.get("media_types", []), key=lambda m: (m["schema"], m["name"]))
        },
    )


def _media_handlers(raw_handlers: Iterable[Mapping[str, Any]]) -> tuple[MediaHandler, ...]:
    handlers = (
        MediaHandler(
            media_type=raw["media_type"],
            function=QualifiedName(raw["schema"], raw["name"]),
            base_type=raw["base_type"],
            target=QualifiedName(raw["target_schema"], raw["target"]) if raw["target"] is not None else None,
        )
        for raw in raw_handlers
    )
    anyelement = QualifiedName("", "")
    return tuple(sorted(handlers, key=lambda h: (h.target or anyelement, h.media_type, h.function)))
