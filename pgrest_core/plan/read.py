"""Plan a read: resolve the request's names against the schema cache into a `ReadPlan` tree.

The plan says which relation each level reads, under which SQL alias, which columns it
outputs, how embeds join to their parent, and the conditions, order and page of each level.
Compiling a plan (sql/build_read.py) never fails; everything that can go wrong for a client
goes wrong here or in parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal, TypeAlias

from pgrest_core import ast
from pgrest_core.errors import ApiRequestError, aggregates_disabled, invalid_range
from pgrest_core.fragment import literal_type
from pgrest_core.plan.derived import TableFacts, embed_target, table_facts
from pgrest_core.plan.relationships import EmbedTarget, table_not_found
from pgrest_core.schema.model import QualifiedName, SchemaCache, Table

JSON_TYPES = frozenset({"json", "jsonb"})


@dataclass(frozen=True, slots=True)
class OutputField:
    """A column (or computed field) in a level's output, with path, casts and aggregate."""

    field: ast.Field
    name: str  # the JSON key in the output
    cast: str | None = None
    aggregate: ast.Aggregate | None = None
    aggregate_cast: str | None = None
    wrap_to_json: bool = False  # a composite/array column walked with -> needs to_jsonb first
    computed: QualifiedName | None = None  # a computed field: fn(row) instead of a column
    star: bool = False
    alias: str | None = None  # the alias the request gave, if any
    # The column's type is a domain with a cast to json (a data representation): its function.
    formatter: QualifiedName | None = None

    @property
    def alias_or_column(self) -> str:
        return self.alias or self.field.name


@dataclass(frozen=True, slots=True)
class Hoisted:
    """An aggregate written inside a to-one spread, applied in the first non-spread level above.

    `...costs(total:cost.sum())` makes the spread output the raw `cost` under `name`, and the
    parent compute `sum(cost) AS "total"` grouped by its other columns.
    """

    name: str | None  # the spread's output column it aggregates; None for count()
    aggregate: ast.Aggregate
    cast: str | None
    alias: str  # the JSON key in the parent


@dataclass(frozen=True, slots=True)
class EmbedPlan:
    """A child level joined to its parent (a lateral subquery aggregated to JSON)."""

    name: str  # the JSON key (alias or relation name); for spreads, used only in SQL
    target: EmbedTarget
    plan: ReadPlan
    inner: bool
    spread: bool
    selected: bool = True  # False for `rel()` used only for filtering
    hoisted: tuple[Hoisted, ...] = ()  # spreads only: aggregates the parent level applies
    target_name: str = ""  # the relation as the select named it (`tasks` in `t:tasks(*)`)

    @property
    def lateral_alias(self) -> str:
        """The alias of the lateral subquery that carries this embed's JSON (`body`) or columns."""
        return self.plan.alias + "_lateral"


@dataclass(frozen=True, slots=True)
class NullCheck:
    """`rel=is.null` / `rel=not.is.null` on an embed: does the joined level have rows?"""

    embed_alias: str
    is_null: bool
    # A spread's lateral has no JSON body: test whether its row exists at all.
    whole_row: bool = False


@dataclass(frozen=True, slots=True)
class RelatedOrder:
    """`order=rel(col).desc`: order the parent by a to-one embed's column."""

    embed_alias: str  # the embed's lateral alias
    term: ast.OrderTerm
    spread: bool = False  # a spread's columns are plain columns of the lateral, not JSON


@dataclass(frozen=True, slots=True)
class PlanLogic:
    """A logic tree whose leaves may be null checks on embeds: `or=(rel.not.is.null,id.eq.1)`."""

    operator: Literal["and", "or"]
    children: tuple[PlanCondition, ...]
    negated: bool = False


PlanCondition: TypeAlias = ast.Filter | NullCheck | PlanLogic


