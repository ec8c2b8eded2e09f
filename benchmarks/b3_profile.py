"""Where `pgrest serve` spends its CPU under load, stage by stage (B3's routes, py-spy).

B2's per-stage table times each stage in a hot loop of its own. Inside a real server the same
code runs between the event loop, the HTTP parser and libpq. This profile measures it there:
py-spy samples the running `pgrest serve` while wrk loads one route, and every sample is charged
to the stage of the deepest pgrest, driver or HTTP-server frame on its stack (stdlib frames, JSON
encoding for example, count for the stage that called them). CPU µs per request = samples ×
sampling interval / requests served while sampling.

Needs `py-spy` (pip) and permission to attach to a process (ptrace); skipped with a note
otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.b3_http import Servers, run_wrk
from benchmarks.workloads import HTTP_ROUTES, Workload

RATE_HZ = 1000
CONNECTIONS = 10

# (stage, what a frame's "function (file:line)" text contains), checked in this order.
STAGE_FRAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("auth", ("pgrest_core/auth.py",)),
    ("transaction settings (prelude)", ("pgrest_core/sql/prelude.py", "transaction_for (")),
    ("response", ("pgrest_core/response.py", "respond (pgrest_core/pipeline.py", "Responder.")),
    ("parse (or raw shape)", ("pgrest_core/request/",)),
    (
        "plan + compile (or compiled-shape cache)",
        ("pgrest_core/plan/", "pgrest_core/sql/", "pgrest_core/shape_cache.py", "pgrest_core/pipeline.py"),
    ),
    ("runner + psycopg + libpq (incl. socket I/O)", ("pgrest_core/runner/", "psycopg")),
    # Below the app (its `send` writes to the socket) and around it: the ASGI server, and the
    # event loop that pgrest_server/run.py starts (its C code has no Python frame of its own).
    (
        "HTTP server and event loop (uvicorn, httptools, uvloop; incl. socket I/O)",
        ("uvicorn/", "httptools", "uvloop", "pgrest_server/run.py"),
    ),
    ("server app (pgrest_server)", ("pgrest_server/",)),
)
# Whatever has no frame of the above (asyncio's own loop, if uvloop is missing).
HTTP_STAGE = "the rest"
STAGES = (*(name for name, _ in STAGE_FRAMES), HTTP_STAGE)


@dataclass(frozen=True, slots=True)
class RouteProfile:
    workload: Workload
    requests_per_s: float
    cpu_us: dict[str, float]  # per stage, CPU µs per request

    @property
    def total_us(self) -> float:
        return sum(self.cpu_us.values())


def unavailable() -> str | None:
    """Why the profile cannot run here, or None."""
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        return "B3 profile skipped: `py-spy` is not installed (`pip install py-spy`)."
    return None


def stage_of(frames: list[str]) -> str:
    """The stage a sampled stack (root first) is charged to."""
    for frame in reversed(frames):
        for stage, markers in STAGE_FRAMES:
            if any(marker in frame for marker in markers):
                return stage
    return HTTP_STAGE


def attribute(raw_output: str, requests: float, rate_hz: int = RATE_HZ) -> dict[str, float]:
    """py-spy's `--format raw` output (one `frame;frame;… count` line per stack) as CPU µs per
    request and stage."""
    samples: Counter[str] = Counter()
    for line in raw_output.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[stage_of(stack.split(";"))] += int(count)
    per_sample_us = 1e6 / rate_hz
    return {stage: samples[stage] * per_sample_us / requests for stage in STAGES}


def _py_spy() -> str:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else "py-spy"


def profile_route(servers: Servers, pid: int, workload: Workload, seconds: float) -> RouteProfile:
    script = servers.script(workload)
    url = servers.pgrest_url(workload)
    run_wrk(url, CONNECTIONS, 1, script)  # warm: pools, prepared statements, templates
    with tempfile.TemporaryDirectory(prefix="pgrest-b3-profile-") as directory:
        output = Path(directory) / "samples.raw"
        spy = subprocess.Popen(
            [_py_spy(), "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--format", "raw",
             "--output", str(output), "--duration", str(int(seconds) + 2), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)  # py-spy attaches
        load = run_wrk(url, CONNECTIONS, seconds, script)
        _out, err = spy.communicate(timeout=seconds + 60)
        if spy.returncode != 0 or not output.exists():
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace').strip()}")
        requests = load.requests_per_s * seconds
        return RouteProfile(workload, load.requests_per_s, attribute(output.read_text(), requests))


def run(db_uri: str, *, seconds: float, workloads: tuple[Workload, ...] = HTTP_ROUTES) -> list[RouteProfile]:
    servers = Servers(db_uri, workloads)
    try:
        servers.start()
        pid = servers.processes[0].pid  # pgrest serve (one worker: the process itself)
        return [profile_route(servers, pid, workload, seconds) for workload in workloads]
    finally:
        servers.stop()

