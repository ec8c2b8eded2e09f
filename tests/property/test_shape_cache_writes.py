"""The compiled-shape cache answers writes and function calls exactly as a fresh compile does.

Generated POST/PUT/PATCH/DELETE requests on tables and GET/HEAD/POST calls of functions, over
tests/unit/plan/films.py's schema plus a set of functions (scalar, set-returning, composite,
void, whole-body json/text, variadic, overloaded), are sent as one shape with several sets of
values through one ShapeCache: bodies with the same keys but other values, sometimes a body
that does not parse. Each answer must equal `prepare`'s on the same request: the whole Prepared
(statement text and parameters, count statement, recipe, access mode, check_before_commit,
function settings), or the same PgrstError.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pgrest_core import shape_cache
from pgrest_core.ast import ApiRequest
from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment
from pgrest_core.pipeline import Options, prepare
from pgrest_core.prepared import Prepared
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.raw_shape import raw_shape
from pgrest_core.schema.model import (
    QualifiedName,
    ReturnType,
    Routine,
    RoutineParam,
    SchemaCache,
    Table,
)
from pgrest_core.shape_cache import ShapeCache
from tests.property.test_shape_cache import CountingCompiles
from tests.unit.plan.films import FILMS, films_cache

OPTIONS = Options(aggregates_enabled=True)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

_FILMS_ROWS = ReturnType("public", "films", set_of=True, composite=True)


def _routine(
    name: str,
    params: tuple[RoutineParam, ...],
    returns: ReturnType,
    volatility: Any = "volatile",
    settings: tuple[tuple[str, str], ...] = (),
) -> Routine:
    return Routine("public", name, params, returns, volatility, settings=settings)


ROUTINES: dict[str, tuple[Routine, ...]] = {
    "add": (
        _routine(
            "add",
            (RoutineParam("a", "integer"), RoutineParam("b", "integer")),
            ReturnType("pg_catalog", "integer"),
            "immutable",
        ),
    ),
    "films_between": (
        _routine(
            "films_between",
            (RoutineParam("min_year", "integer"), RoutineParam("max_year", "integer", required=False)),
            _FILMS_ROWS,
            "stable",
        ),
    ),
    "all_films": (_routine("all_films", (), _FILMS_ROWS, "stable"),),
    "one_film": (
        _routine(
            "one_film",
            (RoutineParam("id", "integer"),),
            ReturnType("public", "films", composite=True),
            "stable",
        ),
    ),
    "echo_json": (_routine("echo_json", (RoutineParam("", "json"),), ReturnType("pg_catalog", "json")),),
    "echo_text": (
        _routine("echo_text", (RoutineParam("", "text"),), ReturnType("pg_catalog", "text"), "immutable"),
    ),
    "tags": (
        _routine(
            "tags",
            (RoutineParam("v", "text[]", variadic=True),),
            ReturnType("pg_catalog", "text", set_of=True),
            "immutable",
        ),
    ),
    "touch": (
        _routine(
            "touch",
            (RoutineParam("id", "integer"), RoutineParam("note", "jsonb", required=False)),
            ReturnType("pg_catalog", "void"),
            settings=(("statement_timeout", "1s"),),
        ),
    ),
    "pick": (
        _routine("pick", (RoutineParam("a", "integer"),), ReturnType("pg_catalog", "text"), "stable"),
        _routine(
            "pick",
            (RoutineParam("a", "integer"), RoutineParam("b", "character")),
            ReturnType("pg_catalog", "text"),
            "stable",
        ),
    ),
}


def _cache() -> SchemaCache:
    """films.py's schema, films with column defaults (for missing=default), plus ROUTINES."""
    base = films_cache()
    films = base.tables[FILMS]
    defaulted = tuple(
        replace(column, default={"id": "nextval('films_id_seq'::regclass)", "year": "2000"}.get(column.name))
        for column in films.columns
    )
    tables: dict[QualifiedName, Table] = {**base.tables, FILMS: replace(films, columns=defaulted)}
    routines = {QualifiedName("public", name): overloads for name, overloads in ROUTINES.items()}
    return replace(base, tables=tables, routines=routines)


