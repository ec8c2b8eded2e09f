"""Schema cache snapshots: stable JSON that reads back into an equal cache."""

from __future__ import annotations

import json

import pytest

from pgrest_core.schema.model import (
    Cardinality,
    Column,
    ComputedRelationship,
    Junction,
    QualifiedName,
    Relationship,
    ReturnType,
    Routine,
    RoutineParam,
    SchemaCache,
    Table,
)
from pgrest_core.schema.snapshot import SnapshotError, dump_snapshot, load_demo, load_snapshot


def q(name: str) -> QualifiedName:
    return QualifiedName("api", name)


ITEMS = Table(
    schema="api",
    name="items",
    columns=(
        Column("id", "integer", nullable=False, generated=True),
        Column(
            "label",
            "character varying(20)",
            default="'x'::character varying",
            max_length=20,
            description="What it is",
        ),
        Column("mood", "mood", enum_values=("sad", "ok")),
        Column("code", "code_text", nominal_type="text"),
    ),
    primary_key=("id",),
    description="Things",
)
TAGS = Table("api", "tags", (Column("id", "integer", nullable=False),), primary_key=("id",))
ITEM_TAGS = Table(
    "api",
    "item_tags",
    (Column("item_id", "integer"), Column("tag_id", "integer")),
    primary_key=("item_id", "tag_id"),
)
RECENT = Table(
    "api", "recent", ITEMS.columns[:2], is_view=True, insertable=False, updatable=False, deletable=False
)
LABEL = Routine("api", "label", (RoutineParam("", "items"),), ReturnType("pg_catalog", "text"), "immutable")
TAGGED = Routine(
    "api",
    "tagged",
    (RoutineParam("", "items"),),
    ReturnType("api", "tags", set_of=True, composite=True),
    "stable",
)
ADD_INT = Routine(
    "api",
    "add",
    (RoutineParam("a", "integer"), RoutineParam("b", "integer", required=False)),
    ReturnType("pg_catalog", "int4"),
    description="Adds",
)
ADD_TEXT = Routine(
    "api", "add", (RoutineParam("parts", "text[]", variadic=True),), ReturnType("pg_catalog", "text")
)
JUNCTION = Junction(
    q("item_tags"),
    "item_tags_item_id_fkey",
    (("id", "item_id"),),
    "item_tags_tag_id_fkey",
    (("id", "tag_id"),),
)

CACHE = SchemaCache(
    schemas=("api", "other"),
    tables={t.qualified_name: t for t in (TAGS, ITEMS, ITEM_TAGS, RECENT)},
    relationships={
        q("items"): (
            Relationship(
                q("items"),
                q("item_tags"),
                Cardinality.ONE_TO_MANY,
                "item_tags_item_id_fkey",
                (("id", "item_id"),),
            ),
            Relationship(q("items"), q("tags"), Cardinality.MANY_TO_MANY, "item_tags", junction=JUNCTION),
        ),
        q("item_tags"): (
            Relationship(
                q("item_tags"),
                q("items"),
                Cardinality.MANY_TO_ONE,
                "item_tags_item_id_fkey",
                (("item_id", "id"),),
            ),
        ),
    },
    computed_relationships=(ComputedRelationship(q("tagged"), q("items"), q("tags"), single_row=False),),
    # label and tagged take a row unnamed: computed, never called by a request.
    routines={q("add"): (ADD_INT, ADD_TEXT)},
    computed_fields={q("items"): (LABEL,)},
    descriptions={"api": "The API"},
)


def test_round_trip_gives_an_equal_cache() -> None:
    assert load_snapshot(dump_snapshot(CACHE)) == CACHE


def test_dump_is_stable_whatever_the_insertion_order() -> None:
    shuffled = SchemaCache(
        schemas=CACHE.schemas,
        tables=dict(reversed(list(CACHE.tables.items()))),
        relationships=dict(reversed(list(CACHE.relationships.items()))),
        computed_relationships=CACHE.computed_relationships,
        routines=dict(reversed(list(CACHE.routines.items()))),
        computed_fields=CACHE.computed_fields,
        descriptions=CACHE.descriptions,
    )
    text = dump_snapshot(CACHE)
    assert dump_snapshot(shuffled) == text
    assert dump_snapshot(load_snapshot(text)) == text
    assert text.endswith("}\n") and '\n  "descriptions"' in text


