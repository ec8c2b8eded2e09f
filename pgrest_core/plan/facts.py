"""What the planner derives from one table of a schema cache, worked out once per table.

Every read of a table needs the same few facts about it (the type each column's filters see,
the data representations that parse or format its columns). They depend only on the table and
the schema cache, both immutable, so they are computed on first use and kept.

The memo is keyed on the objects' identity rather than their value: hashing a `Table` hashes
every column, which costs more than the facts themselves, and a `SchemaCache` (holding dicts)
has no hash at all. Each entry keeps its table and cache alive, so an id cannot be reused by
another object while its entry exists; a reloaded schema cache brings new objects, and the memo
is emptied when it grows past its bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pgrest_core.schema.model import QualifiedName, SchemaCache, Table

MAX_ENTRIES: Final = 4096


@dataclass(frozen=True, slots=True)
class TableFacts:
    # (column, type operators see): the domain's base type for a domain column.
    column_types: tuple[tuple[str, str], ...]
    # (column, function) for columns whose filter values a text -> domain cast parses.
    text_parsers: tuple[tuple[str, QualifiedName], ...]
    # Some column's domain has a cast to json (a data representation) that formats it.
    formats_any: bool


_memo: dict[tuple[int, int], tuple[SchemaCache | None, Table, TableFacts]] = {}


def table_facts(cache: SchemaCache | None, table: Table) -> TableFacts:
    """The facts about `table` as planned against `cache` (None: no data representations)."""
    key = (id(cache), id(table))
    entry = _memo.get(key)
    if entry is not None and entry[0] is cache and entry[1] is table:
        return entry[2]
    facts = _derive(cache, table)
    if len(_memo) >= MAX_ENTRIES:
        _memo.clear()
    _memo[key] = (cache, table, facts)
    return facts


def _derive(cache: SchemaCache | None, table: Table) -> TableFacts:
    column_types = tuple((c.name, c.nominal_type or c.type) for c in table.columns)
    if cache is None or not cache.representations:
        return TableFacts(column_types, (), formats_any=False)
    parsers = []
    for c in table.columns:
        parser = cache.representation("text", c.type)
        if parser is not None:
            parsers.append((c.name, parser))
    formats_any = any(cache.representation(c.type, "json") for c in table.columns)
    return TableFacts(column_types, tuple(parsers), formats_any)
