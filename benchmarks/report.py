"""RESULTS.md: every benchmark's table, the targets with the measured gap, and the versions."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata

from benchmarks.b1_translation import CaseResult
from benchmarks.b2_runner import WorkloadResult
from benchmarks.b3_http import LoadResult, median_of
from benchmarks.b3_profile import CONNECTIONS as PROFILE_CONNECTIONS
from benchmarks.b3_profile import RATE_HZ, STAGES, RouteProfile
from benchmarks.b4_scale import Series
from benchmarks.b5_body_memory import BodyMemory
from benchmarks.b5_body_memory import section as b5_section
from benchmarks.b6_streaming import StreamingResult
from benchmarks.b6_streaming import section as b6_section
from benchmarks.b7_scale_out import ScaleOut
from benchmarks.b7_scale_out import section as b7_section
from benchmarks.timing import ratio


@dataclass(slots=True)
class Run:
    """Everything one `python -m benchmarks` run produced (None: not run)."""

    command: str
    started_utc: str
    wall_seconds: float = 0.0
    postgres_version: str | None = None
    b1: list[CaseResult] | None = None
    b2: list[WorkloadResult] | None = None
    b3: list[LoadResult] | None = None
    b3_profile: list[RouteProfile] | None = None
    b4: list[Series] | None = None
    b5: list[BodyMemory] | None = None
    b6: StreamingResult | None = None
    b7: ScaleOut | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _wrk_version() -> str:
    try:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" [")[0].removeprefix("wrk ") if first else "unknown"


def _us(value: float | None) -> str:
    return "—" if value is None else (f"{value:.1f}" if value < 1000 else f"{value:,.0f}")


def _x(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}×"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


# -- targets --------------------------------------------------------------------------------------


# B1's first-time ratio to the f-string floor (worst simple case) when issue 10 was filed: the
# goal is not to get slower while adding the caches.
FIRST_TIME_BEFORE = 21.2


def targets(run: Run) -> list[Target]:
    found: list[Target] = []
    simple = [r for r in run.b1 or [] if r.case.baseline and r.pgrest is not None]
    floors = [(r, ratio(r.pgrest.median_us, r.floor.median_us)) for r in simple if r.pgrest and r.floor]
    if floors:
        worst, value = max(floors, key=lambda item: item[1])
        found.append(
            Target(
                "B1 first-time translation / f-string floor (simple cases, worst)",
                f"no slower than when issue 10 was filed (≤ {FIRST_TIME_BEFORE}×, 2026-11-24)",
                f"{value:.1f}× ({worst.case.key})",
                value <= FIRST_TIME_BEFORE,
            )
        )
    repeats = [(r, ratio(r.repeated.median_us, r.floor.median_us)) for r in simple if r.repeated and r.floor]
    if repeats:
        worst, value = max(repeats, key=lambda item: item[1])
        found.append(
            Target(
                "B1 repeated shape (shape cache) / f-string floor (simple cases, worst)",
                "≤ 2.0×",
                f"{value:.1f}× ({worst.case.key})",
                value <= 2.0,
            )
        )
    speedups = [(r, ratio(r.alchemy.median_us, r.pgrest.median_us)) for r in simple if r.pgrest and r.alchemy]
    if speedups:
        worst, value = min(speedups, key=lambda item: item[1])
        found.append(
            Target(
                "B1 speed-up over SQLAlchemy Core (simple cases, worst)",
                "≥ 3.0× faster",
                f"{value:.1f}× faster ({worst.case.key})",
                value >= 3.0,
            )
        )
    measured = [r for r in run.b2 or [] if r.pgrest and r.raw_transaction]
    if measured:
        worst_b2, value = max(
            (
                (r, ratio(r.pgrest.median_us, r.raw_transaction.median_us))
                for r in measured
                if r.pgrest and r.raw_transaction
            ),
            key=lambda item: item[1],
        )
        found.append(
            Target(
                "B2 p50 / raw psycopg with the same transaction shape (worst workload)",
                "≤ 1.15×",
                f"{value:.2f}× ({worst_b2.workload.key})",
                value <= 1.15,
            )
        )
    loads = [
        (r, ratio(median_of(r.pgrest, "requests_per_s"), median_of(r.baseline, "requests_per_s")))
        for r in run.b3 or []
    ]
    if loads:
        worst_load, value = min(loads, key=lambda item: item[1])
        found.append(
            Target(
                "B3 req/s, pgrest / hand-written app (worst route × connections)",
                "≥ 1.0×",
                f"{value:.2f}× ({worst_load.workload.key}, {worst_load.connections} conn.)",
                value >= 1.0,
            )
        )
    if run.b4:
        worst_series = max(run.b4, key=lambda s: s.time_exponent)
        found.append(
            Target(
                "B4 growth exponent of translation time (worst of depth/width)",
                "≤ 1.2",
                f"{worst_series.time_exponent:.2f} ({worst_series.name})",
                worst_series.time_exponent <= 1.2,
            )
        )
    return found


# -- sections -------------------------------------------------------------------------------------


def _header(run: Run) -> list[str]:
    versions = [
        ("Python", platform.python_version()),
        ("psycopg", _version("psycopg")),
        ("PostgreSQL", run.postgres_version or "not started"),
        ("SQLAlchemy", _version("sqlalchemy")),
        ("uvicorn", _version("uvicorn")),
        ("Starlette", _version("starlette")),
        ("uvloop", _version("uvloop")),
        ("httptools", _version("httptools")),
        ("wrk", _wrk_version()),
        ("CPU cores", str(os.cpu_count())),
        ("Platform", f"{platform.system()} {platform.machine()}"),
    ]
    return [
        "# pgrest benchmark results",
        "",
        f"Generated by `{run.command}` at {run.started_utc} (wall time {run.wall_seconds:.0f} s); "
        "regenerate with the same command. Times are µs; a ratio is pgrest / baseline "
        '(below 1 means pgrest is faster) unless it says "faster". Medians are the median of '
        "the per-repeat medians; p99 is over all timed calls. See benchmarks/README.md for the method.",
        "",
        *_table([name for name, _ in versions], [[value for _, value in versions]]),
    ]


def _targets_section(run: Run) -> list[str]:
    rows = [
        [t.name, t.goal, t.measured, {True: "yes", False: "**no**", None: "—"}[t.met]] for t in targets(run)
    ]
    return ["", "## Targets", "", *_table(["Target", "Goal", "Measured", "Met"], rows)]


def _b1_section(results: list[CaseResult]) -> list[str]:
    rows = []
    for r in results:
        label = f"{r.case.title} — `{r.case.request_line}`"
        if r.pgrest is None:
            rows.append([label, "not implemented yet (PGRST127)", *["—"] * 10])
            continue
        floor_ratio = ratio(r.pgrest.median_us, r.floor.median_us) if r.floor else None
        alchemy_ratio = ratio(r.pgrest.median_us, r.alchemy.median_us) if r.alchemy else None
        calls = f"{r.pgrest_calls}" + (
            f" / {r.floor_calls} / {r.alchemy_calls}" if r.floor_calls is not None else ""
        )
        same = "—" if r.floor_same_sql is None else ("yes" if r.floor_same_sql else "**no**")
        rows.append(
            [
                label,
                _us(r.pgrest.median_us),
                _us(r.pgrest.p99_us),
                _us(r.repeated.median_us if r.repeated else None),
                _x(ratio(r.repeated.median_us, r.floor.median_us) if r.repeated and r.floor else None),
                _us(r.floor.median_us if r.floor else None),
                _x(floor_ratio),
                _us(r.alchemy.median_us if r.alchemy else None),
                _x(alchemy_ratio),
                calls,
                str(r.sql_length),
                same,
            ]
        )
    header = [
        "Request",
        "pgrest p50",
        "pgrest p99",
        "repeated shape p50",
        "repeated/(a)",
        "(a) f-string",
        "pgrest/(a)",
        "(b) SQLAlchemy",
        "pgrest/(b)",
        "Python calls pgrest / (a) / (b)",
        "SQL chars",
        "(a) same SQL",
    ]
    table = _table(header, rows)
    return [
        "",
        "## B1 translation (no database)",
        "",
        "parse → plan → compile → render for one request, over the demo schema snapshot (the "
        "misspelled-table case over a generated 450-table schema, timed up to the error body). "
        "Baselines for the simple `/films` cases: (a) `urllib.parse` + f-strings with identifier "
        "quoting and a column whitelist, emitting pgrest's exact statement; (b) SQLAlchemy Core "
        "`select().where().order_by().limit()` wrapped in the same CTE, built fresh and compiled "
        "for the PostgreSQL dialect per request. Python calls are counted with `sys.setprofile` over "
        "one call (deterministic). pgrest p50 is a first-time translation (no cache); repeated shape "
        "is the same request again as the server translates it: a read's query string split into "
        "shape and values without parsing (pgrest_core/request/raw_shape.py) and the shape's "
        "compiled template filled in (pgrest_core/shape_cache.py), then render; a write or a call is "
        "parsed, then served from the compiled-shape cache instead of plan + compile. Neither path "
        "keeps anything per exact request, so the same values each time are no cheaper than new "
        "ones. Shapes the cache proves uncacheable (transformed values: like/ilike patterns, "
        "in-lists) stay at the first-time cost.",
        "",
        *table,
    ]


def _b2_section(results: list[WorkloadResult]) -> list[str]:
    rows = []
    for r in results:
        if r.pgrest is None or r.raw is None or r.raw_transaction is None:
            rows.append([r.workload.title, "not implemented yet (PGRST127)", *["—"] * 9])
            continue
        rows.append(
            [
                r.workload.title,
                _us(r.pgrest.median_us),
                _us(r.pgrest.p99_us),
                _us(r.raw.median_us),
                _us(r.raw.p99_us),
                _x(ratio(r.pgrest.median_us, r.raw.median_us)),
                _us(r.pgrest.median_us - r.raw.median_us),
                _us(r.raw_transaction.median_us),
                _x(ratio(r.pgrest.median_us, r.raw_transaction.median_us)),
                _us(r.pgrest.median_us - r.raw_transaction.median_us),
                f"{r.response_bytes} ({'same' if r.same_body else '**differs**'})",
            ]
        )
    header = [
        "Workload",
        "pgrest p50",
        "pgrest p99",
        "raw p50",
        "raw p99",
        "p50 ratio",
        "overhead µs",
        "raw tx p50",
        "p50 ratio vs tx",
        "overhead vs tx µs",
        "body bytes",
    ]
    return [
        "",
        "## B2 runner overhead (no HTTP)",
        "",
        "pgrest: `PgrestApp.handle` (auth; a repeated read's raw shape and compiled template, or "
        "parse then plan + compile or the compiled-shape cache; the transaction in one pipeline "
        "batch; respond) → response bytes. raw: psycopg running the exact "
        "statement and parameters pgrest emitted, alone, body encoded. raw tx: psycopg sending "
        "pgrest's whole transaction itself with the same shape (a read: set_config prelude + statement "
        "as one implicit transaction; the insert: BEGIN, prelude, statement, SET CONSTRAINTS, "
        "ROLLBACK) in one pipeline — the difference to it is pgrest's Python cost, and B2's goal "
        "(≤ 1.15×) is against it. All three on the same pooled connection with `prepare=True`.",
        "",
        *_table(header, rows),
    ]


def _stage_us(result: WorkloadResult, name: str) -> str:
    stats = dict(result.stages).get(name)
    return _us(stats.median_us) if stats is not None else "—"  # a stage this request has not


def _stages_section(results: list[WorkloadResult], loads: list[LoadResult] | None) -> list[str]:
    measured = [r for r in results if r.stages and r.pgrest]
    if not measured:
        return []
    names = list(dict.fromkeys(name for r in measured for name, _ in r.stages))
    rows = [[name, *(_stage_us(r, name) for r in measured)] for name in names]
    handle = [r.pgrest.median_us if r.pgrest else None for r in measured]
    rows.append(["**whole request in-process** (`PgrestApp.handle`, B2)", *(_us(v) for v in handle)])
    one_connection = {
        r.workload.key: median_of(r.pgrest, "p50_us") for r in loads or [] if r.connections == 1
    }
    if one_connection:
        rows.append(
            [
                "HTTP: uvicorn + uvloop + httptools, ASGI, loopback, wrk (B3 p50 at 1 connection − B2)",
                *(
                    _us(one_connection[r.workload.key] - r.pgrest.median_us)
                    if r.workload.key in one_connection and r.pgrest
                    else "—"
                    for r in measured
                ),
            ]
        )
    return [
        "",
        "## Per-stage profile (pgrest, µs p50)",
        "",
        "Each stage of `PgrestApp.handle` timed on its own with the app's own objects (B2's app, one "
        "pooled connection), so the stages show where a request's time goes; the stages of one "
        "request use either first-time or repeated-shape planning, not both. A repeated read takes "
        "the raw-shape row instead of parse and planning: its query string is split into shape and "
        "values and the shape's compiled template filled in (pgrest_core/request/raw_shape.py); "
        "writes and calls have no raw shape (—). The transaction is the "
        "runner (pgrest_core/runner: one libpq pipeline batch, named prepared statements per "
        "connection) plus PostgreSQL's execution. To see inside a stage under load: "
        "`py-spy record -p PID -f raw` on `pgrest serve` while wrk runs.",
        "",
        *_table(["Stage", *(r.workload.key for r in measured)], rows),
    ]


def _b3_profile_section(profiles: list[RouteProfile]) -> list[str]:
    """Stages down, routes across: CPU µs per request in the running server."""
    rows = [[stage, *(f"{p.cpu_us[stage]:.0f}" for p in profiles)] for stage in STAGES]
    rows.append(["**total server CPU**", *(f"**{p.total_us:.0f}**" for p in profiles)])
    rows.append(["requests/s while sampled", *(f"{p.requests_per_s:,.0f}" for p in profiles)])
    return [
        "",
        "## Per-stage CPU under load (py-spy on `pgrest serve`)",
        "",
        f"B3's server with wrk at {PROFILE_CONNECTIONS} connections on each route, sampled by py-spy "
        f"at {RATE_HZ} Hz (benchmarks/b3_profile.py). Each sample is charged to the stage of the "
        "deepest pgrest, driver or HTTP-server frame on its stack: the runner row includes the "
        "database socket's system calls, the HTTP server row the client socket's. py-spy samples "
        "without stopping the server (`--nonblocking`), so a few stacks are torn and every figure "
        "has sampling error of several µs; compare rows, and runs, rather than single cells.",
        "",
        *_table(["Stage (CPU µs per request)", *(p.workload.key for p in profiles)], rows),
    ]


def _b3_section(results: list[LoadResult]) -> list[str]:
    rows = []
    for r in results:
        ours_rate, their_rate = median_of(r.pgrest, "requests_per_s"), median_of(r.baseline, "requests_per_s")
        ours_p50, their_p50 = median_of(r.pgrest, "p50_us"), median_of(r.baseline, "p50_us")
        ours_p99, their_p99 = median_of(r.pgrest, "p99_us"), median_of(r.baseline, "p99_us")
        failures = sum(run.failures for run in (*r.pgrest, *r.baseline))
        rows.append(
            [
                r.workload.title,
                str(r.connections),
                f"{ours_rate:,.0f}",
                f"{their_rate:,.0f}",
                _x(ratio(ours_rate, their_rate)),
                _us(ours_p50),
                _us(their_p50),
                _x(ratio(ours_p50, their_p50)),
                _us(ours_p99),
                _us(their_p99),
                _x(ratio(ours_p99, their_p99)),
                str(failures),
            ]
        )
    header = [
        "Route",
        "Connections",
        "pgrest req/s",
        "baseline req/s",
        "req/s ratio",
        "pgrest p50",
        "baseline p50",
        "p50 ratio",
        "pgrest p99",
        "baseline p99",
        "p99 ratio",
        "failed requests",
    ]
    return [
        "",
        "## B3 HTTP (wrk on 127.0.0.1)",
        "",
        "`pgrest serve --config FILE` (uvicorn + uvloop + httptools, pgrest's ASGI app, psycopg-pool "
        "with pgrest's runner: one libpq pipeline batch per request, named prepared statements per "
        "connection; db-tx-end = commit-allow-override) against a hand-written app "
        "(benchmarks/b3_baseline_app.py: uvicorn + uvloop + httptools, Starlette, psycopg-pool, each "
        "request `conn.transaction()` + `SET LOCAL ROLE web_anon` + the statement pgrest emits with "
        "`prepare=True`; the insert rolled back). One worker each, pools of the same size, no "
        "request logging. Routes: single row, two-level embed, 100-row page, insert "
        "(return=representation, tx=rollback), RPC (POST /rpc/search_films). `wrk -t1 --latency`; "
        f"{len(results[0].pgrest) if results else 0} repeats per cell, the servers alternating. "
        "Latencies in µs.",
        "",
        *_table(header, rows),
    ]


def _b4_section(series: list[Series]) -> list[str]:
    lines = [
        "",
        "## B4 scale (embedding depth and width)",
        "",
        "Translation (parse → render) of `t0?select=id,name,t1(id,name,t2(…))` (depth, each level a "
        "to-many lateral subquery) and `hub?select=id,name,c1(id,name),…` (width) over generated "
        "schemas. Size = embeds + 1; the exponent k fits y ∝ size^k by log-log least squares.",
    ]
    for s in series:
        rows = [
            [str(knob), str(p.size), _us(p.stats.median_us), _us(p.stats.p99_us), str(p.sql_length)]
            for knob, p in s.points
        ]
        sizes = [float(p.size) for _, p in s.points]
        times = [p.stats.median_us for _, p in s.points]
        per_level = _slope(sizes, times)
        lines += [
            "",
            f"**{s.name}**: time exponent **{s.time_exponent:.2f}**, SQL length exponent "
            f"{s.length_exponent:.2f}, about {per_level:.0f} µs per extra level.",
            "",
            *_table([s.name, "size", "p50 µs", "p99 µs", "SQL chars"], rows),
        ]
    return lines


def _slope(xs: list[float], ys: list[float]) -> float:
    """Ordinary least-squares slope of y on x."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def render(run: Run) -> str:
    lines = _header(run) + _targets_section(run)
    if run.b1 is not None:
        lines += _b1_section(run.b1)
    if run.b2 is not None:
        lines += _b2_section(run.b2)
    if run.b2 is not None:
        lines += _stages_section(run.b2, run.b3)
    if run.b3_profile is not None:
        lines += _b3_profile_section(run.b3_profile)
    if run.b3 is not None:
        lines += _b3_section(run.b3)
    if run.b4 is not None:
        lines += _b4_section(run.b4)
    if run.b5 is not None:
        lines += b5_section(run.b5)
    if run.b6 is not None:
        lines += b6_section(run.b6)
    if run.b7 is not None:
        lines += b7_section(run.b7)
    if run.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in run.notes)]
    return "\n".join(lines) + "\n"
