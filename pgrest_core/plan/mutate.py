"""Plan a write: POST (insert, bulk insert, upsert), PUT (single-row upsert), PATCH and DELETE.

A `MutatePlan` says which table is written, which columns, from which JSON body, under which
conditions, and what its RETURNING clause must give the response: nothing, the primary key
(for Location) or the columns the representation (`return=representation`, with `select=` and
embeds) reads. The representation itself is an ordinary `ReadPlan` over the mutation's rows,
compiled by `level_sql(..., source=…)`.

Everything a client can get wrong is found here (PGRST105, 114, 204, …); compiling never fails.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

from pgrest_core import ast
from pgrest_core.errors import ApiRequestError, SchemaCacheError
from pgrest_core.plan.read import (
    NullCheck,
    PlanCondition,
    PlanLogic,
    ReadPlan,
    RelatedOrder,
    check_embed_filters,
    find_table,
    plan_read,
)
from pgrest_core.request.payload import Payload, parse_payload
from pgrest_core.schema.model import ComputedRelationship, QualifiedName, Relationship, SchemaCache, Table

MutationKind: TypeAlias = Literal["insert", "put", "update", "delete"]
ReturnPreference: TypeAlias = Literal["minimal", "headers-only", "representation"]

_KINDS: dict[str, MutationKind] = {"POST": "insert", "PUT": "put", "PATCH": "update", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class OnConflict:
    """`ON CONFLICT (columns) DO UPDATE SET …` (merge) or `DO NOTHING` (ignore)."""

    columns: tuple[str, ...]
    action: Literal["merge", "ignore"]


@dataclass(frozen=True, slots=True)
class MutatePlan:
    kind: MutationKind
    target: ReadPlan  # the root level: relation, alias and column types for the conditions
    columns: tuple[str, ...] = ()  # the columns written (insert/put/update)
    payload: str | None = None  # JSON text: an array of rows (insert/put) or one object (update)
    # (column, default expression from the catalog) merged under the body's keys: missing=default.
    defaults: tuple[tuple[str, str], ...] = ()
    where: tuple[PlanCondition, ...] = ()  # update/delete: which rows; put: the body row's pk
    order: tuple[ast.OrderTerm, ...] = ()  # with limit/offset: which rows an update/delete takes
    limit: int | None = None
    offset: int | None = None
    on_conflict: OnConflict | None = None
    returning: tuple[str, ...] | None = ()  # None: every column; (): nothing (RETURNING 1)
    track_inserted: bool = False  # report how many rows an upsert inserted (for its status)
    typed_rows: bool = False  # the representation needs rows of the table's type (computed fields)
    # (column, function) for written columns whose domain has a json -> domain cast (a data
    # representation): the body's JSON value goes through the function, not the type's input.
    json_parsers: tuple[tuple[str, QualifiedName], ...] = ()

    @property
    def relation(self) -> QualifiedName:
        return self.target.relation

    @property
    def alias(self) -> str:
        return self.target.alias


@dataclass(frozen=True, slots=True)
class PlannedMutation:
    """The mutation, the representation read over its rows, and what the response needs."""

    mutation: MutatePlan
    representation: ReadPlan
    return_: ReturnPreference
    location_columns: tuple[str, ...] = ()  # primary key columns, for `return=headers-only`
    resolution_applied: bool = False  # an upsert (reported in Preference-Applied)


def mutation_kind(method: str) -> MutationKind:
    return _KINDS[method]


# --- errors ----------------------------------------------------------------------------------


def column_not_found(column: str, table: str) -> SchemaCacheError:
    return SchemaCacheError(
        "PGRST204", 400, f"Could not find the '{column}' column of '{table}' in the schema cache"
    )


def put_filters_error() -> ApiRequestError:
    return ApiRequestError(
        "PGRST105", 405, "Filters must include all and only primary key columns with 'eq' operators"
    )


def put_range_error() -> ApiRequestError:
    return ApiRequestError("PGRST114", 400, "limit/offset querystring parameters are not allowed for PUT")


# --- planning --------------------------------------------------------------------------------


def plan_mutation(
    request: ast.ApiRequest,
    relation: QualifiedName,
    cache: SchemaCache | None,
    *,
    aggregates_enabled: bool = False,
    legacy_target_names: bool = True,
) -> PlannedMutation:
    """Plan a POST/PUT/PATCH/DELETE on a table or view."""
    kind = mutation_kind(request.method)
    query = request.query
    payload = mutation_payload(request)
    table = find_table(cache, relation.schema, relation.name)
    tree = plan_read(
        query, relation, cache, aggregates_enabled=aggregates_enabled, legacy_target_names=legacy_target_names
    )
    check_embed_filters(query, tree, legacy_target_names=legacy_target_names)
    if kind == "put":
        _check_put(query, tree, table)
    prefs = request.preferences
    return_: ReturnPreference = prefs.return_ or "minimal"
    columns = _written_columns(query, payload, table, relation)
    where, kept = _split_conditions(tree.conditions)
    representation = replace(tree, conditions=kept, limit=None, offset=None)
    on_conflict = _on_conflict(kind, query, prefs, columns, table)
    track_inserted = on_conflict is not None and table is not None
    returning, typed = _returning(return_, representation, table, kind)
    if track_inserted and on_conflict is not None and returning is not None:
        returning = _merge(returning, on_conflict.columns)  # to tell inserted rows from updated ones
    location = table.primary_key if table is not None and kind == "insert" else ()
    if return_ == "headers-only" and kind == "insert" and returning is not None:
        returning = _merge(returning, location)
    ranged = kind in ("update", "delete")  # limit/offset pick the rows a PATCH/DELETE takes
    plan = MutatePlan(
        kind=kind,
        target=replace(tree, conditions=(), embeds=(), fields=(), order=()),
        columns=columns,
        payload=payload_text(kind, payload),
        defaults=_defaults(columns, table) if prefs.missing == "default" else (),
        where=_put_conditions(query) if kind == "put" else where,
        order=tuple(t for t in tree.order if isinstance(t, ast.OrderTerm)) if ranged else (),
        limit=tree.limit if ranged else None,
        offset=tree.offset if ranged else None,
        on_conflict=on_conflict,
        returning=returning,
        track_inserted=track_inserted,
        typed_rows=typed,
        json_parsers=_json_parsers(columns, table, cache),
    )
    resolution_applied = (
        kind == "insert"
        and prefs.resolution is not None
        and (bool(query.on_conflict) or (table is not None and bool(table.primary_key)))
    )
    return PlannedMutation(plan, representation, return_, location, resolution_applied)


def mutation_payload(request: ast.ApiRequest) -> Payload | None:
    """The write's parsed body (None for DELETE, which ignores its body). PGRST102 and the
    like for a body that does not parse."""
    if mutation_kind(request.method) == "delete":
        return None
    return parse_payload(request.body, request.content_type, columns=request.query.columns)


def payload_text(kind: MutationKind, payload: Payload | None) -> str | None:
    """The JSON text the statement's one body parameter carries (the shape cache fills it too)."""
    if payload is None:
        return None
    if kind == "insert":
        return payload.rows_json
    if kind == "put":  # PUT writes the first row only
        return "[" + payload.first_json + "]"
    return payload.first_json


