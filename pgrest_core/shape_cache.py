"""A compiled-shape cache around `pipeline.prepare`: a repeated read shape skips plan and compile.

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
sentinel anywhere else, and the same response recipe. A value that is transformed on its way
to a parameter (a `like` pattern's `*`, an `in` list) makes the shape uncacheable, and it is
then always compiled fresh. Limits, offsets and everything besides filter values are part of the
key. Only reads (GET/HEAD on a table or view) are cached; writes and calls go straight through.

The cache is a bounded LRU; a different schema cache (a reload) empties it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Final, NamedTuple
from urllib.parse import quote

from pgrest_core import ast
from pgrest_core.ast import RequestHead
from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment
from pgrest_core.pipeline import Options, prepare
from pgrest_core.prepared import Prepared
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.raw_shape import LocationTemplate, RawShape, forwarded, new_tuple, raw_shape
from pgrest_core.response import canonical_location
from pgrest_core.schema.model import SchemaCache

DEFAULT_CAPACITY: Final = 1024
_CONSTANT: Final = -1


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
    path: str  # "/table", for Content-Location


class _RawLink(NamedTuple):
    """A raw shape's template, with what the parsed request added (see `ShapeCache.prepare_raw`)."""

    template: _Template
    head: RequestHead  # without headers and cookies: they are each request's own
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


def shape_of(request: ast.ApiRequest) -> tuple[Hashable, tuple[str, ...]]:
    """The request's key (everything that shapes the SQL: the request without its values) and
    the values, in the order `_map_values` visits them."""
    values: list[str] = []
    query = request.query
    conditions = tuple(
        (scoped.path, _condition_shape(scoped.condition, values)) for scoped in query.conditions
    )
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


def cacheable(request: ast.ApiRequest) -> bool:
    return request.method in ("GET", "HEAD") and isinstance(request.target, ast.TableTarget)


# --- templates ---------------------------------------------------------------------------------


def _slots(probe: Fragment, fresh: Fragment, values: tuple[str, ...]) -> tuple[int, ...] | None:
    """Per parameter of `probe` (compiled with sentinels): the value it carries or _CONSTANT;
    None when the mapping is not exact (a transformed value, or a constant that differs)."""
    sentinels = {_sentinel(index): index for index in range(len(values))}
    if probe.text != fresh.text or len(probe.params) != len(fresh.params) or "\ue000" in probe.text:
        return None
    slots: list[int] = []
    for param, real in zip(probe.params, fresh.params, strict=True):
        index = sentinels.get(param) if isinstance(param, str) else None
        if index is not None:
            if real != values[index]:
                return None
            slots.append(index)
        elif "\ue000" in repr(param) or param != real:
            return None  # a value transformed into a parameter, or one that depends on values
        else:
            slots.append(_CONSTANT)
    return tuple(slots)


def _template(
    request: ast.ApiRequest,
    values: tuple[str, ...],
    fresh: Prepared,
    cache: SchemaCache | None,
    options: Options,
) -> _Template | None:
    probe_request = _with_values(request, tuple(_sentinel(index) for index in range(len(values))))
    try:
        probe = prepare(probe_request, cache, options)
    except PgrstError:
        return None  # a sentinel is not a valid value here: the value shapes the SQL
    statement_slots = _slots(probe.statement, fresh.statement, values)
    if statement_slots is None or probe.read_only != fresh.read_only:
        return None
    count_slots = None
    if probe.count_statement is not None or fresh.count_statement is not None:
        if probe.count_statement is None or fresh.count_statement is None:
            return None
        count_slots = _slots(probe.count_statement, fresh.count_statement, values)
        if count_slots is None:
            return None
    if probe.recipe != fresh.recipe:
        return None
    assert isinstance(request.target, ast.TableTarget)
    path = options.base_path + "/" + quote(request.target.name, safe="")  # as prepare_read writes it
    return _Template(probe, statement_slots, count_slots, path)


def _fill(fragment: Fragment, slots: tuple[int, ...], values: tuple[str, ...]) -> Fragment:
    if slots == _in_order(len(values)):  # the common case: the values are the parameters
        return fragment.with_params(values)
    params = [
        values[slot] if slot != _CONSTANT else constant
        for slot, constant in zip(slots, fragment.params, strict=True)
    ]
    return fragment.with_params(tuple(params))


@lru_cache(maxsize=64)
def _in_order(count: int) -> tuple[int, ...]:
    return tuple(range(count))


def _instantiate(template: _Template, values: tuple[str, ...], location: str | None) -> Prepared:
    prepared = template.prepared
    count_statement = prepared.count_statement
    if count_statement is not None and template.count_slots is not None:
        count_statement = _fill(count_statement, template.count_slots, values)
    statement = _fill(prepared.statement, template.statement_slots, values)
    return prepared.with_values(statement, count_statement, location)


# --- the cache ---------------------------------------------------------------------------------


class ShapeCache:
    """`prepare` with a bounded LRU of compiled read shapes (see the module docstring).

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
        if not cacheable(request):
            return prepare(request, cache, options)
        shape, values = shape_of(request)
        key = (shape, options)
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
                self._link_raw(raw, request, values, entry, cache, options)
            return _instantiate(entry, values, canonical_location(entry.path, request.query_pairs))
        fresh = prepare(request, cache, options)
        if isinstance(entry, _Uncacheable):
            return fresh
        if entry is None:
            self._store(key, 1, cache)
        else:
            self._store(key, _template(request, values, fresh, cache, options) or _UNCACHEABLE, cache)
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
        if linked is None or linked.options is not options:
            return None
        try:
            self._raw.move_to_end(key)
        except KeyError:
            pass  # evicted by another thread since the lookup
        template, head, location = linked.template, linked.head, linked.location
        forwarded_headers, cookies = forwarded(headers)
        request = new_tuple(RequestHead, (*head[:4], forwarded_headers, cookies))
        return request, _instantiate(template, raw.values, location.fill(raw.values))

    def _link_raw(
        self,
        raw: RawShape,
        request: ast.ApiRequest,
        values: tuple[str, ...],
        template: _Template,
        cache: SchemaCache | None,
        options: Options,
    ) -> None:
        """Link `raw`'s shape to the template of the parsed `request`, if the raw split is
        provably the parser's: the same values in the same order, and nothing but the query
        string and the shape headers made the request (no body)."""
        if raw.values != values or request.body is not None:
            return
        head = RequestHead(request.method, request.target, request.schema, request.preferences, (), ())
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
        raw = None
        if method.upper() in ("GET", "HEAD") and not body:
            raw = raw_shape(method, path, query_string, lowered)
            hit = self.prepare_raw(raw, lowered, cache, options)
            if hit is not None:
                return hit
        request = parse_request(method, path, query_string, lowered, body, schemas=options.schemas)
        return request, self.prepare(request, cache, options, raw)