CACHE = _cache()
COLUMNS = {
    name: tuple(c.name for c in CACHE.tables[QualifiedName("public", name)].columns)
    for name in ("films", "directors", "roles")
}
PRIMARY_KEYS = {"films": ("id",), "directors": ("id",), "roles": ("film_id", "actor_id")}

# --- values --------------------------------------------------------------------------------------

words = st.text(alphabet="abcXYZ019 _-é☃'\"", min_size=0, max_size=6)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), words
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("xyz"), inner, max_size=2)
    ),
    max_leaves=4,
)
# Filter values (URL text). Some are like patterns and in lists: uncacheable shapes.
filter_values = st.text(alphabet="abc019-_ ", min_size=1, max_size=5)

# --- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """One HTTP request before parsing."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    def parsed(self) -> ApiRequest:
        return parse_request(
            self.method, self.path, urlencode(self.query), self.headers, self.body, schemas=("public",)
        )


@dataclass(frozen=True)
class Filter:
    column: str
    operator: str  # eq, gt, like (transformed: uncacheable), in (a list: uncacheable)


@dataclass(frozen=True)
class WriteShape:
    method: str
    table: str
    keys: tuple[str, ...]  # the body's keys
    body_format: str  # "object", "array", "csv", "form"
    rows: int  # array and csv rows
    filters: tuple[Filter, ...]
    query: tuple[tuple[str, str], ...]  # select, columns, on_conflict, order, limit
    headers: tuple[tuple[str, str], ...]


PREFER = st.lists(
    st.sampled_from(
        [
            "return=representation",
            "return=minimal",
            "return=headers-only",
            "resolution=merge-duplicates",
            "resolution=ignore-duplicates",
            "missing=default",
            "count=exact",
            "handling=strict",
            "max-affected=3",
            "tx=rollback",
        ]
    ),
    max_size=3,
    unique=True,
)
ACCEPT = st.sampled_from([None, "application/json", "application/vnd.pgrst.object+json", "text/csv"])


@st.composite
def write_shapes(draw: st.DrawFn) -> WriteShape:
    method = draw(st.sampled_from(["POST", "PATCH", "PUT", "DELETE"]))
    table = draw(st.sampled_from(sorted(COLUMNS)))
    columns = COLUMNS[table]
    known = draw(st.lists(st.sampled_from(columns), min_size=0, max_size=4, unique=True))
    keys = tuple(known) + (("nope",) if draw(st.integers(0, 9)) == 0 else ())  # PGRST204
    body_format = draw(st.sampled_from(["object", "array", "csv", "form"]))
    filters: tuple[Filter, ...] = ()
    query: list[tuple[str, str]] = []
    if method == "PUT":
        filters = tuple(Filter(column, "eq") for column in PRIMARY_KEYS[table])
        keys = tuple(dict.fromkeys(PRIMARY_KEYS[table] + keys))
    elif method in ("PATCH", "DELETE"):
        filters = tuple(
            Filter(column, draw(st.sampled_from(["eq", "gt", "eq", "like", "in"])))
            for column in draw(st.lists(st.sampled_from(columns), max_size=2, unique=True))
        )
        if draw(st.booleans()):
            query += [("order", columns[0]), ("limit", str(draw(st.integers(1, 5))))]
    if draw(st.booleans()):
        query.append(("select", ",".join(draw(st.lists(st.sampled_from(columns), min_size=1, unique=True)))))
    if method == "POST" and draw(st.integers(0, 3)) == 0:
        query.append(("columns", ",".join(draw(st.lists(st.sampled_from(columns), min_size=1, unique=True)))))
    if method == "POST" and draw(st.integers(0, 3)) == 0:
        query.append(("on_conflict", draw(st.sampled_from(columns))))
    headers: list[tuple[str, str]] = []
    prefer = draw(PREFER)
    if prefer:
        headers.append(("Prefer", ", ".join(prefer)))
    accept = draw(ACCEPT)
    if accept is not None:
        headers.append(("Accept", accept))
    content_type = {"csv": "text/csv", "form": "application/x-www-form-urlencoded"}.get(
        body_format, draw(st.sampled_from([None, "application/json"]))
    )
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    rows = draw(st.integers(0 if body_format in ("array", "csv") else 1, 3))
    return WriteShape(method, table, keys, body_format, rows, filters, tuple(query), tuple(headers))


