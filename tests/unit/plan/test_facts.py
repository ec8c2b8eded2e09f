"""Per-table facts the planner memoizes: keyed on the objects, never mixed up between caches."""

from __future__ import annotations

from dataclasses import replace

from pgrest_core.plan import facts
from pgrest_core.plan.facts import MAX_ENTRIES, table_facts
from pgrest_core.schema.model import Column, QualifiedName, SchemaCache, Table

COLOR = QualifiedName("public", "color")
PAINTS = Table("public", "paints", (Column("id", "integer"), Column("shade", "public.color", nominal_type="text")))


def _cache(**representations: QualifiedName) -> SchemaCache:
    keys = {"parse": ("text", "public.color"), "format": ("public.color", "json")}
    return SchemaCache(
        schemas=("public",),
        tables={QualifiedName("public", "paints"): PAINTS},
        representations={keys[kind]: function for kind, function in representations.items()},
    )


def test_facts_of_a_table() -> None:
    parser, formatter = QualifiedName("public", "color_in"), QualifiedName("public", "color_out")
    found = table_facts(_cache(parse=parser, format=formatter), PAINTS)
    assert found.column_types == (("id", "integer"), ("shade", "text"))
    assert found.text_parsers == (("shade", parser),)
    assert found.formats_any


def test_an_equal_table_of_another_schema_cache_gets_that_cache_s_facts() -> None:
    # The same table value in a reloaded schema cache whose representations changed.
    before = table_facts(_cache(), PAINTS)
    reloaded = _cache(parse=QualifiedName("public", "color_in"))
    after = table_facts(reloaded, replace(PAINTS))
    assert before.text_parsers == () and not before.formats_any
    assert after.text_parsers == (("shade", QualifiedName("public", "color_in")),)
    assert table_facts(None, PAINTS).text_parsers == ()


def test_facts_are_worked_out_once_per_table_and_cache() -> None:
    cache = _cache()
    assert table_facts(cache, PAINTS) is table_facts(cache, PAINTS)


def test_the_memo_stays_bounded() -> None:
    cache = _cache()
    tables = [replace(PAINTS, name=f"t{n}") for n in range(MAX_ENTRIES + 10)]
    for table in tables:
        table_facts(cache, table)
    assert len(facts._memo) <= MAX_ENTRIES
    assert table_facts(cache, tables[-1]).column_types == (("id", "integer"), ("shade", "text"))
