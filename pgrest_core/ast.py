"""The parsed request: frozen, slotted dataclasses, one per construct of the URL language.

Parsing never looks at the schema: names here are just names. Each class says in its first
line the URL text it models. `grammar/README.md` maps grammar rules to these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple, TypeAlias

# --- fields and JSON paths -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsonStep:
    """`->key`, `->>key`, `->0`, `->>-1`: one step of a JSON/composite/array path."""

    arrow: Literal["->", "->>"]
    key: str | int  # int: an array index (negative counts from the end)


@dataclass(frozen=True, slots=True)
class Field:
    """`col` or `col->a->>b`: a column name with an optional JSON path."""

    name: str
    json_path: tuple[JsonStep, ...] = ()


# --- select ----------------------------------------------------------------------------------


class Aggregate(StrEnum):
    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class SelectField:
    """`alias:col->path::cast.agg()::cast`, `*`, or `count()` (field name `*` with COUNT)."""

    field: Field
    alias: str | None = None
    cast: str | None = None
    aggregate: Aggregate | None = None
    aggregate_cast: str | None = None


JoinType: TypeAlias = Literal["inner", "left"]


@dataclass(frozen=True, slots=True)
class SelectEmbed:
    """`alias:rel!hint!inner(…)` or, with `spread`, `...rel!hint(…)`."""

    relation: str
    select: tuple[SelectItem, ...]
    alias: str | None = None
    hint: str | None = None
    join: JoinType | None = None
    spread: bool = False


SelectItem: TypeAlias = SelectField | SelectEmbed

# --- filters and logic trees -----------------------------------------------------------------


class Operator(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    LIKE = "like"
    ILIKE = "ilike"
    MATCH = "match"
    IMATCH = "imatch"
    IN = "in"
    IS = "is"
    ISDISTINCT = "isdistinct"
    FTS = "fts"
    PLFTS = "plfts"
    PHFTS = "phfts"
    WFTS = "wfts"
    CS = "cs"
    CD = "cd"
    OV = "ov"
    SL = "sl"
    SR = "sr"
    NXL = "nxl"
    NXR = "nxr"
    ADJ = "adj"


# Operators that take `(any)` / `(all)` with a `{a,b}` list, as PostgREST allows.
QUANTIFIABLE = frozenset(
    {
        Operator.EQ,
        Operator.NEQ,
        Operator.GT,
        Operator.GTE,
        Operator.LT,
        Operator.LTE,
        Operator.LIKE,
        Operator.ILIKE,
        Operator.MATCH,
        Operator.IMATCH,
    }
)
FTS_OPERATORS = frozenset({Operator.FTS, Operator.PLFTS, Operator.PHFTS, Operator.WFTS})
IsValue: TypeAlias = Literal["null", "not_null", "true", "false", "unknown"]


@dataclass(frozen=True, slots=True)
class Compare:
    """`op.value` for every operator taking one value (`eq.5`, `cs.{1,2}`, `adj.[1,5)`)."""

    operator: Operator
    value: str


@dataclass(frozen=True, slots=True)
class Quantified:
    """`eq(any).{a,b}`, `like(all).{a*,*b}`: a comparison against each value of a list."""

    operator: Operator
    quantifier: Literal["any", "all"]
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class In:
    """`in.(a,b,"c,d")`."""

    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Is:
    """`is.null`, `is.not_null`, `is.true`, `is.false`, `is.unknown`."""

    value: IsValue


@dataclass(frozen=True, slots=True)
class FullText:
    """`fts(english).word`, `plfts.a b`, `phfts`, `wfts`."""

    operator: Operator
    value: str
    language: str | None = None


Operation: TypeAlias = Compare | Quantified | In | Is | FullText


@dataclass(frozen=True, slots=True)
class Filter:
    """`col->path=not.op.value` (the key's embed path lives in `Scoped`)."""

    field: Field
    operation: Operation
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Logic:
    """`or=(a.eq.1,and(b.gt.2,c.lt.3))`, `not.and=(…)`."""

    operator: Literal["and", "or"]
    children: tuple[Condition, ...]
    negated: bool = False


Condition: TypeAlias = Filter | Logic

# --- order -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """`col->path.desc.nullslast` or `rel(col).asc` (ordering by a to-one embed's column)."""

    field: Field
    direction: Literal["asc", "desc"] | None = None
    nulls: Literal["first", "last"] | None = None
    relation: str | None = None


# --- scoping: query parameters that apply to an embed (`rel.col=…`, `rel.order=…`) -----------

EmbedPath: TypeAlias = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScopedCondition:
    """`a.b.col=eq.1` or `a.or=(…)`: a condition on the embed at `path` (() is the root)."""

    path: EmbedPath
    condition: Condition


@dataclass(frozen=True, slots=True)
class ScopedOrder:
    """`order=…` / `rel.order=…`."""

    path: EmbedPath
    terms: tuple[OrderTerm, ...]


@dataclass(frozen=True, slots=True)
class ScopedRange:
    """`limit=` / `offset=` / `rel.limit=` / `rel.offset=`."""

    path: EmbedPath
    limit: int | None = None
    offset: int | None = None


# --- headers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preferences:
    """`Prefer: return=representation, count=exact, …` (unknown ones kept in `invalid`)."""

    return_: Literal["minimal", "headers-only", "representation"] | None = None
    count: Literal["exact", "planned", "estimated"] | None = None
    resolution: Literal["merge-duplicates", "ignore-duplicates"] | None = None
    missing: Literal["default", "null"] | None = None
    handling: Literal["strict", "lenient"] | None = None
    tx: Literal["commit", "rollback"] | None = None
    max_affected: int | None = None
    timezone: str | None = None
    invalid: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MediaType:
    """`type/subtype; key=value; q=0.5` from `Accept` or `Content-Type` (lower-cased names)."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()
    q: float = 1.0

    @property
    def essence(self) -> str:
        # An unparseable Accept piece (`undefined`) is kept whole in `type` with an empty
        # subtype, so a 406 can name it as the client wrote it.
        return f"{self.type}/{self.subtype}" if self.subtype else self.type

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    def __str__(self) -> str:
        return self.essence + "".join(f"; {k}={v}" for k, v in self.params)


@dataclass(frozen=True, slots=True)
class RangeHeader:
    """`Range: 0-9` (`Range-Unit: items`): rows `offset` … `offset + limit - 1`."""

    offset: int
    limit: int | None  # None: open-ended (`10-`)


# --- the request -----------------------------------------------------------------------------

Method: TypeAlias = Literal["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]


@dataclass(frozen=True, slots=True)
class TableTarget:
    """`/films`."""

    name: str


@dataclass(frozen=True, slots=True)
class RoutineTarget:
    """`/rpc/fn`."""

    name: str


@dataclass(frozen=True, slots=True)
class RootTarget:
    """`/`: the OpenAPI document."""


Target: TypeAlias = TableTarget | RoutineTarget | RootTarget


@dataclass(frozen=True, slots=True)
class QueryParams:
    """Everything the query string says, parsed (the canonical form `unparse` writes back)."""

    select: tuple[SelectItem, ...] | None = None  # None: no `select` parameter (means `*`)
    conditions: tuple[ScopedCondition, ...] = ()
    orders: tuple[ScopedOrder, ...] = ()
    ranges: tuple[ScopedRange, ...] = ()
    on_conflict: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None
    # Keys that are not reserved and not filters-with-operators stay raw: RPC arguments
    # (`/rpc/fn?a=1`) are told apart from filters only once the function is known.
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One HTTP request, parsed: what to do, to what, and how to answer."""

    method: Method
    target: Target
    query: QueryParams = field(default_factory=QueryParams)
    preferences: Preferences = field(default_factory=Preferences)
    accept: tuple[MediaType, ...] = ()
    content_type: MediaType | None = None
    range: RangeHeader | None = None
    schema: str | None = None  # from Accept-Profile (reads) / Content-Profile (writes)
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()  # lower-cased names, for request.headers
    cookies: tuple[tuple[str, str], ...] = ()
    query_pairs: tuple[tuple[str, str], ...] = ()  # the decoded query string, as sent


class RequestHead(NamedTuple):
    """What the transaction around a request needs of it: an `ApiRequest` without its query and
    body. A request answered from a raw shape (pgrest_core/request/raw_shape.py) is never
    parsed, so this is all there is of it. A NamedTuple rather than a dataclass because it is
    built on every such request, and a tuple is several times cheaper to make."""

    method: Method
    target: Target
    schema: str | None
    preferences: Preferences
    headers: tuple[tuple[str, str], ...]
    cookies: tuple[tuple[str, str], ...]

