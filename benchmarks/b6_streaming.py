"""B6 streaming: peak RSS and time to first byte of `pgrest serve` reading 10^5 … 10^6 rows,
answered whole (json_agg, the default) and streamed (server-stream-responses).

Each measurement starts a fresh server process, so its peak RSS (VmHWM in /proc) belongs to
that one request. The growth exponent is the slope of log(peak RSS) over log(rows): about 1
when memory follows the response, about 0 when it stays flat.

    python -m benchmarks.b6_streaming [--rows 100000,300000,1000000]
"""

from __future__ import annotations

import argparse
import http.client
import math
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROW_COUNTS = (100_000, 300_000, 1_000_000)
TABLE_SQL = """
CREATE ROLE bench_stream_anon NOLOGIN;
CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO bench_stream_anon;
CREATE TABLE bench.big (id int PRIMARY KEY, name text, value double precision, created timestamptz);
INSERT INTO bench.big
  SELECT i, 'row number ' || i, i / 7.0, '2026-01-01'::timestamptz + i * interval '1 second'
  FROM generate_series(1, {rows}) AS i;
GRANT SELECT ON bench.big TO bench_stream_anon;
ANALYZE bench.big;
"""


@dataclass(frozen=True, slots=True)
class Measurement:
    streamed: bool
    rows: int
    peak_rss_mib: float
    first_byte_ms: float
    total_ms: float
    body_mib: float


@dataclass(frozen=True, slots=True)
class StreamingResult:
    measurements: tuple[Measurement, ...]

    def exponent(self, streamed: bool) -> float:
        """Slope of log(peak RSS) against log(rows) between the smallest and largest reads."""
        runs = sorted((m for m in self.measurements if m.streamed == streamed), key=lambda m: m.rows)
        low, high = runs[0], runs[-1]
        return math.log(high.peak_rss_mib / low.peak_rss_mib) / math.log(high.rows / low.rows)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("pgrest serve exited during startup")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/big?limit=1")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("pgrest serve did not become ready")


def measure(uri: str, rows: int, *, streamed: bool) -> Measurement:
    """One fresh server, one read of `rows` rows, its peak RSS afterwards."""
    port = _free_port()
    config = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    with config:
        config.write(
            f'db-uri = "{uri}"\ndb-schemas = "bench"\ndb-anon-role = "bench_stream_anon"\n'
            f'server-host = "127.0.0.1"\nserver-port = {port}\nlog-level = "crit"\n'
            f"server-stream-responses = {'true' if streamed else 'false'}\n"
        )
    argv = [sys.executable, "-m", "pgrest_cli", "serve", "--config", config.name]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port, process)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        started = time.perf_counter()
        connection.request("GET", f"/big?order=id&limit={rows}")
        response = connection.getresponse()
        first = response.read(1)
        first_byte = time.perf_counter() - started
        size = len(first)
        while chunk := response.read(1 << 16):
            size += len(chunk)
        total = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        peak = _peak_rss_mib(process.pid)
        return Measurement(streamed, rows, peak, first_byte * 1000, total * 1000, size / 2**20)
    finally:
        process.terminate()
        process.wait(timeout=30)
        Path(config.name).unlink(missing_ok=True)


def run(row_counts: tuple[int, ...] = ROW_COUNTS) -> StreamingResult:
    from pgrest_server.postgres import TempPostgres

    with TempPostgres() as postgres:
        uri = postgres.create_database("pgrest_bench_stream", sql_text=TABLE_SQL.format(rows=max(row_counts)))
        measurements = [
            measure(uri, rows, streamed=streamed) for streamed in (False, True) for rows in row_counts
        ]
    return StreamingResult(tuple(measurements))


def render(result: StreamingResult) -> str:
    return "\n".join(section(result))


def section(result: StreamingResult) -> list[str]:
    """The RESULTS.md section."""
    lines = [
        "",
        "## B6 streaming: constant memory for large reads",
        "",
        "`GET /big?order=id&limit=N` (4 columns), one fresh `pgrest serve` per read; peak RSS is the",
        "server process's VmHWM after the read. Growth exponent: slope of log(peak RSS) over log(rows).",
        "",
        "| mode | rows | body MiB | peak RSS MiB | first byte ms | total ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in result.measurements:
        mode = "streamed" if m.streamed else "whole (default)"
        lines.append(
            f"| {mode} | {m.rows:,} | {m.body_mib:.1f} | {m.peak_rss_mib:.0f} | {m.first_byte_ms:.0f} | "
            f"{m.total_ms:.0f} |"
        )
    lines += [
        "",
        f"Growth exponent of peak RSS, 10^5 → 10^6 rows: whole **{result.exponent(False):.2f}**, "
        f"streamed **{result.exponent(True):.2f}** (goal: flat, about 0).",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.b6_streaming")
    parser.add_argument("--rows", default=",".join(str(n) for n in ROW_COUNTS))
    args = parser.parse_args(argv)
    result = run(tuple(int(n) for n in args.rows.split(",")))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
