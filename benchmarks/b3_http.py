"""B3 HTTP: `pgrest serve` against a hand-written Starlette + psycopg-pool app, loaded by wrk.

Both servers run as subprocesses under uvicorn with the same settings (one worker, 127.0.0.1,
no access log, uvloop + httptools, pools of the same size) against the same database, and
answer the same request with the same SQL, status and body (checked before loading; an
insert's generated id left out). wrk runs for a bounded
time at each connection count, the two servers taking turns in every repeat.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.b2_runner import ANON_ROLE, emitted_statement
from benchmarks.workloads import HTTP_ROUTES, Workload
from pgrest_core.schema.snapshot import load_demo

REPO_ROOT = Path(__file__).resolve().parent.parent
POOL_SIZE = 10
CONNECTIONS = (1, 10, 50)


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests_per_s: float
    p50_us: float
    p99_us: float
    failures: int  # non-2xx answers and socket errors


@dataclass(frozen=True, slots=True)
class LoadResult:
    workload: Workload
    connections: int
    pgrest: tuple[WrkRun, ...]
    baseline: tuple[WrkRun, ...]


def wrk_path() -> str | None:
    return shutil.which("wrk")


_UNITS = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def _duration_us(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkRun:
    """Requests/sec, the 50% and 99% latencies and the failures from `wrk --latency` output."""
    rate = re.search(r"Requests/sec:\s*([\d.]+)", output)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    if not (rate and p50 and p99):
        raise ValueError(f"could not read wrk output:\n{output}")
    failures = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    if non_2xx:
        failures += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        failures += sum(int(n) for n in socket_errors.groups())
    return WrkRun(float(rate.group(1)), _duration_us(p50.group(1)), _duration_us(p99.group(1)), failures)


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here (ASCII)


def wrk_script(workload: Workload) -> str:
    """A wrk Lua script sending the workload's method, headers (same-name ones joined) and body."""
    headers: dict[str, list[str]] = {}
    for name, value in workload.headers:
        headers.setdefault(name, []).append(value)
    lines = [f"wrk.method = {_lua_string(workload.method)}"]
    lines += [
        f"wrk.headers[{_lua_string(name)}] = {_lua_string(', '.join(values))}"
        for name, values in headers.items()
    ]
    if workload.body is not None:
        lines.append(f"wrk.body = {_lua_string(workload.body.decode())}")
    return "\n".join(lines) + "\n"


def run_wrk(url: str, connections: int, seconds: float, script: Path | None = None) -> WrkRun:
    argv = [
        "wrk",
        *(["-s", str(script)] if script is not None else []),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk(done.stdout)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        body: bytes = response.read()
        return body


def _send(url: str, workload: Workload) -> tuple[int, bytes]:
    headers: dict[str, str] = {}
    for name, value in workload.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    request = urllib.request.Request(url, data=workload.body, headers=headers, method=workload.method)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        body: bytes = response.read()
        return response.status, body


def _comparable(body: bytes) -> object:
    """A body as compared between the servers: generated keys (`id` of an insert) left out."""
    document = json.loads(body)
    if isinstance(document, list):
        return [
            {k: v for k, v in row.items() if k != "id"} if isinstance(row, dict) else row for row in document
        ]
    return document


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError):
            _get(url)
            return
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not ready after {timeout}s:\n{log.read_text(errors='replace')}")


