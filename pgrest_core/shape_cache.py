"""A compiled-shape cache around `pipeline.prepare`: a repeated request shape skips plan and compile.

Two reads differing only in their filter values (`GET /films?id=eq.3` and `?id=eq.4`) compile to
the same SQL text with different parameters. The cache keys a request on everything except
those values (the request with each value replaced by a placeholder, the Options, and the
schema cache it was planned against) and keeps a template: the statement compiled with
sentinel values, and for each parameter either the index of the request value it carries or
the constant it always is. A hit is the template's text with the request's values put in.

    GET /films?id=eq.3     miss: compiled as usual; the shape is remembered
    GET /films?id=eq.7     second sighting: compiled as usual, plus once with sentinels -> template
    GET /films?id=eq.9     hit: the template's statement with ('9',), no plan, no compile

A shape becomes a template only when the sentinel compile proves the mapping: same SQL text as
the real compile, every parameter exactly one sentinel or a constant equal in both compiles, no
sentinel anywhere else, and everything else of the Prepared (recipe, access mode,
check_before_commit, function settings) the same. A value that is transformed on its way
to a parameter (a `like` pattern's `*`, an `in` list) makes the shape uncacheable, and it is
then always compiled fresh. Limits, offsets and everything besides filter values are part of the
key.

Writes (POST/PUT/PATCH/DELETE on a table) and calls (`/rpc/fn` by GET, HEAD or POST) are cached
the same way. Their body reaches the statement as values the planner's own functions make from
it, which the cache calls too on every request: a write's JSON text (`mutate.payload_text`),
a call's bound arguments (`call.call_arguments`). What of the body shapes the SQL is the key:
a write's keys (or `columns=`), object or array, and format; a call's argument names (with how
often each is given), where they come from and the kind of body (JSON, form, CSV, raw). On GET
a call's query parameters that read as filters are keyed like a read's filters. The probe is
the request with sentinel filter values and a body (or arguments) of the same key made of
sentinels; it must have the same key, and the same proof as a read holds for every value (a
parameter carries a value only if the probe's and the request's values differ: an empty body
is `{}` in both, so a function taking it whole stays uncached). A body that does not parse,
or arguments that bind no overload, are compiled fresh, so their error is the one an uncached
request gets; an error a value raises while its arguments are bound (a NUL in a text
argument) is raised by `call_arguments` on a hit as on a fresh compile. Only reads' templates
are linked to raw shapes (`prepare_raw`): a write or a call is always parsed.

The cache is a bounded LRU; a different schema cache (a reload) empties it.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Final, Literal, NamedTuple
from urllib.parse import urlencode

from pgrest_core import ast
from pgrest_core.ast import RequestHead
from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment
from pgrest_core.pipeline import WRITE_METHODS, Options, prepare
from pgrest_core.plan.call import GivenArguments, call_arguments
from pgrest_core.plan.mutate import mutation_kind, mutation_payload, payload_text
from pgrest_core.prepared import Prepared
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.payload import CSV_TYPE, FORM_TYPE, PayloadShape
from pgrest_core.request.raw_shape import RawShape, forwarded, new_tuple, raw_shape
from pgrest_core.response import LocationTemplate, canonical_location
from pgrest_core.schema.model import SchemaCache

DEFAULT_CAPACITY: Final = 1024
_CONSTANT: Final = -1
_AMBIGUOUS: Final = -2
_MARK: Final = "\ue000"  # starts every sentinel


def _sentinel(index: int) -> str:
    """A value no request holds and no SQL text contains, distinct for each slot.

    It carries the characters that a value's way to its parameter could change (a `like`
    pattern's `*` becomes `%`), so that such a transformation always shows in the probe. A
    sentinel without them would pass through a transformation unchanged, and the template would
    then send a later value's `*` as it is.
    """
    return f"\ue000pgrst-value-{index} *%\\\"'.,()\ue001"


@dataclass(frozen=True, slots=True)
class _Template:
    prepared: Prepared  # compiled with sentinel values
    statement_slots: tuple[int, ...]  # per parameter: the value's index, or _CONSTANT
    count_slots: tuple[int, ...] | None
    path: str | None  # reads: "/table", for Content-Location; writes and calls have none
    in_order: bool = False  # the statement's parameters are the values, in order (the usual case)


ShapeKind = Literal["read", "write", "call"]


@dataclass(frozen=True, slots=True)
class _Shape:
    """A request's key (everything that shapes its SQL) and its values, in a fixed order."""

    key: Hashable
    values: tuple[object, ...]
    kind: ShapeKind


