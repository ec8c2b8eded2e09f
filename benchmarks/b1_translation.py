"""B1 translation: parse -> plan -> compile -> render, no database.

A fixed corpus of requests over the demo schema (plus a generated 450-table schema for the
"did you mean" error path). The simple `/films` cases also run two baselines that produce the
same statement: (a) the f-string floor, (b) SQLAlchemy Core (see baselines.py).

A case whose request pgrest does not compile yet (PGRST127 "Feature not implemented") stays in
the corpus and is reported as such; it is measured as soon as it compiles.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks import baselines, schemas
from benchmarks.timing import Stats, count_calls, interleaved
from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.request.raw_shape import raw_shape
from pgrest_core.schema.model import SchemaCache
from pgrest_core.shape_cache import ShapeCache

NOT_IMPLEMENTED = "PGRST127"
OPTIONS = Options(schemas=(schemas.SCHEMA,), aggregates_enabled=True)


def _hundred_films() -> bytes:
    rows = [
        {
            "title": f"Film {n}",
            "year": 1950 + n % 70,
            "genre": "drama",
            "rating": n % 10 + 0.5,
            "language": "en",
        }
        for n in range(100)
    ]
    return json.dumps(rows).encode()


@dataclass(frozen=True, slots=True)
class Case:
    key: str
    title: str
    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    catalog: str = "demo"  # "demo" or "wide" (450 generated tables)
    baseline: bool = False  # a simple /films case the hand-written baselines also answer
    expect_error: str | None = None  # the PostgREST error code this request must produce

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")


CORPUS: tuple[Case, ...] = (
    Case("single_row", "single-row filter", "GET", "/films", "id=eq.3", baseline=True),
    Case(
        "filters_order_limit",
        "three filters + order + limit",
        "GET",
        "/films",
        "select=id,title,year&year=gte.2000&rating=gt.8&language=eq.English&order=year.desc&limit=10",
        baseline=True,
    ),
    Case(
        "page_100",
        "100-row page",
        "GET",
        "/films",
        "select=id,title,year,rating&order=id&limit=100&offset=200",
        baseline=True,
    ),
    Case("in_list", "in-list + not.is.null", "GET", "/films", "id=in.(1,2,3,4,5)&rating=not.is.null"),
    Case(
        "or_and_tree",
        "nested or/and tree",
        "GET",
        "/films",
        "or=(year.lt.1970,and(genre.eq.drama,rating.gte.8),title.like.*Dune*)",
    ),
    Case(
        "pattern_order",
        "ilike + order nullslast",
        "GET",
        "/films",
        "select=id,title&title=ilike.*dune*&order=rating.desc.nullslast",
    ),
    Case(
        "two_level_embed",
        "two-level embed",
        "GET",
        "/films",
        "select=title,directors(first_name,last_name),roles(character,actors(first_name))",
    ),
    Case("many_to_many", "many-to-many embed", "GET", "/films", "select=title,actors(first_name,last_name)"),
    Case(
        "spread", "spread (...directors)", "GET", "/films", "select=title,...directors(first_name,last_name)"
    ),
    Case("aggregate", "aggregate + group by", "GET", "/films", "select=genre,rating.avg(),count()"),
    Case("computed_field", "computed field", "GET", "/directors", "select=id,full_name"),
    Case(
        "exact_count",
        "Prefer: count=exact",
        "GET",
        "/films",
        "limit=10",
        headers=(("Prefer", "count=exact"),),
    ),
    Case("csv", "Accept: text/csv", "GET", "/films", "limit=10", headers=(("Accept", "text/csv"),)),
    Case(
        "insert_100",
        "insert of 100 rows",
        "POST",
        "/films",
        headers=(("Content-Type", "application/json"), ("Prefer", "return=representation")),
        body=_hundred_films(),
    ),
    Case("rpc", "RPC call", "GET", "/rpc/films_between", "min_year=2000&max_year=2020"),
    Case(
        "did_you_mean",
        "misspelled table, 450 tables",
        "GET",
        "/custmer_orders",
        "id=eq.1",
        catalog="wide",
        expect_error="PGRST205",
    ),
)


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    status: str  # "measured" or "not implemented yet"
    pgrest: Stats | None = None
    pgrest_calls: int | None = None
    sql_length: int | None = None
    floor: Stats | None = None
    floor_calls: int | None = None
    alchemy: Stats | None = None
    alchemy_calls: int | None = None
    floor_same_sql: bool | None = None  # the floor's text and parameters equal pgrest's
    repeated: Stats | None = None  # the same request again, through the compiled-shape cache
    repeated_calls: int | None = None
    notes: tuple[str, ...] = field(default=())


def catalogs() -> dict[str, SchemaCache]:
    return {"demo": schemas.demo_catalog(), "wide": schemas.wide_catalog(450)}


def pgrest_translator(case: Case, cache: SchemaCache) -> Callable[[], tuple[str, tuple[object, ...]]]:
    """One request through pgrest's pure pipeline, to the driver-ready text and parameters."""

    def translate() -> tuple[str, tuple[object, ...]]:
        request = parse_request(
            case.method, case.path, case.query, case.headers, case.body, schemas=OPTIONS.schemas
        )
        statement = prepare(request, cache, OPTIONS).statement
        return statement.render("psycopg"), statement.params

    if case.expect_error is None:
        return translate

    def translate_error() -> tuple[str, tuple[object, ...]]:
        try:
            translate()
        except PgrstError as error:
            if error.code != case.expect_error:
                raise
            return error.to_json(), ()  # the error body is the response this request produces
        raise AssertionError(f"{case.request_line} was expected to fail with {case.expect_error}")

    return translate_error