def _filter_text(operator: str, value: str) -> str:
    if operator == "like":
        return f"like.{value}*"
    if operator == "in":
        return f"in.({value},{value}x)"
    return f"{operator}.{value}"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@st.composite
def write_bodies(draw: st.DrawFn, shape: WriteShape) -> bytes | None:
    """A body of `shape`: its keys with fresh values, or (rarely) one that does not parse."""
    broken = draw(st.integers(0, 11))
    if broken == 0:
        return draw(st.sampled_from([b"", b"{", b"\xff\xfe", b"[1, {}]", b'[{"a": 1}, {"b": 2}]', b"5"]))
    if shape.body_format in ("object", "form"):
        row = {key: draw(json_values) for key in shape.keys}
        if shape.body_format == "form":
            return urlencode([(k, json.dumps(v)) for k, v in row.items()]).encode()
        return json.dumps(row, ensure_ascii=draw(st.booleans())).encode()
    rows = [{key: draw(json_values) for key in shape.keys} for _ in range(shape.rows)]
    if shape.body_format == "csv":
        cells = [[draw(st.sampled_from(["NULL", ""])) or json.dumps(r[k]) for k in shape.keys] for r in rows]
        return _csv([list(shape.keys), *cells] if shape.keys else cells)
    return json.dumps(rows).encode()


@st.composite
def write_requests(draw: st.DrawFn) -> list[Raw]:
    """One write shape, six times with other values; sometimes with other body keys or format
    (another shape of the same request, which must not be served from this one's template)."""
    shape = draw(write_shapes())
    requests = []
    for _ in range(6):
        if draw(st.integers(0, 4)) == 0:
            keys = draw(st.lists(st.sampled_from(COLUMNS[shape.table]), max_size=3, unique=True))
            json_format = shape.body_format in ("object", "array")
            body_format = draw(st.sampled_from(["object", "array"])) if json_format else shape.body_format
            shape = replace(shape, keys=tuple(keys), body_format=body_format)
        query = [(f.column, _filter_text(f.operator, draw(filter_values))) for f in shape.filters]
        body = None if shape.method == "DELETE" else draw(write_bodies(shape))
        requests.append(Raw(shape.method, f"/{shape.table}", (*query, *shape.query), shape.headers, body))
    return requests


# --- calls ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallShape:
    method: str
    function: str
    names: tuple[str, ...]  # arguments (repeated: given several times)
    body_format: str  # "json", "form", "csv", "text" (POST)
    filters: tuple[Filter, ...]  # on the result's columns (set-returning functions)
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]


@st.composite
def argument_names(draw: st.DrawFn, function: str, method: str, body_format: str) -> list[str]:
    """The names of a call's arguments: mostly those an overload takes, sometimes not."""
    routine = draw(st.sampled_from(ROUTINES[function]))
    params = [p for p in routine.params if p.name]
    names = [p.name for p in params if p.required]
    names += draw(st.lists(st.sampled_from([p.name for p in params if not p.required] or [""]), unique=True))
    if not params:  # a function taking the whole body: any keys
        names = draw(st.lists(st.sampled_from("kl"), max_size=2))
    if any(p.variadic for p in params):
        names *= draw(st.integers(1, 3))  # `?v=a&v=b`: a variadic argument given several times
    if draw(st.integers(0, 7)) == 0:
        names.append("zzz")  # no such parameter: PGRST202
    if draw(st.integers(0, 7)) == 0 and names:
        names.pop(0)  # a required one missing: PGRST202
    names = [name for name in draw(st.permutations(names)) if name]
    if method == "POST" and body_format in ("json", "csv"):
        names = list(dict.fromkeys(names))  # a JSON object or CSV row names each key once
    return names