class _RawLink(NamedTuple):
    """A raw shape's template, with what the parsed request added (see `ShapeCache.prepare_raw`)."""

    template: _Template
    head: tuple[ast.Method, ast.Target, str | None, ast.Preferences]  # RequestHead's other fields
    location: LocationTemplate
    options: Options


class _Uncacheable:
    """A shape whose values do not map one-to-one onto parameters: always compiled fresh."""


_UNCACHEABLE: Final = _Uncacheable()
_Entry = int | _Template | _Uncacheable  # int: times seen before it became a template


# --- requests with their values taken out --------------------------------------------------------


def _map_operation(op: ast.Operation, value: Callable[[str], str]) -> ast.Operation:
    if isinstance(op, ast.Compare):
        return replace(op, value=value(op.value))
    if isinstance(op, ast.Quantified | ast.In):
        return replace(op, values=tuple(value(v) for v in op.values))
    if isinstance(op, ast.FullText):  # the language is an identifier in the SQL: part of the shape
        return replace(op, value=value(op.value))
    return op  # `is`: its value is a keyword in the SQL


def _map_condition(condition: ast.Condition, value: Callable[[str], str]) -> ast.Condition:
    if isinstance(condition, ast.Logic):
        return replace(
            condition, children=tuple(_map_condition(child, value) for child in condition.children)
        )
    return replace(condition, operation=_map_operation(condition.operation, value))


def _map_values(request: ast.ApiRequest, value: Callable[[str], str]) -> ast.ApiRequest:
    """The request with every filter value replaced by `value(old)`, in a fixed order. Headers,
    cookies and the raw query pairs go too: they reach the prelude and Content-Location, never
    the statement."""
    conditions = tuple(
        replace(scoped, condition=_map_condition(scoped.condition, value))
        for scoped in request.query.conditions
    )
    return replace(
        request, query=replace(request.query, conditions=conditions), headers=(), cookies=(), query_pairs=()
    )


def _operation_shape(op: ast.Operation, values: list[str]) -> Hashable:
    if isinstance(op, ast.Compare):
        values.append(op.value)
        return (ast.Compare, op.operator)
    if isinstance(op, ast.Quantified):
        values.extend(op.values)
        return (ast.Quantified, op.operator, op.quantifier, len(op.values))
    if isinstance(op, ast.In):
        values.extend(op.values)
        return (ast.In, len(op.values))
    if isinstance(op, ast.FullText):
        values.append(op.value)
        return (ast.FullText, op.operator, op.language)
    return op  # `is`: no value


def _condition_shape(condition: ast.Condition, values: list[str]) -> Hashable:
    if isinstance(condition, ast.Logic):
        children = tuple(_condition_shape(child, values) for child in condition.children)
        return (ast.Logic, condition.operator, condition.negated, children)
    return (condition.field, condition.negated, _operation_shape(condition.operation, values))


# Every field of a request but the values, headers, cookies and raw query pairs is part of the
# key; listed from the dataclasses so that a field added later is keyed too.
_REQUEST_FIELDS: Final = tuple(
    f.name for f in fields(ast.ApiRequest) if f.name not in ("query", "headers", "cookies", "query_pairs")
)
_QUERY_FIELDS: Final = tuple(f.name for f in fields(ast.QueryParams) if f.name != "conditions")


def _conditions_key(conditions: Sequence[ast.ScopedCondition], values: list[str]) -> Hashable:
    return tuple((scoped.path, _condition_shape(scoped.condition, values)) for scoped in conditions)


