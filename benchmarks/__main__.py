"""`python -m benchmarks [--quick] [--only B1,B4] [--output FILE]`: run, then write RESULTS.md.

Starts its own throwaway PostgreSQL for B2 and B3. A benchmark that cannot run here (no
PostgreSQL binaries, no wrk) is skipped with a note in RESULTS.md rather than failing the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    b1_translation,
    b2_runner,
    b3_http,
    b3_profile,
    b4_scale,
    b5_body_memory,
    b6_streaming,
    b7_scale_out,
    database,
    report,
)
from benchmarks.workloads import HTTP_ROUTES, Workload

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ALL_BENCHMARKS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7")


@dataclass(frozen=True, slots=True)
class Budget:
    """How much measuring each benchmark does; --quick keeps the run under 3 minutes on 2 cores."""

    repeats: int
    b1_iterations: int
    b2_iterations: int
    b4_iterations: int
    b3_seconds: float
    b3_workloads: tuple[Workload, ...]
    b3_repeats: int


QUICK = Budget(
    repeats=5,
    b1_iterations=200,
    b2_iterations=100,
    b4_iterations=60,
    b3_seconds=1,
    b3_workloads=HTTP_ROUTES,
    b3_repeats=3,  # 5 routes x 3 connection counts x 2 servers x 3 repeats x 1 s
)
FULL = Budget(
    repeats=7,
    b1_iterations=1000,
    b2_iterations=500,
    b4_iterations=300,
    b3_seconds=5,
    b3_workloads=HTTP_ROUTES,
    b3_repeats=5,
)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (< 3 minutes)")
    parser.add_argument("--only", default=",".join(ALL_BENCHMARKS), help="comma-separated subset, e.g. B1,B4")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write (default {RESULTS})")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _profile_under_load(run: report.Run, db_uri: str, budget: Budget) -> None:
    """B3's server profiled by py-spy, stage by stage (skipped with a note without py-spy)."""
    missing = b3_profile.unavailable()
    if missing:
        run.notes.append(missing)
        return
    _say("B3 per-stage CPU under load (py-spy) …")
    try:
        seconds = max(3.0, budget.b3_seconds)
        run.b3_profile = b3_profile.run(db_uri, seconds=seconds, workloads=budget.b3_workloads)
    except RuntimeError as error:  # e.g. no permission to attach (ptrace)
        run.notes.append(f"B3 profile skipped: {error}")


def run_database_benchmarks(run: report.Run, selected: set[str], budget: Budget) -> None:
    """B2, B3 and B5 against one throwaway PostgreSQL."""
    from pgrest_server.postgres import PostgresUnavailable

    try:
        db = database.start()
    except PostgresUnavailable as error:
        run.notes.append(f"B2, B3 and B5 skipped: {error}")
        return
    run.postgres_version = db.server_version
    try:
        if "B2" in selected:
            _say("B2 runner overhead …")
            run.b2 = b2_runner.run(db.uri, repeats=budget.repeats, iterations=budget.b2_iterations)
        if "B3" in selected:
            if b3_http.wrk_path() is None:
                run.notes.append("B3 skipped: `wrk` is not installed (Debian: `apt-get install wrk`).")
            else:
                _say("B3 HTTP under wrk …")
                run.b3 = b3_http.run(
                    db.uri,
                    repeats=budget.b3_repeats,
                    seconds=budget.b3_seconds,
                    workloads=budget.b3_workloads,
                )
                _profile_under_load(run, db.uri, budget)
        if "B5" in selected:
            unavailable = b5_body_memory.available()
            if unavailable:
                run.notes.append(unavailable)
            else:
                _say("B5 request-body memory …")
                run.b5 = b5_body_memory.run(db.uri)
        if "B7" in selected:
            if b3_http.wrk_path() is None:
                run.notes.append("B7 skipped: `wrk` is not installed (Debian: `apt-get install wrk`).")
            else:
                _say("B7 scale-out (workers, read replica) …")
                run.b7 = _scale_out(db, budget)
    finally:
        db.stop()


def _scale_out(db: database.BenchDatabase, budget: Budget) -> b7_scale_out.ScaleOut:
    workers = b7_scale_out.run_workers(db.uri, seconds=budget.b3_seconds, repeats=budget.b3_repeats)
    standby = db.postgres.start_standby()
    try:
        replica_uri = standby.uri(database.DATABASE)
        replica = b7_scale_out.run_replica(
            db.uri, replica_uri, (db.uri, replica_uri), seconds=budget.b3_seconds * 2
        )
    finally:
        standby.stop()
    return b7_scale_out.ScaleOut(tuple(workers), tuple(replica))


def _notes(run: report.Run) -> None:
    missing = [r.case.title for r in run.b1 or [] if r.pgrest is None]
    missing += [r.workload.title + " (B2)" for r in run.b2 or [] if r.pgrest is None]
    if missing:
        run.notes.append(
            "Not implemented yet in pgrest (PGRST127), kept in the corpus and measured once they compile: "
            + ", ".join(missing)
            + "."
        )
    differing = [r.case.key for r in run.b1 or [] if r.floor_same_sql is False]
    if differing:
        run.notes.append(
            "The f-string floor no longer emits pgrest's exact statement for: "
            + ", ".join(differing)
            + " — update benchmarks/baselines.py so the comparison stays like for like."
        )


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    selected = {name.strip().upper() for name in args.only.split(",") if name.strip()}
    unknown = selected - set(ALL_BENCHMARKS)
    if unknown:
        _say(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(ALL_BENCHMARKS)}")
        return 2
    budget = QUICK if args.quick else FULL
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    if selected != set(ALL_BENCHMARKS):
        command += " --only " + ",".join(sorted(selected))
    started = time.perf_counter()
    run = report.Run(command=command, started_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    failed = False
    try:
        if "B1" in selected:
            _say("B1 translation …")
            run.b1 = b1_translation.run(repeats=budget.repeats, iterations=budget.b1_iterations)
        if "B4" in selected:
            _say("B4 scale …")
            run.b4 = b4_scale.run(repeats=budget.repeats, iterations=budget.b4_iterations)
        if "B6" in selected:
            _say("B6 streaming …")
            run.b6 = b6_streaming.run()
        if selected & {"B2", "B3", "B5", "B7"}:
            run_database_benchmarks(run, selected, budget)
    except Exception:
        # Keep what was measured: a broken benchmark is reported, the others still get written.
        failed = True
        run.notes.append("The run stopped with an error:\n\n```\n" + traceback.format_exc() + "```")
        traceback.print_exc()
    _notes(run)
    load = os.getloadavg()
    run.notes.append(
        f"Machine load average at the end of the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"(1/5/15 min) on {os.cpu_count()} cores. When it exceeds the core count, other processes "
        "share the CPU: absolute times are inflated, but ratios between contenders of one run "
        "(measured interleaved) remain meaningful."
    )
    run.wall_seconds = time.perf_counter() - started
    args.output.write_text(report.render(run), encoding="utf-8")
    _say(f"wrote {args.output} in {run.wall_seconds:.0f} s")
    for target in report.targets(run):
        _say(f"  {target.name}: {target.measured} (goal {target.goal})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