@st.composite
def call_shapes(draw: st.DrawFn) -> CallShape:
    function = draw(st.sampled_from(sorted(ROUTINES)))
    method = draw(st.sampled_from(["GET", "POST", "POST", "HEAD"]))
    body_format = draw(st.sampled_from(["json", "json", "form", "csv", "text"]))
    names = draw(argument_names(function, method, body_format))
    filters: tuple[Filter, ...] = ()
    query: list[tuple[str, str]] = []
    if function in ("films_between", "one_film", "all_films"):
        filters = tuple(
            Filter(column, draw(st.sampled_from(["eq", "gt", "like"])))
            for column in draw(st.lists(st.sampled_from(("id", "year", "title")), max_size=2, unique=True))
        )
        if draw(st.booleans()):
            query.append(("select", ",".join(draw(st.lists(st.sampled_from(("id", "title")), min_size=1)))))
        if draw(st.booleans()):
            query += [("order", "year.desc"), ("limit", str(draw(st.integers(1, 9))))]
    headers: list[tuple[str, str]] = []
    prefer = draw(st.sampled_from([None, "count=exact", "count=planned", "tx=rollback"]))
    if prefer is not None:
        headers.append(("Prefer", prefer))
    accept = draw(
        st.sampled_from([None, "application/json", "application/vnd.pgrst.object+json", "text/plain"])
    )
    if accept is not None:
        headers.append(("Accept", accept))
    if method == "POST":
        content_type = {
            "form": "application/x-www-form-urlencoded",
            "csv": "text/csv",
            "text": "text/plain",
        }.get(body_format)
        if content_type is not None:
            headers.append(("Content-Type", content_type))
    if method == "GET" and draw(st.integers(0, 4)) == 0:
        headers.append(("Range", "0-4"))
    return CallShape(method, function, tuple(names), body_format, filters, tuple(query), tuple(headers))


# Argument values in a query string or form: some read as filters (`gt.5`), most do not.
argument_texts = st.one_of(
    st.integers(-50, 3000).map(str),
    st.integers(-50, 3000).map(str),
    words,
    st.sampled_from(["gt.5", "eq.x", "not.is.null", "{a,b}", "", "x.y", "Not.eq"]),
)


@st.composite
def call_bodies(draw: st.DrawFn, shape: CallShape) -> bytes | None:
    broken = draw(st.integers(0, 11))
    if broken == 0:
        return draw(st.sampled_from([b"", b"{", b"\xff", b'[{"a": 1}, {"b": 2}]', b"[]", b"7"]))
    if shape.body_format == "text":
        return draw(words).encode()
    if shape.body_format == "form":
        return urlencode([(name, draw(argument_texts)) for name in shape.names]).encode()
    if shape.body_format == "csv":
        return _csv([list(shape.names), [draw(argument_texts) for _ in shape.names]])
    row = {name: draw(json_values) for name in shape.names}
    if draw(st.integers(0, 7)) == 0:
        return b"" if not row else json.dumps([row, row]).encode()
    return json.dumps(row).encode()


@st.composite
def call_requests(draw: st.DrawFn) -> list[Raw]:
    """One call shape, six times with other values; sometimes with other argument names."""
    shape = draw(call_shapes())
    requests = []
    for _ in range(6):
        if draw(st.integers(0, 4)) == 0:
            names = draw(argument_names(shape.function, shape.method, shape.body_format))
            shape = replace(shape, names=tuple(names))
        query = [(f.column, _filter_text(f.operator, draw(filter_values))) for f in shape.filters]
        if shape.method == "POST":
            body = draw(call_bodies(shape))
        else:
            body = None
            query += [(name, draw(argument_texts)) for name in shape.names]
        requests.append(
            Raw(shape.method, f"/rpc/{shape.function}", (*query, *shape.query), shape.headers, body)
        )
    return requests


# --- the properties ------------------------------------------------------------------------------

Outcome = Prepared | tuple[type, int, str]