def shape_of(request: ast.ApiRequest) -> tuple[Hashable, tuple[str, ...]]:
    """The request's key (everything that shapes the SQL: the request without its values) and
    the values, in the order `_map_values` visits them."""
    values: list[str] = []
    query = request.query
    conditions = _conditions_key(query.conditions, values)
    key = (
        tuple(getattr(request, name) for name in _REQUEST_FIELDS),
        tuple(getattr(query, name) for name in _QUERY_FIELDS),
        conditions,
    )
    return key, tuple(values)


def _with_values(request: ast.ApiRequest, values: tuple[str, ...]) -> ast.ApiRequest:
    """The request with its values replaced by `values`, in `shape_of`'s order."""
    taken = iter(values)
    return _map_values(request, lambda _old: next(taken))


def request_shape(request: ast.ApiRequest, cache: SchemaCache | None, options: Options) -> _Shape | None:
    """The request's key and values; None when it is not cacheable, or when its body does not
    parse or its arguments call no one overload (a fresh compile then raises the error)."""
    target, method = request.target, request.method
    if isinstance(target, ast.TableTarget):
        if method == "GET" or method == "HEAD":
            key, values = shape_of(request)
            return _Shape(key, values, "read")
        if method not in WRITE_METHODS:
            return None
        try:
            return _write_shape(request)
        except PgrstError:
            return None
    if isinstance(target, ast.RoutineTarget) and method in _CALL_METHODS:
        try:
            return _call_shape(request, cache, options)
        except PgrstError:
            return None
    return None


# --- writes and calls: the body's shape in the key, the planner's values from it -----------------

_CALL_METHODS: Final = frozenset({"GET", "HEAD", "POST"})
# A body is keyed by what of it shapes the SQL (below), never as bytes.
_BODILESS_FIELDS: Final = tuple(name for name in _REQUEST_FIELDS if name != "body")
# A call's query parameters are keyed as arguments and filters (`GivenArguments.shape`, conditions).
_CALL_QUERY_FIELDS: Final = tuple(name for name in _QUERY_FIELDS if name != "params")


def _write_shape(request: ast.ApiRequest) -> _Shape:
    """A write's key: the request without filter values and body, plus what of the body shapes
    the SQL (object or array, the keys, the format). Its values: the filter values, then the
    JSON text the body parameter carries. Raises the body's PgrstError."""
    values: list[object] = []
    filter_values: list[str] = []
    conditions = _conditions_key(request.query.conditions, filter_values)
    values.extend(filter_values)
    payload = mutation_payload(request)
    body: Hashable = None
    if payload is not None:
        body = (payload.shape, payload.keys, payload.json_values)
        values.append(payload_text(mutation_kind(request.method), payload))
    key = (
        "write",
        tuple(getattr(request, name) for name in _BODILESS_FIELDS),
        tuple(getattr(request.query, name) for name in _QUERY_FIELDS),
        conditions,
        body,
    )
    return _Shape(key, tuple(values), "write")


def _call_shape(request: ast.ApiRequest, cache: SchemaCache | None, options: Options) -> _Shape:
    """A call's key: the request without filter values, query arguments and body, plus the
    shape of the arguments given. Its values: the filter values (the query string's filters
    after the request's own, as the planner appends them), then the bound arguments. Raises
    PgrstError for arguments that do not parse or call no one overload."""
    called = call_arguments(request, cache, default_schema=options.schemas[0])
    filter_values: list[str] = []
    conditions = _conditions_key(request.query.conditions + called.filters, filter_values)
    values: list[object] = [*filter_values]
    values.extend(argument.value for argument in called.arguments)
    key = (
        "call",
        tuple(getattr(request, name) for name in _BODILESS_FIELDS),
        tuple(getattr(request.query, name) for name in _CALL_QUERY_FIELDS),
        conditions,
        called.given.shape,
    )
    return _Shape(key, tuple(values), "call")


def _probe_body(
    content_type: ast.MediaType | None, shape: PayloadShape, pairs: list[tuple[str, str]]
) -> bytes:
    """A body in the request's format holding `pairs` (one row; CSV and forms have one shape)."""
    essence = content_type.essence if content_type is not None else "application/json"
    if essence == CSV_TYPE:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([name for name, _ in pairs])
        writer.writerow([value for _, value in pairs])
        return out.getvalue().encode()
    if essence == FORM_TYPE:
        return urlencode(pairs).encode()
    row = dict(pairs)
    return json.dumps([row] if shape == "array" else row, ensure_ascii=False).encode()


