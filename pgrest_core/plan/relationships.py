"""Finding what an embed name refers to: a relationship, disambiguated by its hint.

`rel!hint` is matched like PostgREST does: the name is a related table's name (or, for to-one
relationships, the foreign key's name or its single column), and the hint narrows the candidates
to a foreign key name, a column of it, or a junction table. None left is PGRST200; more than one
is PGRST201, whose details list the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgrest_core.errors import SchemaCacheError
from pgrest_core.plan.fuzzy import TABLE_MIN_SCORE, best_match, ranked
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


def table_not_found(cache: SchemaCache, schema: str, name: str) -> SchemaCacheError:
    close = best_match(name, (q.name for q in cache.tables if q.schema == schema), TABLE_MIN_SCORE)
    return SchemaCacheError(
        "PGRST205",
        404,
        f"Could not find the table '{schema}.{name}' in the schema cache",
        None,
        f"Perhaps you meant the table '{schema}.{close}'" if close else None,
    )


def _single(pairs: tuple[tuple[str, str], ...], side: int) -> str | None:
    """The one column of a single-column key on `side` (0: source, 1: target), else None."""
    return pairs[0][side] if len(pairs) == 1 else None


def _matches(rel: Relationship, name: str, hint: str | None, target_is_view: bool) -> bool:
    """Does `name!hint` pick this relationship? PostgREST's rules, in order of the cases."""
    fk_column = _single(rel.columns, 0)
    ref_column = _single(rel.columns, 1)
    is_fk = rel.junction is None
    if rel.is_self:
        # One foreign key gives two self-relationships: the table's name (with the column
        # as hint) means the children, the foreign key column alone means the parent.
        if hint is None:
            return (name == rel.target.name and rel.cardinality is Cardinality.ONE_TO_MANY) or (
                name == fk_column and rel.cardinality is Cardinality.MANY_TO_ONE
            )
        return name == rel.target.name and rel.cardinality is Cardinality.ONE_TO_MANY and hint == ref_column
    if hint is None:
        return name == rel.target.name or (
            is_fk and not target_is_view and name in (rel.constraint, fk_column)
        )
    if name != rel.target.name:
        return False
    if is_fk:
        return hint in (rel.constraint, fk_column, ref_column)
    assert rel.junction is not None
    return hint == rel.junction.table.name


def resolve_embed(cache: SchemaCache, source: QualifiedName, name: str, hint: str | None) -> EmbedTarget:
    found: list[EmbedTarget] = [
        EmbedTarget(c.target, c)
        for c in cache.computed_relationships
        if c.source == source and c.function.name == name
    ]
    if len(found) > 1:
        raise _ambiguous_computed(source, name)
    if found:  # a computed relationship overrides foreign keys of the same name
        return found[0]
    for rel in cache.relationships_from(source):
        target = cache.tables.get(rel.target)
        if _matches(rel, name, hint, target is not None and target.is_view):
            found.append(EmbedTarget(rel.target, rel))
    if len(found) == 1:
        return found[0]
    if not found:
        raise _no_relationship(cache, source, name, hint)
    raise _ambiguous(
        source, name, [t.relationship for t in found if isinstance(t.relationship, Relationship)]
    )


def _ambiguous_computed(source: QualifiedName, name: str) -> SchemaCacheError:
    return SchemaCacheError(
        "PGRST201",
        300,
        f"Could not embed because more than one relationship was found for '{source.name}' and '{name}'",
        None,
        "Rename the overloaded computed relationship functions so each name is unique.",
    )


def _no_relationship(
    cache: SchemaCache, source: QualifiedName, name: str, hint: str | None
) -> SchemaCacheError:
    using = f" using the hint '{hint}'" if hint is not None else ""
    return SchemaCacheError(
        "PGRST200",
        400,
        f"Could not find a relationship between '{source.name}' and '{name}' in the schema cache",
        f"Searched for a foreign key relationship between '{source.name}' and '{name}'{using} "
        f"in the schema '{source.schema}', but no matches were found.",
        _no_relationship_hint(cache, source, name),
    )


def _no_relationship_hint(cache: SchemaCache, source: QualifiedName, name: str) -> str | None:
    """Suggest a close parent when the origin has no relationships, else a close child.

    A child that matches exactly means the hint was the problem, so nothing is suggested.
    """
    related = cache.relationships_from(source)
    if not related:
        parents = (q.name for q in cache.relationships if q.schema == source.schema)
        parent = best_match(source.name, parents)
        return f"Perhaps you meant '{parent}' instead of '{source.name}'." if parent else None
    for score, child in ranked(name, (r.target.name for r in related)):
        if score < 1.0:
            return f"Perhaps you meant '{child}' instead of '{name}'."
    return None


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
