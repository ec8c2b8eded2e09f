"""Plan a function call (`/rpc/fn`): gather the arguments, pick the overload, shape the result.

Arguments come from the query string (GET/HEAD), or from the body (POST): a JSON object (the
first one of an array), an HTML form, a CSV header and first row, or, for a function with a
single unnamed `json`/`jsonb`/`text`/`xml`/`bytea` parameter, the whole body. On GET, a query
parameter whose value reads as a filter (`id=gt.2`) filters the result; any other is an
argument (`id=5`). On POST every query parameter is a filter.

An overload matches when its required parameters are all given and every given name is one
of its parameters. Several matches are ambiguous (PGRST203, 300); none is PGRST202 (404) with
a "did you mean" hint. Types come from the schema cache, never from the request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from pgrest_core import ast
from pgrest_core.errors import DatabaseError, PgrstError, SchemaCacheError, invalid_body
from pgrest_core.plan.fuzzy import DEFAULT_MIN_SCORE, TABLE_MIN_SCORE, best_match
from pgrest_core.plan.read import ReadPlan, check_embed_filters, plan_read, top_level_page
from pgrest_core.request.payload import RawBody, RawJson, parse_call_body
from pgrest_core.request.query import parse_query_params
from pgrest_core.schema.model import QualifiedName, Routine, RoutineParam, SchemaCache

# What the function's result becomes: rows read like a table (`SETOF t`, `TABLE(…)`), one
# composite row (an object), a scalar, a set of scalars (an array), or nothing (204).
ResultKind = Literal["rows", "single", "scalar", "scalar_set", "void"]
# A body passed whole to a single unnamed parameter of this type.
BodyKind = Literal["json", "text", "xml", "bytea"]

_BODY_TYPES: Mapping[BodyKind, frozenset[str]] = {
    "json": frozenset({"json", "jsonb"}),
    "text": frozenset({"text"}),
    "xml": frozenset({"xml"}),
    "bytea": frozenset({"bytea"}),
}
# Without a type modifier `character` is character(1) and `bit` is bit(1): cast to the
# unbounded types so values are not truncated (the function applies its own length).
_UNBOUNDED = {"character": "bpchar", "bit": "varbit"}

ArgumentValue = str | bytes | None


@dataclass(frozen=True, slots=True)
class CallArgument:
    """One argument of the call: `"name" := $n::type` (positional when the name is empty)."""

    name: str
    type: str  # the SQL type to cast the value to, from the schema cache
    value: ArgumentValue
    variadic: bool = False


@dataclass(frozen=True, slots=True)
class CallPlan:
    function: QualifiedName
    arguments: tuple[CallArgument, ...]
    result: ResultKind
    # For "rows"/"single": select, filters, order, embeds and page over the function's rows.
    read: ReadPlan | None = None
    # For scalars: the page of a set of scalars.
    limit: int | None = None
    offset: int = 0
    read_only: bool = True
    returns: str = ""  # the name of the result type (`text`, a domain like `text/plain`, …)
    # The result type itself (for "rows"/"single": the relation read, or the function when its
    # columns are unknown): what media type handlers are looked up for.
    return_type: QualifiedName | None = None
    settings: tuple[tuple[str, str], ...] = ()  # the called function's SET clause


@dataclass(frozen=True, slots=True)
class GivenArguments:
    """The arguments a request passes, before an overload is chosen."""

    # Every value given for each name, in request order: text from a query string or form,
    # any JSON value from a JSON body.
    values: Mapping[str, tuple[object, ...]]
    from_json: bool
    # POST only: the kind of body a single unnamed parameter could take whole, and that body.
    body_kind: BodyKind | None = None
    body: str | bytes | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.values))

    @property
    def shape(self) -> tuple[tuple[tuple[str, int], ...], bool, BodyKind | None]:
        """What the call's SQL depends on (besides the schema cache): the names given, with how
        often each is given, where the values come from, and what kind of body there is."""
        counted = tuple((name, len(values)) for name, values in self.values.items())
        return counted, self.from_json, self.body_kind


@dataclass(frozen=True, slots=True)
class CallArguments:
    """What a call request passes: the function named, the arguments given, the overload they
    call with its arguments bound, and the filters the query string puts on the result."""

    function: QualifiedName
    given: GivenArguments
    routine: Routine
    arguments: tuple[CallArgument, ...]
    filters: tuple[ast.ScopedCondition, ...]


def call_arguments(
    request: ast.ApiRequest, cache: SchemaCache | None, *, default_schema: str
) -> CallArguments:
    """Gather the arguments of `/rpc/<name>`, pick the overload they call and bind them.

    PGRST202/203 when no overload or several match; PGRST102 (or 22P05) for a body that does
    not parse or holds a value no argument can take."""
    target = request.target
    assert isinstance(target, ast.RoutineTarget)
    function = QualifiedName(request.schema or default_schema, target.name)
    given, filters = _gather(request)
    routine, whole_body = resolve_routine(cache, function, given)
    arguments = tuple(_arguments(routine, given, whole_body))
    return CallArguments(function, given, routine, arguments, filters)


def plan_call(
    request: ast.ApiRequest,
    cache: SchemaCache | None,
    *,
    default_schema: str,
    max_rows: int | None = None,
    aggregates_enabled: bool = False,
    legacy_target_names: bool = True,
) -> CallPlan:
    """Resolve `/rpc/<name>` against the schema cache into the call and the shape of its result."""
    called = call_arguments(request, cache, default_schema=default_schema)
    function, routine, arguments, filters = called.function, called.routine, called.arguments, called.filters
    post = request.method == "POST"
    read_only = not post or routine.volatility != "volatile"
    result = result_kind(routine)
    query = replace(request.query, conditions=request.query.conditions + filters)
    if result in ("rows", "single"):
        returns = routine.returns
        relation = QualifiedName(returns.schema, returns.name)
        table_cache = cache if cache is not None and cache.table(relation.schema, relation.name) else None
        if table_cache is None:  # a RECORD, TABLE(…) or composite type: its columns are unknown
            relation = function
        tree = plan_read(
            query,
            relation,
            table_cache,
            aggregates_enabled=aggregates_enabled,
            legacy_target_names=legacy_target_names,
            max_rows=max_rows,
        )
        check_embed_filters(query, tree, legacy_target_names=legacy_target_names)
        page = top_level_page(tree.limit, tree.offset, request.range, max_rows)
        tree = replace(tree, limit=page.limit, offset=page.offset)
        return CallPlan(
            function,
            arguments,
            result,
            tree,
            page.limit,
            page.offset,
            read_only,
            routine.returns.name,
            relation,
            routine.settings,
        )
    limit, offset = None, 0
    if result == "scalar_set":
        root = [r for r in query.ranges if not r.path]
        page = top_level_page(
            root[-1].limit if root else None, root[-1].offset if root else None, request.range, max_rows
        )
        limit, offset = page.limit, page.offset
    return_type = QualifiedName(routine.returns.schema, routine.returns.name)
    return CallPlan(
        function,
        arguments,
        result,
        None,
        limit,
        offset,
        read_only,
        routine.returns.name,
        return_type,
        routine.settings,
    )


def result_kind(routine: Routine) -> ResultKind:
    returns = routine.returns
    if returns.name == "void" and not returns.composite:
        return "void"
    if returns.composite:
        return "rows" if returns.set_of else "single"
    return "scalar_set" if returns.set_of else "scalar"


# --- arguments from the request -----------------------------------------------------------------


def _gather(request: ast.ApiRequest) -> tuple[GivenArguments, tuple[ast.ScopedCondition, ...]]:
    """The arguments the request passes, and the filters its query string puts on the result."""
    params = request.query.params
    if request.method != "POST":
        values: dict[str, list[object]] = {}
        filters: list[ast.ScopedCondition] = []
        for key, value in params:
            condition = _as_filter(key, value)
            if condition is None:
                values.setdefault(key, []).append(value)
            else:
                filters.append(condition)
        return GivenArguments({k: tuple(v) for k, v in values.items()}, from_json=False), tuple(filters)
    # On POST the query string only filters: a value that is not a filter is a client error.
    conditions = parse_query_params(params).conditions if params else ()
    return _body_arguments(request), conditions


def _as_filter(key: str, value: str) -> ast.ScopedCondition | None:
    if not _may_be_filter(value):
        return None
    try:
        conditions = parse_query_params(((key, value),)).conditions
    except PgrstError:
        return None
    return conditions[0] if conditions else None


def _may_be_filter(value: str) -> bool:
    """Could `value` read as a filter? A filter starts with `[not.]` and an operator word
    (lower-case letters) followed by `.` or `(`; anything else is an argument. The parser
    would say the same, but its error, built for a message nobody reads here, costs ~25 µs."""
    start = 4 if value.startswith("not.") else 0
    end, n = start, len(value)
    while end < n and "a" <= value[end] <= "z":
        end += 1
    return start < end < n and value[end] in ".("


def _body_arguments(request: ast.ApiRequest) -> GivenArguments:
    """The arguments a POST body passes, decoded like a write's body (`request.payload`)."""
    decoded = parse_call_body(request.body, request.content_type, columns=request.query.columns)
    if isinstance(decoded, RawBody):
        return GivenArguments({}, from_json=False, body_kind=decoded.kind, body=decoded.value)
    values: dict[str, list[object]] = {}
    for key, value in decoded.first_items:
        values.setdefault(key, []).append(value)
    if request.query.columns is not None:  # `columns=` names the keys to take; the others are ignored
        values = {key: values.get(key, [None]) for key in request.query.columns}
    given = {key: tuple(v) for key, v in values.items()}
    if not decoded.json_values:  # a form or CSV: text values, parsed by PostgreSQL
        return GivenArguments(given, from_json=False)
    # The body is kept whole for a function taking a single unnamed json parameter.
    text = request.body.decode("utf-8", errors="replace") if request.body else "{}"
    return GivenArguments(given, from_json=True, body_kind="json", body=text)