@dataclass(frozen=True, slots=True)
class ReadPlan:
    relation: QualifiedName
    alias: str  # SQL alias for this level's FROM item
    fields: tuple[OutputField, ...]
    embeds: tuple[EmbedPlan, ...] = ()
    conditions: tuple[PlanCondition, ...] = ()
    order: tuple[ast.OrderTerm | RelatedOrder, ...] = ()
    limit: int | None = None
    offset: int | None = None
    column_types: tuple[tuple[str, str], ...] = ()  # (column, type) where known, for filters
    # (column, function) for columns whose filter values are parsed by a text -> domain cast.
    text_parsers: tuple[tuple[str, QualifiedName], ...] = ()
    # The root only: (target, alias) of embeds that query string keys named by their target
    # although they have an alias (url-use-legacy-target-names): PostgREST's deprecation warning.
    legacy_names: tuple[tuple[str, str], ...] = ()

    def column_type(self, name: str) -> str | None:
        for column, type_name in self.column_types:
            if column == name:
                return type_name
        return None

    def text_parser(self, name: str) -> QualifiedName | None:
        for column, function in self.text_parsers:
            if column == name:
                return function
        return None

    @property
    def has_aggregates(self) -> bool:
        """Does this level GROUP BY: its own aggregates, or ones hoisted from its spreads?"""
        for f in self.fields:  # loops rather than any(): asked on every level of every read
            if f.aggregate is not None:
                return True
        for e in self.embeds:
            if e.hoisted:
                return True
        return False


# The select item of a request without `select` (every column), and its output field.
EVERY_COLUMN: Final = ast.SelectField(ast.Field("*"))
_EVERY_COLUMN_OUTPUT: Final = OutputField(EVERY_COLUMN.field, "*", star=True)


class _Aliases:
    """Hands out unique SQL aliases: the relation name, suffixed when it is taken."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def new(self, name: str) -> str:
        alias, n = name, 0
        while alias in self.taken:
            n += 1
            alias = f"{name}_{n}"
        self.taken.add(alias)
        return alias


def find_table(cache: SchemaCache | None, schema: str, name: str) -> Table | None:
    """The table or view `schema.name`; raises PGRST205 when a cache is given and lacks it."""
    return find_relation(cache, QualifiedName(schema, name))


def find_relation(cache: SchemaCache | None, relation: QualifiedName) -> Table | None:
    """`find_table` for a name already qualified."""
    if cache is None:
        return None
    table = cache.tables.get(relation)
    if table is None:
        raise table_not_found(cache, relation.schema, relation.name)
    return table


def plan_read(
    query: ast.QueryParams,
    relation: QualifiedName,
    cache: SchemaCache | None,
    *,
    aggregates_enabled: bool,
    legacy_target_names: bool = True,
    max_rows: int | None = None,
) -> ReadPlan:
    """The plan tree for reading `relation` with the query's select, conditions, order and pages.

    `max_rows` (db-max-rows) caps every embed's rows, as PostgREST does on every level; the
    top level's page is settled afterwards by `top_level_page`, with the Range header.
    """
    table = find_relation(cache, relation)
    # No `select`, or an empty one, means every column.
    select = query.select or (EVERY_COLUMN,)
    planner = _Planner(query, cache, aggregates_enabled, legacy_target_names, max_rows)
    root = planner.level(relation, table, select, (), planner.aliases.new(relation.name))
    return replace(root, legacy_names=tuple(planner.legacy_names)) if planner.legacy_names else root


# A level's place in the tree: for each embed on the way, (name in the output, name of the target).
LevelPath: TypeAlias = tuple[tuple[str, str], ...]


def on_path(scoped: ast.EmbedPath, level: LevelPath, *, legacy: bool) -> bool:
    """Does a `a.b.col=…` key's embed path name this level (by alias, or target when legacy)?"""
    if len(scoped) != len(level):
        return False
    if not scoped:  # the usual case: a top-level key on the top level
        return True
    pairs = zip(scoped, level, strict=True)
    return all(segment == name or (legacy and segment == target) for segment, (name, target) in pairs)