_Probe = tuple[ast.ApiRequest, tuple[object, ...]]


def _with_condition_sentinels(
    request: ast.ApiRequest, conditions: tuple[ast.ScopedCondition, ...], count: int
) -> ast.ApiRequest:
    """The request with `conditions` (their values replaced by the first `count` sentinels) and
    without headers, cookies and raw query pairs, as `_with_values` makes a read's probe."""
    widened = replace(request, query=replace(request.query, conditions=conditions))
    return _with_values(widened, tuple(_sentinel(index) for index in range(count)))


def _write_probe(request: ast.ApiRequest, shape: _Shape) -> _Probe | None:
    payload = mutation_payload(request)
    filters = len(shape.values) - (payload is not None)
    probe = _with_condition_sentinels(request, request.query.conditions, filters)
    if payload is not None:
        pairs = [(name, _sentinel(filters + index)) for index, name in enumerate(payload.keys)]
        probe = replace(probe, body=_probe_body(request.content_type, payload.shape, pairs))
    probed = _write_shape(probe)
    return (probe, probed.values) if probed.key == shape.key else None


def _call_probe(
    request: ast.ApiRequest, shape: _Shape, cache: SchemaCache | None, options: Options
) -> _Probe | None:
    called = call_arguments(request, cache, default_schema=options.schemas[0])
    filters = len(shape.values) - len(called.arguments)
    # The query string's filters become conditions: the probe's query string holds arguments only.
    probe = _with_condition_sentinels(request, request.query.conditions + called.filters, filters)
    slots = itertools.count(filters)
    given = called.given
    pairs = [(name, _sentinel(next(slots))) for name, values in given.values.items() for _ in values]
    if request.method == "POST":
        body = _call_probe_body(request.content_type, given, pairs, _sentinel(next(slots)))
        probe = replace(probe, query=replace(probe.query, params=()), body=body)
    else:
        probe = replace(probe, query=replace(probe.query, params=tuple(pairs)))
    probed = _call_shape(probe, cache, options)
    return (probe, probed.values) if probed.key == shape.key else None


def _call_probe_body(
    content_type: ast.MediaType | None, given: GivenArguments, pairs: list[tuple[str, str]], whole: str
) -> bytes:
    if given.body_kind is not None and given.body_kind != "json":  # taken whole, as text or bytes
        return whole.encode()
    return _probe_body(content_type, "object", pairs)


def _probe(
    request: ast.ApiRequest, shape: _Shape, cache: SchemaCache | None, options: Options
) -> _Probe | None:
    """The request with sentinels for its values and the values the planner makes of them;
    None when no such request has the same key."""
    if shape.kind == "read":
        sentinels = tuple(_sentinel(index) for index in range(len(shape.values)))
        return _with_values(request, sentinels), sentinels
    if shape.kind == "write":
        return _write_probe(request, shape)
    return _call_probe(request, shape, cache, options)


# --- templates ---------------------------------------------------------------------------------


def _leaks(param: object) -> bool:
    """Does a parameter hold a sentinel (one the probe put into a value, transformed)?"""
    if isinstance(param, str):
        return _MARK in param
    if isinstance(param, bytes):
        return _MARK.encode() in param
    shown = repr(param)
    return _MARK in shown or "\\ue000" in shown


def _carriers(probe_values: tuple[object, ...]) -> dict[object, int]:
    """Each probe value -> its index (_AMBIGUOUS when two values are the same)."""
    found: dict[object, int] = {}
    for index, value in enumerate(probe_values):
        if isinstance(value, str | bytes):
            found[value] = _AMBIGUOUS if value in found else index
    return found


