"""What the planner memoizes per schema cache: keyed on the objects, never mixed up between caches."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.plan import derived
from pgrest_core.plan.derived import MAX_ENTRIES, MAX_SCHEMA_CACHES, embed_target, table_facts
from pgrest_core.plan.relationships import resolve_embed
from pgrest_core.schema.model import Column, QualifiedName, SchemaCache, Table
from tests.unit.plan.films import DIRECTORS, FILMS, films_cache

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
    assert len(derived._memo(cache).tables) <= MAX_ENTRIES
    assert table_facts(cache, tables[-1]).column_types == (("id", "integer"), ("shade", "text"))


def test_embeds_resolve_once_per_schema_cache() -> None:
    cache = films_cache()
    found = embed_target(cache, FILMS, "directors", None)
    assert found == resolve_embed(cache, FILMS, "directors", None)
    assert embed_target(cache, FILMS, "directors", None) is found
    # Another schema cache (a reload) resolves again, against itself.
    other = films_cache()
    assert embed_target(other, FILMS, "directors", None) is not found
    assert embed_target(other, FILMS, "directors", None) == found


def test_an_embed_that_does_not_resolve_fails_every_time() -> None:
    cache = films_cache()
    for _ in range(2):
        with pytest.raises(PgrstError) as failure:
            embed_target(cache, DIRECTORS, "nothing", None)
        assert failure.value.code == "PGRST200"


def test_the_memo_keeps_few_schema_caches() -> None:
    caches = [films_cache() for _ in range(MAX_SCHEMA_CACHES + 3)]
    for cache in caches:
        embed_target(cache, FILMS, "directors", None)
    assert len(derived._memos) <= MAX_SCHEMA_CACHES