def outcome(compile_: Any, request: ApiRequest) -> Outcome:
    """The Prepared, or the error as its type, status and JSON body."""
    try:
        result: Prepared = compile_(request, CACHE, OPTIONS)
    except PgrstError as error:
        return (type(error), error.status, error.to_json())
    return result


def assert_cached_equals_fresh(requests: list[Raw]) -> None:
    shapes = ShapeCache()
    for raw in requests:
        try:
            request = raw.parsed()
        except PgrstError:
            continue  # the parser's error: the cache never sees the request
        fresh = outcome(prepare, request)
        assert outcome(shapes.prepare, request) == fresh
    templates = sum(isinstance(entry, shape_cache._Template) for entry in shapes._entries.values())
    event("templated" if templates else "not templated")


@SETTINGS
@given(write_requests())
def test_cached_and_fresh_writes_are_identical(requests: list[Raw]) -> None:
    assert_cached_equals_fresh(requests)


@SETTINGS
@given(call_requests())
def test_cached_and_fresh_calls_are_identical(requests: list[Raw]) -> None:
    assert_cached_equals_fresh(requests)


# --- templates are made and used -----------------------------------------------------------------


JSON_BODY = (("Content-Type", "application/json"),)


def request(
    method: str,
    path: str,
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes | None = None,
) -> ApiRequest:
    return parse_request(method, path, query, headers, body, schemas=("public",))


def served(
    requests: list[ApiRequest], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[Prepared], ShapeCache]:
    """Each request through one ShapeCache, checked against a fresh compile; the compiles made."""
    compiles = CountingCompiles(monkeypatch)
    shapes = ShapeCache()
    results = []
    for each in requests:
        result = shapes.prepare(each, CACHE, OPTIONS)
        assert result == prepare(each, CACHE, OPTIONS)
        results.append(result)
    return compiles.calls, results, shapes


def only_entry(shapes: ShapeCache) -> object:
    (entry,) = shapes._entries.values()
    return entry


def test_a_repeated_insert_is_served_from_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = (*JSON_BODY, ("Prefer", "return=representation"))
    bodies = [json.dumps([{"title": f"T{n}", "year": 1990 + n}] * n).encode() for n in (1, 2, 3, 4)]
    calls, results, shapes = served([request("POST", "/films", "", headers, b) for b in bodies], monkeypatch)
    # miss (1 compile), template (2: real + sentinels), then hits (0 each).
    assert calls == 3
    assert isinstance(only_entry(shapes), shape_cache._Template)
    assert [r.statement.params for r in results] == [(b.decode(),) for b in bodies]


def test_a_single_object_insert_is_templated_with_its_array_text(monkeypatch: pytest.MonkeyPatch) -> None:
    bodies = [f'{{"title": "T{n}"}}'.encode() for n in range(4)]
    calls, results, _ = served([request("POST", "/films", "", JSON_BODY, b) for b in bodies], monkeypatch)
    assert calls == 3
    assert results[3].statement.params == ('[{"title": "T3"}]',)  # the planner's rows text