class _Planner:
    def __init__(
        self,
        query: ast.QueryParams,
        cache: SchemaCache | None,
        aggregates_enabled: bool,
        legacy: bool,
        max_rows: int | None = None,
    ) -> None:
        self.query = query
        self.max_rows = max_rows
        self.legacy_names: dict[tuple[str, str], None] = {}  # ordered, without repeats
        # With legacy target names, `rel.col=…` also reaches an embed aliased `alias:rel(…)`.
        self.legacy = legacy
        self.cache = cache
        self.aggregates_enabled = aggregates_enabled
        self.aliases = _Aliases()

    def level(
        self,
        relation: QualifiedName,
        table: Table | None,
        select: tuple[ast.SelectItem, ...],
        path: LevelPath,
        alias: str,
        *,
        spread: bool = False,
    ) -> ReadPlan:
        fields: list[OutputField] = []
        embeds: list[EmbedPlan] = []
        facts = table_facts(self.cache, table) if table is not None else None
        for item in select:
            if isinstance(item, ast.SelectField):
                field = self.output_field(item, facts, relation)
                if field.star and table is not None and (spread or (facts and facts.formats_any)):
                    # A spread lifts named columns into its parent, and data representations
                    # format single columns: either way `*` becomes the list of columns.
                    fields.extend(self.column_field(c.name, c.type) for c in table.columns)
                else:
                    fields.append(field)
            else:
                embeds.append(self.embed(item, relation, table, path))
        conditions = self.conditions(path, embeds)
        order = self.order(path, embeds, relation)
        limit, offset = self.page(path)
        return ReadPlan(
            relation=relation,
            alias=alias,
            fields=tuple(fields),
            embeds=tuple(embeds),
            conditions=conditions,
            order=order,
            limit=limit,
            offset=offset,
            column_types=facts.column_types if facts is not None else (),
            text_parsers=facts.text_parsers if facts is not None else (),
        )

    def column_field(self, name: str, type_name: str) -> OutputField:
        formatter = self.cache.representation(type_name, "json") if self.cache is not None else None
        return OutputField(ast.Field(name), name, formatter=formatter)

    def output_field(
        self, item: ast.SelectField, facts: TableFacts | None, relation: QualifiedName
    ) -> OutputField:
        if item is EVERY_COLUMN:  # no `select`: the same output field for every table
            return _EVERY_COLUMN_OUTPUT
        if item.aggregate is not None and not self.aggregates_enabled:
            raise aggregates_disabled()
        field = item.field
        star = field.name == "*" and not field.json_path
        computed = None
        wrap = False
        formatter = None
        if facts is not None and not star:
            column = facts.columns.get(field.name)
            plain = not field.json_path and item.aggregate is None
            if column is not None and plain and self.cache is not None and self.cache.representations:
                formatter = self.cache.representation(column.type, "json")
            if column is None and self.cache is not None:
                computed = _computed_field(self.cache, relation, field.name)
            if field.json_path:
                type_name = (column.nominal_type or column.type) if column else None
                wrap = type_name is not None and type_name not in JSON_TYPES
        if item.cast is not None or item.aggregate_cast is not None:
            _check_cast(item.cast)
            _check_cast(item.aggregate_cast)
        return OutputField(
            field=field,
            name=item.alias or _default_name(item),
            cast=item.cast,
            aggregate=item.aggregate,
            aggregate_cast=item.aggregate_cast,
            wrap_to_json=wrap,
            computed=computed,
            star=star and item.aggregate is None,
            alias=item.alias,
            formatter=formatter,
        )

    def embed(
        self, item: ast.SelectEmbed, parent: QualifiedName, parent_table: Table | None, path: LevelPath
    ) -> EmbedPlan:
        if self.cache is None:
            raise ApiRequestError(
                "PGRST200",
                400,
                f"Could not find a relationship between '{parent.name}' and '{item.relation}' "
                "in the schema cache",
                "Embedding needs a schema cache; pass --schema-file or use the bundled demo.",
            )
        target = embed_target(self.cache, parent, item.relation, item.hint)
        child_table = self.cache.tables.get(target.relation)
        name = item.alias or item.relation
        child = self.level(
            target.relation,
            child_table,
            item.select,
            path + ((name, item.relation),),
            self.aliases.new(target.relation.name),
            spread=item.spread,
        )
        hoisted: tuple[Hoisted, ...] = ()
        if item.spread:
            child, hoisted = _hoist_aggregates(child)
            if hoisted and not target.to_one:
                raise ApiRequestError(
                    "PGRST127",
                    400,
                    "Feature not implemented",
                    "Aggregates are not implemented for one-to-many or many-to-many spreads.",
                )
        return EmbedPlan(
            name=name,
            target=target,
            plan=child,
            inner=item.join == "inner",
            spread=item.spread,
            target_name=item.relation,
            selected=bool(child.fields) or any(e.selected for e in child.embeds) or bool(hoisted),
            hoisted=hoisted,
        )

    def conditions(self, path: LevelPath, embeds: list[EmbedPlan]) -> tuple[PlanCondition, ...]:
        if not self.query.conditions:
            return ()
        by_name = {e.name: e for e in embeds}
        return tuple(
            _resolve(scoped.condition, by_name)
            for scoped in self.query.conditions
            if self.on_path(scoped.path, path)
        )

    def order(
        self, path: LevelPath, embeds: list[EmbedPlan], relation: QualifiedName
    ) -> tuple[ast.OrderTerm | RelatedOrder, ...]:
        if not self.query.orders:
            return ()
        out: list[ast.OrderTerm | RelatedOrder] = []
        by_name = {e.name: e for e in embeds}
        for scoped in self.query.orders:
            if not self.on_path(scoped.path, path):
                continue
            for term in scoped.terms:
                if term.relation is None:
                    out.append(term)
                    continue
                embed = by_name.get(term.relation)
                if embed is None:
                    raise ApiRequestError(
                        "PGRST108",
                        400,
                        f"'{term.relation}' is not an embedded resource in this request",
                        None,
                        f"Verify that '{term.relation}' is included in the 'select' query parameter.",
                    )
                if not embed.target.to_one:
                    raise ApiRequestError(
                        "PGRST118",
                        400,
                        f"A related order on '{term.relation}' is not possible",
                        f"'{relation.name}' and '{term.relation}' do not form a many-to-one "
                        "or one-to-one relationship",
                    )
                out.append(RelatedOrder(embed.lateral_alias, term, embed.spread))
        return tuple(out)

    def on_path(self, scoped: ast.EmbedPath, path: LevelPath) -> bool:
        """`on_path`, noting each embed reached by its target name instead of its alias."""
        if not scoped:  # the usual case: a top-level key
            return not path
        if not on_path(scoped, path, legacy=self.legacy):
            return False
        for segment, (name, target) in zip(scoped, path, strict=True):
            if segment != name:
                self.legacy_names[(target, name)] = None
        return True

    def page(self, path: LevelPath) -> tuple[int | None, int | None]:
        """The level's `limit`/`offset` as given. An embed's go to SQL as they are (PostgreSQL
        rejects negative ones, as for PostgREST), capped at db-max-rows."""
        limit = offset = None
        for scoped in self.query.ranges:
            if self.on_path(scoped.path, path):
                limit = scoped.limit if scoped.limit is not None else limit
                offset = scoped.offset if scoped.offset is not None else offset
        if path and self.max_rows is not None:
            limit = self.max_rows if limit is None else min(limit, self.max_rows)
        return limit, offset