def _slots(
    probe: Fragment, fresh: Fragment, probe_values: tuple[object, ...], values: tuple[object, ...]
) -> tuple[int, ...] | None:
    """Per parameter of `probe` (compiled with `probe_values`): the value it carries or _CONSTANT;
    None when the mapping is not exact (a transformed value, or a constant that differs).

    A parameter carries value i when it is probe value i in the probe and value i in the fresh
    compile, and the two differ (equal ones would prove nothing)."""
    if probe.text != fresh.text or len(probe.params) != len(fresh.params) or _MARK in probe.text:
        return None
    carriers = _carriers(probe_values)
    slots: list[int] = []
    for param, real in zip(probe.params, fresh.params, strict=True):
        index = carriers.get(param) if isinstance(param, str | bytes) else None
        if index is not None:
            if index == _AMBIGUOUS or probe_values[index] == values[index] or real != values[index]:
                return None
            slots.append(index)
        elif _leaks(param) or param != real:
            return None  # a value transformed into a parameter, or one that depends on values
        else:
            slots.append(_CONSTANT)
    return tuple(slots)


def _template(
    request: ast.ApiRequest, shape: _Shape, fresh: Prepared, cache: SchemaCache | None, options: Options
) -> _Template | None:
    """The template of `request`'s shape, proven by compiling its probe; None if not proven."""
    try:
        probed = _probe(request, shape, cache, options)
        if probed is None:
            return None
        probe_request, probe_values = probed
        if not all(isinstance(value, str | bytes) for value in probe_values):
            return None  # only a text (or bytes) value can be told apart from a constant
        probe = prepare(probe_request, cache, options)
    except PgrstError:
        return None  # a sentinel is not a valid value here: the value shapes the SQL
    statement_slots = _slots(probe.statement, fresh.statement, probe_values, shape.values)
    if statement_slots is None:
        return None
    count_slots = None
    if probe.count_statement is not None or fresh.count_statement is not None:
        if probe.count_statement is None or fresh.count_statement is None:
            return None
        count_slots = _slots(probe.count_statement, fresh.count_statement, probe_values, shape.values)
        if count_slots is None:
            return None
    path = None
    location = probe.content_location  # writes and calls have none
    if shape.kind == "read" and fresh.content_location is not None:
        path = fresh.content_location.partition("?")[0]  # the query follows the (encoded) path
        location = fresh.content_location  # the probe's is made of its values
    # Everything but the filled values must be what a fresh compile gives: recipe, access mode,
    # check_before_commit, function_settings, is_metadata, answer.
    if probe.with_values(fresh.statement, fresh.count_statement, location) != fresh:
        return None
    in_order = statement_slots == tuple(range(len(shape.values)))
    return _Template(probe, statement_slots, count_slots, path, in_order)


def _fill(fragment: Fragment, slots: tuple[int, ...], values: tuple[object, ...]) -> Fragment:
    params = [
        values[slot] if slot != _CONSTANT else constant
        for slot, constant in zip(slots, fragment.params, strict=True)
    ]
    return fragment.with_params(tuple(params))


def _instantiate(template: _Template, values: tuple[object, ...], location: str | None) -> Prepared:
    prepared = template.prepared
    count_statement = prepared.count_statement
    if count_statement is not None and template.count_slots is not None:
        count_statement = _fill(count_statement, template.count_slots, values)
    if template.in_order:
        statement = prepared.statement.with_params(values)
    else:
        statement = _fill(prepared.statement, template.statement_slots, values)
    return prepared.with_values(statement, count_statement, location)


def linkable_raw_shape(
    method: str, path: str, query_string: str | bytes, headers: Sequence[tuple[str, str]], body: bytes | None
) -> RawShape | None:
    """The raw shape of a request `ShapeCache.prepare_raw` may answer: only reads (GET or HEAD,
    without a body) are linked to raw shapes; writes and calls are parsed every time."""
    if method.upper() not in ("GET", "HEAD") or body:
        return None
    return raw_shape(method, path, query_string, headers)


# --- the cache ---------------------------------------------------------------------------------