def test_snapshot_layout() -> None:
    data = json.loads(dump_snapshot(CACHE))
    assert [t["name"] for t in data["tables"]] == ["item_tags", "items", "recent", "tags"]
    assert data["relationships"][2]["cardinality"] == "many-to-many"
    assert data["relationships"][2]["junction"]["table"] == {"schema": "api", "name": "item_tags"}
    (field,) = data["computed_fields"]
    assert (field["table"], field["routine"]["name"]) == ({"schema": "api", "name": "items"}, "label")
    assert [r["params"][0]["name"] for r in data["routines"]] == ["a", "parts"]
    assert data["relationships"][0]["source"]["name"] == "item_tags"


def test_load_accepts_a_parsed_dict() -> None:
    assert load_snapshot(json.loads(dump_snapshot(CACHE))) == CACHE


def test_empty_cache_round_trips() -> None:
    empty = SchemaCache(schemas=("public",))
    assert load_snapshot(dump_snapshot(empty)) == empty


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("format"), "not a pgrest schema snapshot"),
        (lambda d: d["tables"][0].update(colour="red"), "unknown fields for Table"),
        (lambda d: d["routines"][0].update(volatility="sometimes"), "'sometimes' is not one of"),
        (lambda d: d["tables"][0].update(name=7), "expected str"),
    ],
)
def test_malformed_snapshots_are_rejected(change: object, message: str) -> None:
    data = json.loads(dump_snapshot(CACHE))
    change(data)  # type: ignore[operator]
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(data)


def test_bad_cardinality_is_rejected() -> None:
    data = json.loads(dump_snapshot(CACHE))
    data["relationships"][0]["cardinality"] = "some-to-some"
    with pytest.raises(ValueError):
        load_snapshot(data)


def test_demo_snapshot_loads() -> None:
    demo = load_demo()
    assert demo.schemas == ("public",)
    films = demo.table("public", "films")
    assert films is not None and films.primary_key == ("id",)
    to_directors = [r for r in demo.relationships_from(films.qualified_name) if r.target.name == "directors"]
    assert [(r.cardinality, r.constraint, r.columns) for r in to_directors] == [
        (Cardinality.MANY_TO_ONE, "films_director_id_fkey", (("director_id", "id"),))
    ]
    to_actors = [r for r in demo.relationships_from(films.qualified_name) if r.target.name == "actors"]
    assert [r.junction.table.name for r in to_actors if r.junction] == ["roles"]
    assert [r.name for r in demo.computed_fields[QualifiedName("public", "directors")]] == ["full_name"]
    assert QualifiedName("public", "search_films") in demo.routines
    assert dump_snapshot(demo) == dump_snapshot(load_snapshot(dump_snapshot(demo)))


# --- issue 8 item 7: only functions a request can call are exposed -------------------------------

_INT = ReturnType("pg_catalog", "int4")


def _fn(name: str, *params: tuple[str, str]) -> Routine:
    return Routine("api", name, tuple(RoutineParam(n, t) for n, t in params), _INT)


@pytest.mark.parametrize(
    ("routine", "expected"),
    [
        (_fn("none"), True),
        (_fn("named", ("a", "integer"), ("b", "text")), True),
        (_fn("two_unnamed", ("", "integer"), ("", "integer")), False),
        (_fn("unnamed_int", ("", "integer")), False),
        (_fn("unnamed_int_then_named", ("", "integer"), ("b", "integer")), False),
        (_fn("body_json", ("", "json")), True),
        (_fn("body_jsonb", ("", "jsonb")), True),
        (_fn("body_text", ("", "text")), True),
        (_fn("body_bytea", ("", "bytea")), True),
        (_fn("body_xml", ("", "xml")), True),
        (_fn("two_unnamed_text", ("", "text"), ("", "text")), False),
    ],
)
def test_a_function_is_callable_when_its_parameters_are_named_or_one_takes_the_body(
    routine: Routine, expected: bool
) -> None:
    assert routine.callable is expected


def test_loading_a_snapshot_leaves_out_functions_that_cannot_be_called() -> None:
    callable_one, uncallable = _fn("ok", ("a", "integer")), _fn("no", ("", "integer"), ("", "integer"))
    cache = SchemaCache(
        schemas=("api",),
        routines={callable_one.qualified_name: (callable_one,), uncallable.qualified_name: (uncallable,)},
    )
    assert set(load_snapshot(dump_snapshot(cache)).routines) == {callable_one.qualified_name}
