"""The schema cache as JSON: a snapshot to commit, diff, and compile against without a database.

`dump_snapshot` writes stable JSON (sorted keys and entries, two-space indent, trailing
newline); `load_snapshot` reads it back into an equal `SchemaCache`. The mappings of the cache
become flat lists, because their values already carry their keys:

    {"schemas": [...], "descriptions": {schema: text},
     "tables": [Table], "relationships": [Relationship], "computed_relationships": [...],
     "routines": [Routine], "computed_fields": [{"table": {schema, name}, "routine": Routine}],
     "representations": [{source, target, function}], "media_handlers": [MediaHandler],
     "media_types": [{"domain": {schema, name}, "base_type"}]}

Dataclasses map to objects field by field, tuples to arrays, enums to their values, and
`QualifiedName` to {"schema", "name"}; the dataclasses' type hints drive the way back.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Mapping
from importlib import resources
from typing import Any

from pgrest_core.schema.model import (
    MediaHandler,
    QualifiedName,
    Relationship,
    Routine,
    SchemaCache,
    Table,
)

SNAPSHOT_FORMAT = 1
DEMO_PACKAGE = "pgrest_core.demo"
DEMO_SNAPSHOT = "demo_schema.json"


class SnapshotError(ValueError):
    """The text is not a schema snapshot this version understands."""


# -- writing ----------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    return value


def snapshot_dict(cache: SchemaCache) -> dict[str, Any]:
    """The cache as plain JSON values, in the snapshot's layout."""
    relationships = [rel for source in sorted(cache.relationships) for rel in cache.relationships[source]]
    return {
        "format": SNAPSHOT_FORMAT,
        "schemas": list(cache.schemas),
        "descriptions": dict(cache.descriptions),
        "tables": [_encode(cache.tables[name]) for name in sorted(cache.tables)],
        "relationships": [_encode(rel) for rel in relationships],
        "computed_relationships": [_encode(rel) for rel in cache.computed_relationships],
        "routines": [_encode(r) for name in sorted(cache.routines) for r in cache.routines[name]],
        "computed_fields": [
            {"table": _encode(table), "routine": _encode(routine)}
            for table in sorted(cache.computed_fields)
            for routine in cache.computed_fields[table]
        ],
        "representations": [
            {"source": source, "target": target, "function": _encode(cache.representations[(source, target)])}
            for source, target in sorted(cache.representations)
        ],
        "media_handlers": [_encode(handler) for handler in cache.media_handlers],
        "media_types": [
            {"domain": _encode(domain), "base_type": cache.media_types[domain]}
            for domain in sorted(cache.media_types)
        ],
    }


def dump_snapshot(cache: SchemaCache) -> str:
    """The schema cache as JSON text (stable key order), which `load_snapshot` reads back."""
    return json.dumps(snapshot_dict(cache), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- reading ----------------------------------------------------------------------------------


def _decode(hint: Any, value: Any) -> Any:
    """`value` (plain JSON) as an instance of the type `hint`."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(inner, value)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in value)
        return tuple(_decode(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise SnapshotError(f"{value!r} is not one of {typing.get_args(hint)}")
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint in (str, int, bool) and not isinstance(value, hint):
        raise SnapshotError(f"expected {hint.__name__}, got {value!r}")
    return value


def _decode_dataclass(cls: type[Any], value: Any) -> Any:
    if not isinstance(value, dict):
        raise SnapshotError(f"expected an object for {cls.__name__}, got {value!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(value) - known
    if unknown:
        raise SnapshotError(f"unknown fields for {cls.__name__}: {sorted(unknown)}")
    return cls(**{name: _decode(hints[name], item) for name, item in value.items()})


def _grouped(
    items: list[Any], key: typing.Callable[[Any], QualifiedName]
) -> dict[QualifiedName, tuple[Any, ...]]:
    groups: dict[QualifiedName, list[Any]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return {name: tuple(group) for name, group in groups.items()}


def load_snapshot(snapshot: str | bytes | Mapping[str, Any]) -> SchemaCache:
    """A `SchemaCache` from snapshot JSON text or its already-parsed dict."""
    data = json.loads(snapshot) if isinstance(snapshot, str | bytes) else snapshot
    if not isinstance(data, Mapping) or data.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"not a pgrest schema snapshot of format {SNAPSHOT_FORMAT}")
    tables = [_decode(Table, raw) for raw in data.get("tables", [])]
    relationships = [_decode(Relationship, raw) for raw in data.get("relationships", [])]
    # A snapshot written before uncallable functions were left out may still hold some.
    routines = [r for r in (_decode(Routine, raw) for raw in data.get("routines", [])) if r.callable]
    computed_fields = [
        (_decode(QualifiedName, raw["table"]), _decode(Routine, raw["routine"]))
        for raw in data.get("computed_fields", [])
    ]
    hints = typing.get_type_hints(SchemaCache)
    return SchemaCache(
        schemas=tuple(data["schemas"]),
        tables={table.qualified_name: table for table in tables},
        relationships=_grouped(relationships, lambda rel: rel.source),
        computed_relationships=_decode(
            hints["computed_relationships"], data.get("computed_relationships", [])
        ),
        routines=_grouped(routines, lambda routine: routine.qualified_name),
        computed_fields={
            table: tuple(routine for owner, routine in computed_fields if owner == table)
            for table in dict.fromkeys(owner for owner, _ in computed_fields)
        },
        descriptions=dict(data.get("descriptions", {})),
        representations={
            (raw["source"], raw["target"]): _decode(QualifiedName, raw["function"])
            for raw in data.get("representations", [])
        },
        media_handlers=tuple(_decode(MediaHandler, raw) for raw in data.get("media_handlers", [])),
        media_types={
            _decode(QualifiedName, raw["domain"]): str(raw["base_type"])
            for raw in data.get("media_types", [])
        },
    )


def load_demo() -> SchemaCache:
    """The schema cache of the bundled demo database (pgrest_core/demo/demo.sql)."""
    return load_snapshot(resources.files(DEMO_PACKAGE).joinpath(DEMO_SNAPSHOT).read_text(encoding="utf-8"))