def repeated_translator(case: Case, cache: SchemaCache) -> Callable[[], tuple[str, tuple[object, ...]]]:
    """The request as the server translates a shape it has seen before: its raw shape is
    linked to a compiled template (warmed here: first sighting, template, link), so it is
    neither parsed nor planned nor compiled, only rendered. A shape the raw split cannot serve
    (a body, a transformed value) is parsed and served by the compiled-shape cache or compiled
    fresh, as in the server."""
    shapes = ShapeCache()
    headers = [(name.lower(), value) for name, value in case.headers]
    fast = case.method in ("GET", "HEAD") and not case.body

    def translate() -> tuple[str, tuple[object, ...]]:
        raw = raw_shape(case.method, case.path, case.query, headers) if fast else None
        hit = shapes.prepare_raw(raw, headers, cache, OPTIONS) if raw is not None else None
        if hit is not None:
            statement = hit[1].statement
        else:
            request = parse_request(
                case.method, case.path, case.query, headers, case.body, schemas=OPTIONS.schemas
            )
            statement = shapes.prepare(request, cache, OPTIONS, raw).statement
        return statement.render("psycopg"), statement.params

    for _ in range(3):
        translate()
    return translate


def not_implemented(work: Callable[[], object]) -> bool:
    """True when pgrest answers the request with PGRST127 (a feature it does not have yet)."""
    try:
        work()
    except PgrstError as error:
        if error.code == NOT_IMPLEMENTED:
            return True
        raise
    return False


def affordable(work: Callable[[], object], iterations: int, budget_s: float = 0.15) -> int:
    """Fewer iterations for slow requests (the error path), so one repeat stays within budget."""
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    return max(20, min(iterations, int(budget_s / max(elapsed, 1e-9))))


def run_case(
    case: Case,
    cache: SchemaCache,
    *,
    repeats: int,
    iterations: int,
    alchemy: baselines.SqlAlchemyFilms | None,
) -> CaseResult:
    pgrest = pgrest_translator(case, cache)
    if not_implemented(pgrest):
        return CaseResult(case, "not implemented yet")
    contenders: dict[str, Callable[[], object]] = {"pgrest": pgrest}
    if case.expect_error is None:
        repeated = repeated_translator(case, cache)
        if repeated() != pgrest():
            raise AssertionError(f"{case.request_line}: the shape cache translates differently")
        contenders["repeated"] = repeated
    same_sql = None
    if case.baseline:
        query = case.query
        contenders["floor"] = lambda: baselines.floor_films(query)
        same_sql = baselines.floor_films(query) == pgrest()
        if alchemy is not None:
            contenders["alchemy"] = lambda: alchemy(query)
    stats = interleaved(contenders, repeats=repeats, iterations=affordable(pgrest, iterations))
    calls = {name: count_calls(work) for name, work in contenders.items()}
    return CaseResult(
        case,
        "measured",
        pgrest=stats["pgrest"],
        pgrest_calls=calls["pgrest"],
        sql_length=len(pgrest()[0]),
        floor=stats.get("floor"),
        floor_calls=calls.get("floor"),
        alchemy=stats.get("alchemy"),
        alchemy_calls=calls.get("alchemy"),
        floor_same_sql=same_sql,
        repeated=stats.get("repeated"),
        repeated_calls=calls.get("repeated"),
    )


def run(*, repeats: int, iterations: int, keys: tuple[str, ...] | None = None) -> list[CaseResult]:
    """Run the corpus (or the cases named by `keys`)."""
    caches = catalogs()
    try:
        alchemy: baselines.SqlAlchemyFilms | None = baselines.SqlAlchemyFilms()
    except ImportError:
        alchemy = None
    cases = [case for case in CORPUS if keys is None or case.key in keys]
    return [
        run_case(case, caches[case.catalog], repeats=repeats, iterations=iterations, alchemy=alchemy)
        for case in cases
    ]
