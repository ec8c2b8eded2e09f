"""B7 scale-out: worker processes and a read replica, measured with wrk like B3.

- Workers: req/s of `pgrest serve` at 1 and 2 worker processes (`server-workers`) on the
  single-row and two-level embed routes, next to the hand-written app's own 1 -> 2 gain in the
  same run (uvicorn `--workers`, same pool per process): the yardstick for what the machine's
  cores allow.
- Replica: a read-heavy mix (9 reads of a single row for each rolled-back insert) against the
  primary alone, then with a streaming standby (`db-uri-read-replicas`), with the share of
  transactions each server ran (pg_stat_database's xact_commit + xact_rollback).

Everything runs on one machine: a standby here adds no cores, so the split shows that reads
move to the replica, not what a second machine would gain.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from benchmarks.b3_http import Servers as HttpServers
from benchmarks.b3_http import WrkRun, run_wrk
from benchmarks.workloads import INSERT_RETURNING, SINGLE_ROW, TWO_LEVEL_EMBED, Workload

CONNECTIONS = 10
WORKER_COUNTS = (1, 2)
SCALED = (SINGLE_ROW, TWO_LEVEL_EMBED)


@dataclass(frozen=True, slots=True)
class WorkerScaling:
    workload: Workload
    workers: int
    pgrest: float  # req/s, median of the repeats
    baseline: float


@dataclass(frozen=True, slots=True)
class ReplicaSplit:
    mode: str
    requests_per_s: float
    failures: int
    primary_share: float  # of the transactions the two servers ran during the load
    replica_share: float


@dataclass(frozen=True, slots=True)
class ScaleOut:
    workers: tuple[WorkerScaling, ...]
    replica: tuple[ReplicaSplit, ...]


def _median(runs: list[WrkRun]) -> float:
    return statistics.median(run.requests_per_s for run in runs)


def run_workers(db_uri: str, *, seconds: float, repeats: int) -> list[WorkerScaling]:
    results = []
    for workers in WORKER_COUNTS:
        servers = HttpServers(db_uri, SCALED, workers=workers)
        try:
            servers.start()
            servers.check_same_bodies()
            for workload in SCALED:
                script = servers.script(workload)
                ours: list[WrkRun] = []
                theirs: list[WrkRun] = []
                for _ in range(repeats):  # the two servers take turns
                    ours.append(run_wrk(servers.pgrest_url(workload), CONNECTIONS, seconds, script))
                    theirs.append(run_wrk(servers.baseline_url(workload), CONNECTIONS, seconds, script))
                results.append(WorkerScaling(workload, workers, _median(ours), _median(theirs)))
        finally:
            servers.stop()
    return results


MIX_SCRIPT = """
local n = 0
local body = {body}
request = function()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("POST", "/films", {{["content-type"] = "application/json",
      ["prefer"] = "return=representation, tx=rollback"}}, body)
  end
  return wrk.format("GET", "/films?id=eq.3")
end
"""


def _transactions(uri: str) -> int:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def run_replica(
    db_uri: str, replica_uri: str, admin_uris: tuple[str, str], *, seconds: float
) -> list[ReplicaSplit]:
    """The mix against the primary alone, then with the standby; `admin_uris` count
    transactions on (primary, standby) as a superuser."""
    results = []
    modes = (("primary only", ()), ("primary + 1 replica", (f'db-uri-read-replicas = "{replica_uri}"',)))
    for mode, extra in modes:
        servers = HttpServers(db_uri, (SINGLE_ROW, INSERT_RETURNING), extra_config=extra)
        try:
            servers.start()
            script = servers.directory / "mix.lua"
            body = '"' + (INSERT_RETURNING.body or b"").decode().replace('"', '\\"') + '"'
            script.write_text(MIX_SCRIPT.format(body=body), encoding="utf-8")
            before = [_transactions(uri) for uri in admin_uris]
            run = run_wrk(servers.pgrest_url(SINGLE_ROW).split("?")[0], CONNECTIONS, seconds, Path(script))
            after = [_transactions(uri) for uri in admin_uris]
        finally:
            servers.stop()
        primary, replica = (a - b for a, b in zip(after, before, strict=True))
        total = max(1, primary + replica)
        results.append(ReplicaSplit(mode, run.requests_per_s, run.failures, primary / total, replica / total))
    return results


def section(result: ScaleOut) -> list[str]:
    lines = [
        "",
        "## B7 scale-out: worker processes and a read replica",
        "",
        f"wrk, {CONNECTIONS} connections, both servers with the same pool per process (see B3 for stacks).",
        "",
        "| route | workers | pgrest req/s | hand-written req/s | pgrest 1→2 gain | hand-written 1→2 gain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    by_key = {(r.workload.key, r.workers): r for r in result.workers}
    for row in result.workers:
        one = by_key.get((row.workload.key, 1))
        gain = ours_gain = ""
        if row.workers > 1 and one is not None:
            ours_gain = f"{row.pgrest / one.pgrest - 1:+.0%}"
            gain = f"{row.baseline / one.baseline - 1:+.0%}"
        lines.append(
            f"| {row.workload.title} | {row.workers} | {row.pgrest:,.0f} | {row.baseline:,.0f} | "
            f"{ours_gain} | {gain} |"
        )
    lines += [
        "",
        "Read-heavy mix (9 single-row reads per rolled-back insert), one worker, a streaming standby",
        "on the same machine:",
        "",
        "| setup | req/s | failures | transactions on the primary | on the replica |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result.replica:
        shares = f"{r.primary_share:.0%} | {r.replica_share:.0%}"
        lines.append(f"| {r.mode} | {r.requests_per_s:,.0f} | {r.failures} | {shares} |")
    return lines
