"""Schema caches the benchmarks compile against: the demo, plus generated ones built in code.

- `wide_catalog(450)`: 450 unrelated tables, for the misspelled-table "did you mean" error path.
- `chain_catalog(depth)`: t0 <- t1 <- … <- t{depth}, each a one-to-many step, for embedding depth.
- `star_catalog(width)`: a hub with `width` child tables, for embedding width.
"""

from __future__ import annotations

from itertools import product

from pgrest_core.schema.model import Cardinality, Column, QualifiedName, Relationship, SchemaCache, Table
from pgrest_core.schema.snapshot import load_demo

SCHEMA = "public"

_SUBJECTS = (
    "customer",
    "supplier",
    "employee",
    "invoice",
    "payment",
    "product",
    "warehouse",
    "shipment",
    "contract",
    "account",
    "campaign",
    "ticket",
    "vehicle",
    "project",
    "course",
    "patient",
    "device",
    "station",
)
_FACETS = (
    "orders",
    "events",
    "notes",
    "addresses",
    "contacts",
    "ledgers",
    "audits",
    "tags",
    "rates",
    "reviews",
    "claims",
    "schedules",
    "limits",
    "balances",
    "exports",
    "imports",
    "versions",
    "metrics",
    "alerts",
    "quotas",
    "reports",
    "settings",
    "tokens",
    "visits",
    "zones",
)


def demo_catalog() -> SchemaCache:
    return load_demo()


def _plain_table(name: str, extra: tuple[Column, ...] = ()) -> Table:
    columns = (
        Column("id", "integer", nullable=False),
        Column("name", "text"),
        Column("created_at", "timestamp with time zone"),
        *extra,
    )
    return Table(SCHEMA, name, columns, primary_key=("id",))


def wide_table_names(count: int) -> list[str]:
    """`count` distinct, realistic table names (subject_facet), in a stable order."""
    names = [f"{subject}_{facet}" for subject, facet in product(_SUBJECTS, _FACETS)]
    if count > len(names):
        raise ValueError(f"at most {len(names)} generated table names")
    return names[:count]


def wide_catalog(count: int = 450) -> SchemaCache:
    tables = {QualifiedName(SCHEMA, name): _plain_table(name) for name in wide_table_names(count)}
    return SchemaCache(schemas=(SCHEMA,), tables=tables)


def _parent_child(parent: str, child: str, fk_column: str) -> tuple[Relationship, Relationship]:
    """Both directions of the foreign key child.fk_column -> parent.id."""
    constraint = f"{child}_{fk_column}_fkey"
    parent_name, child_name = QualifiedName(SCHEMA, parent), QualifiedName(SCHEMA, child)
    down = Relationship(parent_name, child_name, Cardinality.ONE_TO_MANY, constraint, (("id", fk_column),))
    up = Relationship(child_name, parent_name, Cardinality.MANY_TO_ONE, constraint, ((fk_column, "id"),))
    return down, up


def _catalog(tables: list[Table], relationships: list[Relationship]) -> SchemaCache:
    by_source: dict[QualifiedName, list[Relationship]] = {}
    for rel in relationships:
        by_source.setdefault(rel.source, []).append(rel)
    return SchemaCache(
        schemas=(SCHEMA,),
        tables={table.qualified_name: table for table in tables},
        relationships={source: tuple(rels) for source, rels in by_source.items()},
    )


def chain_catalog(depth: int) -> SchemaCache:
    """Tables t0 … t{depth}; t{i+1}.parent_id references t{i}.id (t{i} has many t{i+1})."""
    tables = [_plain_table("t0")]
    relationships: list[Relationship] = []
    for level in range(1, depth + 1):
        tables.append(_plain_table(f"t{level}", (Column("parent_id", "integer"),)))
        relationships.extend(_parent_child(f"t{level - 1}", f"t{level}", "parent_id"))
    return _catalog(tables, relationships)


def star_catalog(width: int) -> SchemaCache:
    """A table `hub` and children c1 … c{width}, each with hub_id referencing hub.id."""
    tables = [_plain_table("hub")]
    relationships: list[Relationship] = []
    for index in range(1, width + 1):
        tables.append(_plain_table(f"c{index}", (Column("hub_id", "integer"),)))
        relationships.extend(_parent_child("hub", f"c{index}", "hub_id"))
    return _catalog(tables, relationships)


def chain_select(depth: int) -> str:
    """`id,name,t1(id,name,t2(…))` embedding `depth` levels below t0."""
    inner = ""
    for level in range(depth, 0, -1):
        inner = f",t{level}(id,name{inner})"
    return "id,name" + inner


def star_select(width: int) -> str:
    """`id,name,c1(id,name),…,c{width}(id,name)`."""
    return "id,name" + "".join(f",c{index}(id,name)" for index in range(1, width + 1))