def _written_columns(
    query: ast.QueryParams, payload: Payload | None, table: Table | None, relation: QualifiedName
) -> tuple[str, ...]:
    """`columns=` or the body's keys, each checked against the table (PGRST204)."""
    if payload is None:
        return ()
    columns = query.columns if query.columns is not None else payload.keys
    if table is not None:
        for name in columns:
            if table.column(name) is None:
                raise column_not_found(name, relation.name)
    return tuple(dict.fromkeys(columns))


def _json_parsers(
    columns: tuple[str, ...], table: Table | None, cache: SchemaCache | None
) -> tuple[tuple[str, QualifiedName], ...]:
    if table is None or cache is None or not cache.representations:
        return ()
    found = []
    for name in columns:
        column = table.column(name)
        parser = cache.representation("json", column.type) if column is not None else None
        if parser is not None:
            found.append((name, parser))
    return tuple(found)


def _defaults(columns: tuple[str, ...], table: Table | None) -> tuple[tuple[str, str], ...]:
    if table is None:
        return ()
    out: list[tuple[str, str]] = []
    for name in columns:
        column = table.column(name)
        if column is not None and column.default is not None and not column.generated:
            out.append((name, column.default))
    return tuple(out)


def _on_conflict(
    kind: MutationKind,
    query: ast.QueryParams,
    prefs: ast.Preferences,
    columns: tuple[str, ...],
    table: Table | None,
) -> OnConflict | None:
    pk = table.primary_key if table is not None else ()
    if kind == "put":
        return OnConflict(pk, "merge")
    if kind != "insert" or prefs.resolution is None:
        return None
    target = query.on_conflict or pk
    if not target:
        return None
    # Nothing to update when no column is written: a conflict is then simply skipped.
    merge = prefs.resolution == "merge-duplicates" and bool(columns)
    return OnConflict(tuple(target), "merge" if merge else "ignore")