def _hoist_aggregates(plan: ReadPlan) -> tuple[ReadPlan, tuple[Hoisted, ...]]:
    """Strip a spread level's aggregates (and its own spreads'), to be applied by the parent."""
    hoisted: list[Hoisted] = []
    fields: list[OutputField] = []
    for field in plan.fields:
        if field.aggregate is None:
            fields.append(field)
            continue
        if field.field.name == "*":  # count(): counts the parent's rows, nothing to output
            hoisted.append(Hoisted(None, field.aggregate, field.aggregate_cast, field.name))
            continue
        column = field.alias_or_column
        fields.append(replace(field, name=column, aggregate=None, aggregate_cast=None))
        hoisted.append(Hoisted(column, field.aggregate, field.aggregate_cast, field.name))
    embeds: list[EmbedPlan] = []
    for embed in plan.embeds:
        if embed.spread:
            # Nested spreads pass their columns through this level untouched; the first
            # non-spread level above applies their aggregates.
            hoisted.extend(embed.hoisted)
            embed = replace(embed, hoisted=())
        embeds.append(embed)
    return replace(plan, fields=tuple(fields), embeds=tuple(embeds)), tuple(hoisted)


def _resolve(condition: ast.Condition, embeds: dict[str, EmbedPlan]) -> PlanCondition:
    """`rel=is.null` / `rel=not.is.null` on an embed's name tests the embed; anything else stays."""
    if isinstance(condition, ast.Logic):
        children = tuple(_resolve(c, embeds) for c in condition.children)
        return PlanLogic(condition.operator, children, condition.negated)
    embed = None if condition.field.json_path else embeds.get(condition.field.name)
    operation = condition.operation
    if embed is not None and isinstance(operation, ast.Is) and operation.value in ("null", "not_null"):
        is_null = (operation.value == "null") != condition.negated
        return NullCheck(embed.lateral_alias, is_null, whole_row=embed.spread)
    return condition


