"""What the planner derives from a schema cache, worked out once and kept.

Every read of a table needs the same few facts about it (the type each column's filters see,
the data representations that parse or format its columns), and every embed of `films` in
`directors(…)` resolves to the same relationship. Both depend only on the schema cache, which is
immutable, so they are computed on first use and kept with it.

The memo is keyed on the schema cache's identity, not its value: a `SchemaCache` (holding dicts)
has no hash, and hashing a `Table` would hash every column, which costs more than the facts
themselves. Each entry keeps its schema cache (and each table its table) alive, so an id cannot
be reused by another object while its entry exists. A reload brings a new schema cache and so a
new entry; the memo is emptied when a third schema cache comes (so it keeps at most one stale
schema cache alive, until the next reload), and so is any of its tables that grows past its
bound (embed names and hints come from requests).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from pgrest_core.plan.relationships import EmbedTarget, resolve_embed
from pgrest_core.schema.model import Column, QualifiedName, SchemaCache, Table

MAX_ENTRIES: Final = 4096  # per table of one schema cache's memo
MAX_SCHEMA_CACHES: Final = 2  # the current one, and the one before a reload


@dataclass(frozen=True, slots=True)
class TableFacts:
    columns: Mapping[str, Column]  # by name
    # (column, type operators see): the domain's base type for a domain column.
    column_types: tuple[tuple[str, str], ...]
    # (column, function) for columns whose filter values a text -> domain cast parses.
    text_parsers: tuple[tuple[str, QualifiedName], ...]
    # Some column's domain has a cast to json (a data representation) that formats it.
    formats_any: bool


class _Memo:
    """Everything derived from one schema cache (None: planning without one)."""

    __slots__ = ("cache", "tables", "embeds")

    def __init__(self, cache: SchemaCache | None) -> None:
        self.cache = cache
        self.tables: dict[int, tuple[Table, TableFacts]] = {}
        self.embeds: dict[tuple[QualifiedName, str, str | None], EmbedTarget] = {}


_memos: dict[int, _Memo] = {}


def _memo(cache: SchemaCache | None) -> _Memo:
    memo = _memos.get(id(cache))
    if memo is None or memo.cache is not cache:
        if len(_memos) >= MAX_SCHEMA_CACHES:
            _memos.clear()
        memo = _memos[id(cache)] = _Memo(cache)
    return memo


def table_facts(cache: SchemaCache | None, table: Table) -> TableFacts:
    """The facts about `table` as planned against `cache`."""
    tables = _memo(cache).tables
    entry = tables.get(id(table))
    if entry is not None and entry[0] is table:
        return entry[1]
    facts = _facts(cache, table)
    _bounded_put(tables, id(table), (table, facts))
    return facts


def embed_target(cache: SchemaCache, source: QualifiedName, name: str, hint: str | None) -> EmbedTarget:
    """`resolve_embed`, remembered per schema cache (its errors are raised again each time)."""
    embeds = _memo(cache).embeds
    key = (source, name, hint)
    found = embeds.get(key)
    if found is None:
        found = resolve_embed(cache, source, name, hint)
        _bounded_put(embeds, key, found)
    return found


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


def _bounded_put(table: dict[_K, _V], key: _K, value: _V) -> None:
    if len(table) >= MAX_ENTRIES:
        table.clear()
    table[key] = value


def _facts(cache: SchemaCache | None, table: Table) -> TableFacts:
    columns: dict[str, Column] = {}
    for c in table.columns:
        columns.setdefault(c.name, c)  # the first of a name, as Table.column finds it
    column_types = tuple((c.name, c.nominal_type or c.type) for c in table.columns)
    if cache is None or not cache.representations:
        return TableFacts(columns, column_types, (), formats_any=False)
    parsers = []
    for c in table.columns:
        parser = cache.representation("text", c.type)
        if parser is not None:
            parsers.append((c.name, parser))
    formats_any = any(cache.representation(c.type, "json") for c in table.columns)
    return TableFacts(columns, column_types, tuple(parsers), formats_any)