# --- choosing the overload -----------------------------------------------------------------------


def resolve_routine(
    cache: SchemaCache | None, function: QualifiedName, given: GivenArguments
) -> tuple[Routine, bool]:
    """The one overload the arguments call, and whether it takes the whole body.

    Named arguments are matched first; a single unnamed parameter taking the body is the
    fallback. PGRST202 when nothing matches, PGRST203 when several overloads do.
    """
    overloads = cache.routines.get(function, ()) if cache is not None else ()
    names = set(given.values)
    raw_body = given.body_kind not in (None, "json")
    by_name = [r for r in overloads if not raw_body and _takes(r, names)]
    by_body = [r for r in overloads if _takes_whole_body(r, given.body_kind)]
    if len(by_name) == 1:
        return by_name[0], False
    if by_name:
        raise _ambiguous(by_name)
    if len(by_body) == 1:
        return by_body[0], True
    if by_body:
        raise _ambiguous(by_body)
    raise _not_found(cache, function, given)


def _takes(routine: Routine, names: set[str]) -> bool:
    """Are these argument names a valid call: every required parameter given, none unknown?"""
    required = {p.name for p in routine.params if p.required}
    optional = {p.name for p in routine.params if not p.required}
    return required <= names <= required | optional


def _takes_whole_body(routine: Routine, kind: BodyKind | None) -> bool:
    if kind is None or len(routine.params) != 1:
        return False
    param = routine.params[0]
    return param.name == "" and param.type in _BODY_TYPES[kind]


