"""Finding what an embed name refers to: a relationship, disambiguated by its hint.

`rel!hint` is matched like PostgREST does: the name is a related table's name (or, for to-one
relationships, the foreign key's name or its single column), and the hint narrows the candidates
to a foreign key name, a column of it, or a junction table. None left is PGRST200; more than one
is PGRST201, whose details list the candidates.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from pgrest_core.errors import SchemaCacheError
from pgrest_core.schema.model import (
    Cardinality,
    ComputedRelationship,
    QualifiedName,
    Relationship,
    SchemaCache,
)


@dataclass(frozen=True, slots=True)
class EmbedTarget:
    """The resolved embed: a foreign-key relationship or a computed relationship."""

    relation: QualifiedName
    relationship: Relationship | ComputedRelationship

    @property
    def to_one(self) -> bool:
        rel = self.relationship
        if isinstance(rel, ComputedRelationship):
            return rel.single_row
        return rel.to_one


def _close(name: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def table_not_found(cache: SchemaCache, schema: str, name: str) -> SchemaCacheError:
    names = [q.name for q in cache.tables if q.schema == schema]
    close = _close(name, names)
    return SchemaCacheError(
        "PGRST205",
        404,
        f"Could not find the table '{schema}.{name}' in the schema cache",
        None,
        f"Perhaps you meant the table '{schema}.{close}'" if close else None,
    )


def _matches_name(rel: Relationship, name: str) -> bool:
    if rel.target.name == name:
        return True
    # A to-one relationship can also be named by its foreign key or its single column.
    if rel.to_one and rel.junction is None:
        if rel.constraint == name:
            return True
        if len(rel.columns) == 1 and rel.columns[0][0] == name:
            return True
    return False


def _matches_hint(rel: Relationship, hint: str) -> bool:
    if rel.junction is not None:
        j = rel.junction
        return hint in (j.table.name, j.source_constraint, j.target_constraint)
    if rel.constraint == hint:
        return True
    return any(hint in pair for pair in rel.columns)


def resolve_embed(cache: SchemaCache, source: QualifiedName, name: str, hint: str | None) -> EmbedTarget:
    for computed in cache.computed_relationships:
        if computed.source == source and computed.function.name == name and hint is None:
            return EmbedTarget(computed.target, computed)
    candidates = [r for r in cache.relationships_from(source) if _matches_name(r, name)]
    if hint is not None:
        candidates = [r for r in candidates if _matches_hint(r, hint)]
    if len(candidates) == 1:
        return EmbedTarget(candidates[0].target, candidates[0])
    if not candidates:
        raise _no_relationship(cache, source, name, hint)
    raise _ambiguous(source, name, candidates)


def _no_relationship(
    cache: SchemaCache, source: QualifiedName, name: str, hint: str | None
) -> SchemaCacheError:
    using = f" using the hint '{hint}'" if hint is not None else ""
    related = sorted({r.target.name for r in cache.relationships_from(source)})
    close = _close(name, related) if hint is None else None
    return SchemaCacheError(
        "PGRST200",
        400,
        f"Could not find a relationship between '{source.name}' and '{name}' in the schema cache",
        f"Searched for a foreign key relationship between '{source.name}' and '{name}'{using} "
        f"in the schema '{source.schema}', but no matches were found.",
        f"Perhaps you meant '{close}' instead of '{name}'." if close else None,
    )


def describe(rel: Relationship) -> str:
    """How PGRST201 names a relationship: `fk using a(x) and b(y)` or `junction using fk1(..) and fk2(..)`."""
    if rel.junction is not None:
        j = rel.junction
        source_cols = ", ".join(junction_col for _, junction_col in j.source_columns)
        target_cols = ", ".join(junction_col for _, junction_col in j.target_columns)
        return (
            f"{j.table.name} using {j.source_constraint}({source_cols}) "
            f"and {j.target_constraint}({target_cols})"
        )
    source_cols = ", ".join(c for c, _ in rel.columns)
    target_cols = ", ".join(c for _, c in rel.columns)
    return f"{rel.constraint} using {rel.source.name}({source_cols}) and {rel.target.name}({target_cols})"


def _ambiguous(source: QualifiedName, name: str, candidates: list[Relationship]) -> SchemaCacheError:
    details = [
        {
            "cardinality": rel.cardinality.value,
            "embedding": f"{source.name} with {rel.target.name}",
            "relationship": describe(rel),
        }
        for rel in candidates
    ]
    hints = ", ".join(
        f"'{name}!{rel.junction.table.name if rel.junction else rel.constraint}'" for rel in candidates
    )
    return SchemaCacheError(
        "PGRST201",
        300,
        f"Could not embed because more than one relationship was found for '{source.name}' and '{name}'",
        details,
        f"Try changing '{name}' to one of the following: {hints}. "
        "Find the desired relationship in the 'details' key.",
    )


__all__ = ["Cardinality", "EmbedTarget", "describe", "resolve_embed", "table_not_found"]
