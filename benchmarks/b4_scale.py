"""B4 scale: translation time and SQL length against embedding depth (0…8) and width (1…16).

Depth d embeds a chain t0 -> t1 -> … -> td (each a to-many lateral subquery inside the last);
width w embeds w sibling tables of one hub. The size of a request is its number of levels
(embeds + 1), and the growth exponent k is the slope of log(y) against log(size) fitted by
least squares: y ~ size^k. Linear growth is k ≈ 1; a fixed per-request cost pulls k below 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks import schemas
from benchmarks.timing import Stats, interleaved
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.schema.model import SchemaCache

OPTIONS = Options(schemas=(schemas.SCHEMA,))
DEPTHS = tuple(range(0, 9))
WIDTHS = (1, 2, 4, 8, 12, 16)


@dataclass(frozen=True, slots=True)
class Point:
    size: int  # levels in the request: embeds + 1
    stats: Stats
    sql_length: int


@dataclass(frozen=True, slots=True)
class Series:
    name: str  # "depth" or "width"
    points: tuple[tuple[int, Point], ...]  # (depth or width, measurement)
    time_exponent: float
    length_exponent: float


def fit_exponent(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope of log(y) on log(x)."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mean_x, mean_y = sum(lx) / len(lx), sum(ly) / len(ly)
    spread = sum((x - mean_x) ** 2 for x in lx)
    if spread == 0:
        return float("nan")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(lx, ly, strict=True)) / spread


def _translator(path: str, select: str, cache: SchemaCache) -> tuple[object, int]:
    query = "select=" + select

    def translate() -> str:
        request = parse_request("GET", path, query, (), schemas=OPTIONS.schemas)
        return prepare(request, cache, OPTIONS).statement.render("psycopg")

    return translate, len(translate())


def _series(
    name: str, requests: dict[int, tuple[int, str, str, SchemaCache]], repeats: int, iterations: int
) -> Series:
    """Time every size of one series interleaved with the others, then fit the exponents."""
    translators = {}
    lengths = {}
    for knob, (_size, path, select, cache) in requests.items():
        translators[str(knob)], lengths[knob] = _translator(path, select, cache)
    stats = interleaved(translators, repeats=repeats, iterations=iterations)  # type: ignore[arg-type]
    points = tuple(
        (knob, Point(size, stats[str(knob)], lengths[knob])) for knob, (size, *_rest) in requests.items()
    )
    sizes = [float(point.size) for _, point in points]
    return Series(
        name,
        points,
        time_exponent=fit_exponent(sizes, [point.stats.median_us for _, point in points]),
        length_exponent=fit_exponent(sizes, [float(point.sql_length) for _, point in points]),
    )


def run(
    *, repeats: int, iterations: int, depths: tuple[int, ...] = DEPTHS, widths: tuple[int, ...] = WIDTHS
) -> list[Series]:
    chain = schemas.chain_catalog(max(depths))
    star = schemas.star_catalog(max(widths))
    depth_requests = {d: (d + 1, "/t0", schemas.chain_select(d), chain) for d in depths}
    width_requests = {w: (w + 1, "/hub", schemas.star_select(w), star) for w in widths}
    return [
        _series("depth", depth_requests, repeats, iterations),
        _series("width", width_requests, repeats, iterations),
    ]