def test_a_repeated_patch_fills_filter_and_body(monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [
        request("PATCH", "/films", f"id=eq.{n}", JSON_BODY, f'{{"year": {n}}}'.encode()) for n in range(4)
    ]
    calls, results, _ = served(requests, monkeypatch)
    assert calls == 3
    assert sorted(map(str, results[3].statement.params)) == ["3", '{"year": 3}']


def test_csv_and_form_writes_are_templated(monkeypatch: pytest.MonkeyPatch) -> None:
    csv_type = (("Content-Type", "text/csv"),)
    form_type = (("Content-Type", "application/x-www-form-urlencoded"),)
    csvs = [request("POST", "/films", "", csv_type, f"title,year\nA{n},{n}\n".encode()) for n in range(4)]
    forms = [request("POST", "/films", "", form_type, f"title=A{n}&year={n}".encode()) for n in range(4)]
    assert served(csvs, monkeypatch)[0] == 3
    assert served(forms, monkeypatch)[0] == 3


def test_other_keys_are_another_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    bodies = [b'{"title": "a"}', b'{"title": "b", "year": 1}', b'{"year": 2, "title": "c"}', b"[]"]
    calls, _, shapes = served([request("POST", "/films", "", JSON_BODY, b) for b in bodies], monkeypatch)
    assert calls == 4  # four shapes (the key order is the column order), each seen once
    assert len(shapes) == 4


def test_a_bad_body_gives_the_uncached_error() -> None:
    shapes = ShapeCache()
    for n in range(3):
        shapes.prepare(
            request("POST", "/films", "", JSON_BODY, f'[{{"title": "{n}"}}]'.encode()), CACHE, OPTIONS
        )
    assert isinstance(only_entry(shapes), shape_cache._Template)
    # The first row has the template's keys; the body still does not parse.
    for bad in (b'[{"title": "x"}, {"year": 1}]', b"{", b"\xff"):
        bad_request = request("POST", "/films", "", JSON_BODY, bad)
        with pytest.raises(PgrstError) as cached:
            shapes.prepare(bad_request, CACHE, OPTIONS)
        with pytest.raises(PgrstError) as fresh:
            prepare(bad_request, CACHE, OPTIONS)
        assert cached.value.to_json() == fresh.value.to_json()
        assert cached.value.code == "PGRST102"


def test_a_repeated_rpc_get_is_served_from_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [
        request("GET", "/rpc/films_between", f"min_year={n}&max_year=20{n}&year=gt.{n}") for n in range(4)
    ]
    calls, results, shapes = served(requests, monkeypatch)
    assert calls == 3
    assert isinstance(only_entry(shapes), shape_cache._Template)
    assert set(results[3].statement.params) == {"3", "203"}


def test_a_repeated_rpc_post_is_served_from_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = (*JSON_BODY, ("Prefer", "count=planned"))
    bodies = [json.dumps({"id": n, "note": {"n": [n, None]}}).encode() for n in range(4)]
    calls, results, _ = served([request("POST", "/rpc/touch", "", headers, b) for b in bodies], monkeypatch)
    assert calls == 3
    last = results[3]
    assert set(last.statement.params) == {"3", '{"n":[3,null]}'}  # the planner's argument texts
    assert last.function_settings == (("statement_timeout", "1s"),) and not last.read_only


def test_whole_body_and_variadic_calls_are_templated(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = [request("POST", "/rpc/echo_json", "", JSON_BODY, f'{{"k": {n}}}'.encode()) for n in range(4)]
    variadic = [request("GET", "/rpc/tags", f"v=a{n}&v=b") for n in range(4)]
    text = (("Content-Type", "text/plain"),)
    raw = [request("POST", "/rpc/echo_text", "", text, f"line {n}".encode()) for n in range(4)]
    assert served(whole, monkeypatch)[0] == 3
    assert served(variadic, monkeypatch)[0] == 3
    assert served(raw, monkeypatch)[0] == 3


def test_a_value_error_of_a_call_is_the_uncached_error(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = ShapeCache()
    for n in range(3):
        shapes.prepare(
            request("POST", "/rpc/add", "", JSON_BODY, f'{{"a": {n}, "b": "x"}}'.encode()), CACHE, OPTIONS
        )
    assert isinstance(only_entry(shapes), shape_cache._Template)
    nul = request("POST", "/rpc/add", "", JSON_BODY, b'{"a": 1, "b": "\\u0000"}')  # same shape, value refused
    with pytest.raises(PgrstError) as cached:
        shapes.prepare(nul, CACHE, OPTIONS)
    with pytest.raises(PgrstError) as fresh:
        prepare(nul, CACHE, OPTIONS)
    assert (cached.value.code, cached.value.to_json()) == ("22P05", fresh.value.to_json())


def test_singular_calls_keep_check_before_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    singular = (("Accept", "application/vnd.pgrst.object+json"),)
    requests = [request("GET", "/rpc/one_film", f"id={n}", singular) for n in range(4)]
    calls, results, _ = served(requests, monkeypatch)
    assert calls == 3 and results[3].check_before_commit


def test_uncacheable_writes_and_calls_stay_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    # A like pattern is transformed on its way to its parameter.
    patches = [request("PATCH", "/films", f"title=like.a{n}*", JSON_BODY, b'{"year": 1}') for n in range(4)]
    calls, _, shapes = served(patches, monkeypatch)
    assert calls == 5 and only_entry(shapes) is shape_cache._UNCACHEABLE
    # An empty body is `{}` for the probe too: the whole-body argument's mapping is unproven.
    empties = [request("POST", "/rpc/echo_json", "", JSON_BODY, b"") for _ in range(4)]
    calls, _, shapes = served(empties, monkeypatch)
    assert calls == 5 and only_entry(shapes) is shape_cache._UNCACHEABLE


def test_a_new_schema_cache_empties_the_cache_for_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    compiles = CountingCompiles(monkeypatch)
    shapes = ShapeCache()
    for n in range(2):
        shapes.prepare(request("POST", "/films", "", JSON_BODY, f'{{"year": {n}}}'.encode()), CACHE, OPTIONS)
    reloaded = replace(CACHE, tables=dict(CACHE.tables))
    shapes.prepare(request("POST", "/films", "", JSON_BODY, b'{"year": 3}'), reloaded, OPTIONS)
    assert compiles.calls == 4  # no hit on the template built against the old schema cache


def test_a_mapping_proven_only_by_equal_values_is_refused() -> None:
    """A parameter equal to a probe value that equals the real value proves nothing."""
    statement = Fragment("SELECT \x00", ("{}",))
    assert shape_cache._slots(statement, statement, ("{}",), ("{}",)) is None
    probe = Fragment("SELECT \x00", ("{ }",))
    assert shape_cache._slots(probe, statement, ("{ }",), ("{}",)) == (0,)


def test_a_call_template_is_not_linked_to_a_raw_shape() -> None:
    """The server answers a repeated GET from its raw shape when that is linked to a read's
    template; a call's template (no Content-Location, values that are bound arguments) is not."""
    shapes = ShapeCache()
    for n in range(3):
        query = f"year=gt.{n}"
        raw = raw_shape("GET", "/rpc/all_films", query, ())
        assert shapes.prepare(request("GET", "/rpc/all_films", query), CACHE, OPTIONS, raw) == prepare(
            request("GET", "/rpc/all_films", query), CACHE, OPTIONS
        )
    assert isinstance(only_entry(shapes), shape_cache._Template)
    assert shapes.prepare_raw(raw_shape("GET", "/rpc/all_films", "year=gt.9", ()), (), CACHE, OPTIONS) is None


# --- the call planner's shortcut for arguments -------------------------------------------------

_OPERATOR_WORDS = ["eq", "neq", "gt", "in", "is", "like", "fts", "plfts", "cs", "isdistinct", "x", "Eq", ""]
_TAILS = st.text(alphabet=".()*,{}\\\"' aZ9_-énul", max_size=5)


@st.composite
def filter_like_texts(draw: st.DrawFn) -> str:
    """`[not.]word` then `.`, `(any).`, `(lang).` or anything, then anything: filters and near misses."""
    prefix = draw(st.sampled_from(["", "not.", "not", "no."]))
    word = draw(st.sampled_from(_OPERATOR_WORDS))
    follow = draw(st.sampled_from([".", "(any).", "(all).", "(english).", "(", "", "-"]))
    return prefix + word + follow + draw(_TAILS)


@settings(max_examples=400, deadline=None)
@given(st.one_of(filter_like_texts(), _TAILS))
def test_a_value_the_shortcut_calls_an_argument_is_no_filter(value: str) -> None:
    """`call._may_be_filter` skips the filter parser for a GET argument: only when the parser
    would refuse the value as a filter anyway."""
    from pgrest_core.plan import call
    from pgrest_core.request.query import parse_query_params

    try:
        parsed = parse_query_params((("k", value),)).conditions
    except PgrstError:
        parsed = ()
    if parsed:
        assert call._may_be_filter(value)
    assert call._as_filter("k", value) == (parsed[0] if parsed else None)