def _signature(routine: Routine) -> str:
    params = ", ".join(f"{p.name} => {p.type}" for p in routine.params)
    return f"{routine.schema}.{routine.name}({params})"


def _ambiguous(routines: list[Routine]) -> SchemaCacheError:
    ordered = sorted(routines, key=lambda r: (len(r.params), [p.type for p in r.params]))
    return SchemaCacheError(
        "PGRST203",
        300,
        "Could not choose the best candidate function between: " + ", ".join(_signature(r) for r in ordered),
        None,
        "Try renaming the parameters or the function itself in the database so function "
        "overloading can be resolved",
    )


def _not_found(cache: SchemaCache | None, function: QualifiedName, given: GivenArguments) -> SchemaCacheError:
    names = ", ".join(given.names)
    if given.body_kind not in (None, "json"):
        searched = f"with a single unnamed {given.body_kind} parameter"
        message = f"Could not find the function {function} in the schema cache"
        hint = None
    else:
        searched = f"with parameters {names}" if names else "without parameters"
        if given.body_kind == "json":
            searched += " or with a single unnamed json/jsonb parameter"
        shown = f"({names})" if names else " without parameters"
        message = f"Could not find the function {function}{shown} in the schema cache"
        hint = _did_you_mean(cache, function, names)
    details = (
        f"Searched for the function {function} {searched}, but no matches were found in the schema cache."
    )
    return SchemaCacheError("PGRST202", 404, message, details, hint)