class ShapeCache:
    """`prepare` with a bounded LRU of compiled read, write and call shapes (see the module docstring).

    A shape is templated on its second sighting, so a request seen once costs one compile as
    before; the second costs one more (the sentinel compile), later ones none.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._raw: OrderedDict[Hashable, _RawLink] = OrderedDict()
        self._schema: SchemaCache | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._raw.clear()

    def prepare(
        self,
        request: ast.ApiRequest,
        cache: SchemaCache | None,
        options: Options,
        raw: RawShape | None = None,
    ) -> Prepared:
        """`pipeline.prepare(request, cache, options)`, from a template when the shape has one.

        `raw` is the same request's raw shape (`request.raw_shape`); once the shape has a
        template, it is linked to it so that `prepare_raw` answers the next such request
        without parsing it.
        """
        shape = request_shape(request, cache, options)
        if shape is None:
            return prepare(request, cache, options)
        key = (shape.key, options)
        with self._lock:
            if cache is not self._schema:  # a reloaded schema cache: every template is stale
                self._entries.clear()
                self._raw.clear()
                self._schema = cache
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if isinstance(entry, _Template):
            if raw is not None:
                self._link_raw(raw, request, shape.values, entry, cache, options)
            location = None if entry.path is None else canonical_location(entry.path, request.query_pairs)
            return _instantiate(entry, shape.values, location)
        fresh = prepare(request, cache, options)
        if isinstance(entry, _Uncacheable):
            return fresh
        if entry is None:
            self._store(key, 1, cache)
        else:
            self._store(key, _template(request, shape, fresh, cache, options) or _UNCACHEABLE, cache)
        return fresh

    def _store(self, key: Hashable, entry: _Entry, cache: SchemaCache | None) -> None:
        with self._lock:
            if cache is not self._schema:
                return
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    # --- raw shapes: a repeated request without parsing -------------------------------------

    def prepare_raw(
        self,
        raw: RawShape,
        headers: Sequence[tuple[str, str]],
        cache: SchemaCache | None,
        options: Options,
    ) -> tuple[RequestHead, Prepared] | None:
        """The request whose raw shape is `raw` (with lower-cased `headers` and no body), when
        that raw shape is linked to a template; None otherwise (then parse and `prepare`)."""
        # No lock on this path, which every repeated read takes: a dict lookup is atomic, and
        # a link evicted meanwhile by another thread is still a valid answer.
        if cache is not self._schema:
            return None
        key = (raw.key, id(options))  # hashing Options (a dataclass) costs more than the rest
        linked = self._raw.get(key)
        if linked is None:
            return None
        template, head, location, linked_options = linked
        if linked_options is not options:
            return None
        try:
            self._raw.move_to_end(key)
        except KeyError:
            pass  # evicted by another thread since the lookup
        request = new_tuple(RequestHead, head + forwarded(headers))
        return request, _instantiate(template, raw.values, location.fill(raw.values))

    def _link_raw(
        self,
        raw: RawShape,
        request: ast.ApiRequest,
        values: tuple[object, ...],
        template: _Template,
        cache: SchemaCache | None,
        options: Options,
    ) -> None:
        """Link `raw`'s shape to the template of the parsed `request`, if the raw split is
        provably the parser's: the same values in the same order, and nothing but the query
        string and the shape headers made the request (no body). Only a read's template (the
        one with a Content-Location path) is linked: a call's values are its bound arguments."""
        if template.path is None or raw.values != values or request.body is not None:
            return
        head = (request.method, request.target, request.schema, request.preferences)
        location = LocationTemplate.of(template.path, raw.pairs)
        key = (raw.key, id(options))
        with self._lock:
            if cache is not self._schema or key in self._raw:
                return
            # The link keeps `options` alive, so its id names no other Options meanwhile.
            self._raw[key] = _RawLink(template, head, location, options)
            while len(self._raw) > self.capacity:
                self._raw.popitem(last=False)

    def prepare_request(
        self,
        method: str,
        path: str,
        query_string: str | bytes,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        cache: SchemaCache | None,
        options: Options,
    ) -> tuple[ast.ApiRequest | RequestHead, Prepared]:
        """`parse_request` + `prepare` through this cache: a repeated read from its raw shape
        (not parsed), anything else parsed and served from the compiled-shape cache."""
        lowered = [(name.lower(), value) for name, value in headers]
        raw = linkable_raw_shape(method, path, query_string, lowered, body)
        if raw is not None:
            hit = self.prepare_raw(raw, lowered, cache, options)
            if hit is not None:
                return hit
        request = parse_request(method, path, query_string, lowered, body, schemas=options.schemas)
        return request, self.prepare(request, cache, options, raw)