def _default_name(item: ast.SelectField) -> str:
    """The JSON key PostgREST gives a select item: last path key, the aggregate, or the column."""
    if item.aggregate is not None:
        return item.aggregate.value
    for step in reversed(item.field.json_path):
        if isinstance(step.key, str):
            return step.key
    return item.field.name


def _check_cast(type_name: str | None) -> None:
    """A cast goes into the SQL text: refuse, as a client error, what could not be a type name."""
    if type_name is None:
        return
    try:
        literal_type(type_name)
    except ValueError:
        raise ApiRequestError(
            "PGRST100",
            400,
            f"Invalid type in cast: {type_name}",
            "Type names are letters, digits, underscores, spaces, brackets and parentheses.",
        ) from None


def _computed_field(cache: SchemaCache, relation: QualifiedName, name: str) -> QualifiedName | None:
    for routine in cache.computed_fields.get(relation, ()):
        if routine.name == name:
            return routine.qualified_name
    return None


def check_embed_filters(
    query: ast.QueryParams, plan: ReadPlan, *, legacy_target_names: bool = True
) -> None:
    """PGRST108: conditions, orders and pages on an embed path that the select does not have."""
    paths = [c.path for c in query.conditions if c.path] + [o.path for o in query.orders if o.path]
    paths += [r.path for r in query.ranges if r.path]
    if not paths:  # only top-level keys: nothing to check
        return
    levels = _level_paths(plan, ())
    for path in paths:
        if any(on_path(path, level, legacy=legacy_target_names) for level in levels):
            continue
        name = path[-1]
        aliased = [n for level in levels for n, target in level[-1:] if target == name and n != name]
        if aliased:
            raise ApiRequestError(
                "PGRST108",
                400,
                f"'{name}' is not an embedded resource in this request",
                "Target names are not allowed in filters if they have an alias",
                f"Change '{name}' to '{aliased[0]}' in filters, orders or limits.",
            )
        raise ApiRequestError(
            "PGRST108",
            400,
            f"'{name}' is not an embedded resource in this request",
            None,
            f"Verify that '{name}' is included in the 'select' query parameter.",
        )


def _level_paths(plan: ReadPlan, path: LevelPath) -> list[LevelPath]:
    out = [path]
    for embed in plan.embeds:
        out.extend(_level_paths(embed.plan, path + ((embed.name, embed.target_name),)))
    return out


@dataclass(frozen=True, slots=True)
class Page:
    """The rows a response shows: `offset` and at most `limit` (None: all)."""

    offset: int = 0
    limit: int | None = None


def top_level_page(
    query_limit: int | None,
    query_offset: int | None,
    header: ast.RangeHeader | None,
    max_rows: int | None,
) -> Page:
    """The top level's rows: `limit`/`offset` intersected with the `Range` header, capped at
    db-max-rows, with PostgREST's rules for the edge cases:

    * `limit=0` shows no rows whatever the header (a page ending at row -1);
    * a negative offset starts at row 0 (the range is intersected with the rows there are);
    * when nothing is left, e.g. `limit=-1` or a header past the limit, it is PGRST103 (416)
      "Limit should be greater than or equal to zero.".
    """
    q_lo = query_offset if query_offset is not None else 0
    q_hi = None if query_limit is None else q_lo + query_limit - 1  # inclusive; None: unbounded
    if q_hi == -1:  # PostgREST's "limit zero" page, exempt from the checks below
        return Page(0, 0)
    lo, hi = 0, None
    if header is not None:
        lo, hi = header.offset, None if header.limit is None else header.offset + header.limit - 1
    lo = max(lo, q_lo)
    hi = q_hi if hi is None else (hi if q_hi is None else min(hi, q_hi))
    if hi is not None and hi < lo:
        raise invalid_range(NEGATIVE_LIMIT)
    limit = None if hi is None else hi - lo + 1
    if max_rows is not None:
        limit = max_rows if limit is None else min(limit, max_rows)
    return Page(lo, limit)


NEGATIVE_LIMIT = "Limit should be greater than or equal to zero."