def _did_you_mean(cache: SchemaCache | None, function: QualifiedName, names: str) -> str | None:
    """An overload with similar parameter names, else a function with a similar name."""
    if cache is None:
        return None
    overloads = [r for r in cache.routines.get(function, ()) if all(p.name for p in r.params)]
    if overloads:
        lists = [", ".join(p.name for p in r.params) for r in overloads]
        match = best_match(names, lists, DEFAULT_MIN_SCORE)
        return None if match is None else f"Perhaps you meant to call the function {function}({match})"
    others = [q.name for q in cache.routines if q.schema == function.schema and q.name != function.name]
    name = best_match(function.name, others, TABLE_MIN_SCORE)
    return None if name is None else f"Perhaps you meant to call the function {function.schema}.{name}"


# --- binding values to parameters ----------------------------------------------------------------


def _arguments(routine: Routine, given: GivenArguments, whole_body: bool) -> list[CallArgument]:
    if whole_body:
        param = routine.params[0]
        return [CallArgument("", cast_type(param.type), given.body)]
    out: list[CallArgument] = []
    for param in routine.params:
        values = given.values.get(param.name)
        if values is None:
            continue  # an optional parameter left to its default
        value = _value(param, values, given)
        out.append(CallArgument(param.name, cast_type(param.type), value, param.variadic))
    return out


def _value(param: RoutineParam, values: tuple[object, ...], given: GivenArguments) -> ArgumentValue:
    if not given.from_json:  # text from a query string or form, parsed by PostgreSQL
        if param.variadic:  # `?v=a&v=b` repeats a VARIADIC parameter: all of them make the array
            return array_literal(list(values))
        last = values[-1]  # a repeated ordinary parameter: the last one counts
        return last if isinstance(last, str) or last is None else str(last)
    value = values[-1]
    if param.variadic and not isinstance(value, list):
        value = [value]
    try:
        text = value_text(value, param.type)
    except RecursionError:  # arrays this deep are beyond PostgreSQL's 6 dimensions anyway
        raise invalid_body("Empty or invalid json") from None
    if text is not None and "\x00" in text and param.type not in ("json", "jsonb"):
        raise nul_in_json_text()
    return text


def nul_in_json_text() -> DatabaseError:
    """A JSON `\\u0000` reaching a non-JSON parameter.

    PostgREST converts the JSON body with json_to_record, where PostgreSQL rejects the escape
    (22P05, as for a table insert); pgrest binds each argument as text, which cannot hold NUL,
    so the same error is raised here instead of a client-side failure of the driver.
    """
    return DatabaseError(
        "22P05", 400, "unsupported Unicode escape sequence", "\\u0000 cannot be converted to text."
    )


def cast_type(type_name: str) -> str:
    """The type to cast an argument to: the parameter's own, unbounded for bpchar and bit."""
    base, brackets = type_name, ""
    while base.endswith("[]"):
        base, brackets = base[:-2], brackets + "[]"
    return _UNBOUNDED.get(base, base) + brackets


def value_text(value: object, type_name: str) -> str | None:
    """A JSON value as the text PostgreSQL parses into `type_name` (json params get JSON text)."""
    if value is None:
        return None
    if isinstance(value, RawJson):  # too deep to decode: PostgreSQL parses the JSON text
        return str(value)
    if type_name in ("json", "jsonb"):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return array_literal(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def array_literal(values: list[object]) -> str:
    """`["a", null, ["b"]]` -> `{"a",NULL,{"b"}}`: a PostgreSQL array literal."""
    items: list[str] = []
    for item in values:
        if item is None:
            items.append("NULL")
        elif isinstance(item, list):
            items.append(array_literal(item))
        else:
            text = value_text(item, "") or ""
            items.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"