class Servers:
    """The two servers as subprocesses, started together and always stopped."""

    def __init__(
        self,
        db_uri: str,
        workloads: tuple[Workload, ...],
        *,
        workers: int = 1,
        extra_config: tuple[str, ...] = (),
    ) -> None:
        self.db_uri = db_uri
        self.workloads = workloads
        self.workers = workers  # processes per server, each with its own pool (B7)
        self.extra_config = extra_config  # more pgrest config lines (B7: read replicas)
        self.directory = Path(tempfile.mkdtemp(prefix="pgrest-b3-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.pgrest_port = _free_port()
        self.baseline_port = _free_port()

    def pgrest_url(self, workload: Workload) -> str:
        return f"http://127.0.0.1:{self.pgrest_port}{workload.target}"

    def baseline_url(self, workload: Workload) -> str:
        return f"http://127.0.0.1:{self.baseline_port}/{workload.key}" + (
            f"?{workload.query}" if workload.query else ""
        )

    def _spawn(self, argv: list[str], name: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.directory / f"{name}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        self.processes.append(process)
        return process, log

    def start(self) -> None:
        config = self.directory / "pgrest.conf"
        config.write_text(
            "\n".join(
                [
                    f'db-uri = "{self.db_uri}"',
                    'db-schemas = "public"',
                    f'db-anon-role = "{ANON_ROLE}"',
                    f"db-pool = {POOL_SIZE}",
                    'server-host = "127.0.0.1"',
                    f"server-port = {self.pgrest_port}",
                    'log-level = "crit"',  # neither server logs requests
                    'db-tx-end = "commit-allow-override"',  # the insert route asks for tx=rollback
                    f"server-workers = {self.workers}",
                    *self.extra_config,
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        cache = load_demo()
        statements = {w.key: emitted_statement(w, cache)[0].render("psycopg") for w in self.workloads}
        statements_file = self.directory / "statements.json"
        statements_file.write_text(json.dumps(statements), encoding="utf-8")
        pgrest = self._spawn([sys.executable, "-m", "pgrest_cli", "serve", "--config", str(config)], "pgrest")
        baseline = self._spawn(
            [
                sys.executable,
                "-m",
                "benchmarks.b3_baseline_app",
                "--statements",
                str(statements_file),
                "--db-uri",
                self.db_uri,
                "--port",
                str(self.baseline_port),
                "--pool",
                str(POOL_SIZE),
                "--workers",
                str(self.workers),
            ],
            "baseline",
        )
        _wait_ready(f"http://127.0.0.1:{self.pgrest_port}/films?limit=1", *pgrest)
        _wait_ready(f"http://127.0.0.1:{self.baseline_port}/single_row?id=eq.1", *baseline)

    def check_same_bodies(self) -> None:
        for workload in self.workloads:
            ours, theirs = (
                _send(self.pgrest_url(workload), workload),
                _send(self.baseline_url(workload), workload),
            )
            if ours[0] != theirs[0] or _comparable(ours[1]) != _comparable(theirs[1]):
                raise RuntimeError(f"{workload.key}: the two servers answer differently: {ours} vs {theirs}")

    def script(self, workload: Workload) -> Path:
        path = self.directory / f"{workload.key}.lua"
        path.write_text(wrk_script(workload), encoding="utf-8")
        return path

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.directory, ignore_errors=True)


def run(
    db_uri: str,
    *,
    repeats: int,
    seconds: float,
    workloads: tuple[Workload, ...] = HTTP_ROUTES,
    connections: tuple[int, ...] = CONNECTIONS,
) -> list[LoadResult]:
    servers = Servers(db_uri, workloads)
    try:
        servers.start()
        servers.check_same_bodies()
        results = []
        for workload in workloads:
            urls = {"pgrest": servers.pgrest_url(workload), "baseline": servers.baseline_url(workload)}
            script = servers.script(workload)
            for url in urls.values():  # warm up pools, prepared statements and caches
                run_wrk(url, max(connections), 1, script)
            for count in connections:
                runs: dict[str, list[WrkRun]] = {"pgrest": [], "baseline": []}
                for repeat in range(repeats):
                    order = ["pgrest", "baseline"] if repeat % 2 == 0 else ["baseline", "pgrest"]
                    for name in order:
                        runs[name].append(run_wrk(urls[name], count, seconds, script))
                results.append(LoadResult(workload, count, tuple(runs["pgrest"]), tuple(runs["baseline"])))
        return results
    finally:
        servers.stop()


def median_of(runs: tuple[WrkRun, ...], field: str) -> float:
    """The median over repeats of one WrkRun field ("requests_per_s", "p50_us", "p99_us")."""
    return float(statistics.median(float(getattr(run, field)) for run in runs))