def _check_put(query: ast.QueryParams, tree: ReadPlan, table: Table | None) -> None:
    """PUT names exactly one row: `eq` filters on every primary key column, nothing else."""
    if tree.limit is not None or tree.offset is not None:
        raise put_range_error()
    filters: list[str] = []
    for scoped in query.conditions:
        condition = scoped.condition
        if (
            scoped.path
            or not isinstance(condition, ast.Filter)
            or condition.negated
            or condition.field.json_path
            or not isinstance(condition.operation, ast.Compare)
            or condition.operation.operator != ast.Operator.EQ
        ):
            raise put_filters_error()
        filters.append(condition.field.name)
    pk = table.primary_key if table is not None else tuple(filters)
    if not pk or sorted(filters) != sorted(pk):
        raise put_filters_error()


def _put_conditions(query: ast.QueryParams) -> tuple[PlanCondition, ...]:
    """PUT's URL filters, applied to the body row: a body that disagrees inserts nothing (PGRST115)."""
    return tuple(c.condition for c in query.conditions if isinstance(c.condition, ast.Filter))


def _split_conditions(
    conditions: tuple[PlanCondition, ...],
) -> tuple[tuple[PlanCondition, ...], tuple[PlanCondition, ...]]:
    """(conditions the mutation's WHERE can test, conditions on embeds left to the representation)."""
    where: list[PlanCondition] = []
    kept: list[PlanCondition] = []
    for condition in conditions:
        (kept if _mentions_embed(condition) else where).append(condition)
    return tuple(where), tuple(kept)


def _mentions_embed(condition: PlanCondition) -> bool:
    if isinstance(condition, NullCheck):
        return True
    if isinstance(condition, PlanLogic):
        return any(_mentions_embed(c) for c in condition.children)
    return False


def _returning(
    return_: ReturnPreference, tree: ReadPlan, table: Table | None, kind: MutationKind
) -> tuple[tuple[str, ...] | None, bool]:
    """(the RETURNING columns, whether the representation needs rows of the table's own type).

    Only what the response reads is returned, so a role allowed to write but not to read every
    column can still write (and `return=minimal` needs no SELECT privilege at all).
    """
    if return_ != "representation":
        return (), False
    typed = any(f.computed is not None for f in tree.fields) or any(
        isinstance(e.target.relationship, ComputedRelationship) for e in tree.embeds
    )
    if table is None or typed or any(f.star for f in tree.fields):
        return None, typed
    names: list[str] = [f.field.name for f in tree.fields if f.field.name != "*"]
    for embed in tree.embeds:
        relationship = embed.target.relationship
        if isinstance(relationship, Relationship):
            if relationship.junction is None:
                names.extend(source for source, _ in relationship.columns)
            else:
                names.extend(source for source, _ in relationship.junction.source_columns)
    for term in tree.order:
        if not isinstance(term, RelatedOrder):
            names.append(term.field.name)
    known = [n for n in names if table.column(n) is not None]
    return tuple(dict.fromkeys(known)), False


def _merge(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(first + second))
