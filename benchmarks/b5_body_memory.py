"""B5 request bodies: how much memory `pgrest serve` takes for one large POST.

`pgrest serve` runs as a subprocess on the benchmark database. For each body shape and size,
its peak resident set size is reset (`/proc/PID/clear_refs`, Linux), the body is POSTed, and
the growth of the peak over the resident size just before is divided by the body's size: the
multiple of the body the server needed at its peak. Bodies go up to just under the default
server-max-body-size (10 MiB); one more request declares 100 MiB and must be refused with 413
before anything is read, so its growth must stay near zero.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pgrest_core.config import DEFAULT_MAX_BODY_SIZE

REPO_ROOT = Path(__file__).resolve().parents[1]
ANON_ROLE = "web_anon"
MIB = 1024 * 1024
SIZES = (1 * MIB, 4 * MIB, DEFAULT_MAX_BODY_SIZE - 64 * 1024)
REFUSED_SIZE = 100 * MIB


@dataclass(frozen=True, slots=True)
class BodyMemory:
    shape: str
    body_bytes: int
    status: int
    peak_growth_bytes: int  # peak RSS during the request minus RSS before it (worst repeat)
    seconds: float

    @property
    def multiple(self) -> float:
        return self.peak_growth_bytes / self.body_bytes


def one_large_value(size: int) -> bytes:
    """One row whose text column holds almost all of the body."""
    return json.dumps({"first_name": "x" * (size - 40), "last_name": "y"}).encode()


def many_small_rows(size: int) -> bytes:
    """A bulk insert of ~60-byte rows."""
    row = json.dumps({"first_name": "Ada", "last_name": "L" * 24}).encode()
    count = max(1, size // (len(row) + 1))
    return b"[" + b",".join([row] * count) + b"]"


SHAPES = (("one large value", one_large_value), ("many small rows", many_small_rows))


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid`, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak RSS (VmHWM) to the current RSS


def available() -> str | None:
    """None when B5 can run here, else why not."""
    if not Path(f"/proc/{os.getpid()}/clear_refs").exists():
        return "B5 skipped: needs Linux's /proc/PID/clear_refs to reset a process's peak RSS."
    return None


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "Prefer": "return=minimal"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def _declare_only(port: int, size: int) -> int:
    """Send only the head of a POST declaring `size` bytes; the status the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            f"POST /actors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode())
        reply = sock.recv(4096).decode("latin-1")
    return int(reply.split()[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(db_uri: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    config = directory / "pgrest.conf"
    config.write_text(
        f'db-uri = "{db_uri}"\ndb-schemas = "public"\ndb-anon-role = "{ANON_ROLE}"\n'
        f'server-host = "127.0.0.1"\nserver-port = {port}\nlog-level = "crit"\n',
        encoding="utf-8",
    )
    paths = [str(REPO_ROOT), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    log = open(directory / "pgrest.log", "wb")  # noqa: SIM115 - closed with the process below
    process = subprocess.Popen(
        [sys.executable, "-m", "pgrest_cli", "serve", "--config", str(config)],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((directory / "pgrest.log").read_text(errors="replace"))
        with contextlib.suppress(OSError), urllib.request.urlopen(  # noqa: S310 - loopback only
            f"http://127.0.0.1:{port}/actors?limit=1", timeout=5
        ):
            return process, port
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("pgrest serve did not become ready")


def _measure(pid: int, send: Callable[[], int]) -> tuple[int, int, float]:
    """(status, peak growth in bytes, seconds) for one request sent by `send()`."""
    _reset_peak(pid)
    before = _status(pid)["VmRSS"]
    started = time.perf_counter()
    status = send()
    seconds = time.perf_counter() - started
    time.sleep(0.05)  # let the server finish the request's bookkeeping
    return status, _status(pid)["VmHWM"] - before, seconds


def run(db_uri: str, repeats: int = 3) -> list[BodyMemory]:
    directory = Path(tempfile.mkdtemp(prefix="pgrest-b5-"))
    process, port = _start_server(db_uri, directory)
    url = f"http://127.0.0.1:{port}/actors"
    results: list[BodyMemory] = []
    try:
        _post(url, many_small_rows(64 * 1024))  # warm-up: imports, pool, prepared statements
        for shape, build in SHAPES:
            for size in SIZES:
                body = build(size)
                samples = [_measure(process.pid, partial(_post, url, body)) for _ in range(repeats)]
                status = samples[-1][0]
                growth = max(sample[1] for sample in samples)
                seconds = sorted(sample[2] for sample in samples)[len(samples) // 2]
                results.append(BodyMemory(shape, len(body), status, growth, seconds))
        status, growth, seconds = _measure(process.pid, partial(_declare_only, port, REFUSED_SIZE))
        results.append(BodyMemory("declared 100 MiB (refused)", REFUSED_SIZE, status, growth, seconds))
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        if process.poll() is None:
            process.kill()
    return results


def section(results: list[BodyMemory]) -> list[str]:
    """The RESULTS.md section."""
    lines = [
        "",
        "## B5 request bodies (peak memory of `pgrest serve`)",
        "",
        "Peak RSS growth while one POST /actors (`Prefer: return=minimal`) is answered, worst of the",
        "repeats, as a multiple of the body. The limit is server-max-body-size (default 10 MiB).",
        "",
        "| Body | Size | Status | Peak growth | × body | Time |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        lines.append(
            f"| {result.shape} | {result.body_bytes / MIB:.1f} MiB | {result.status} "
            f"| {result.peak_growth_bytes / MIB:.1f} MiB | {result.multiple:.2f} | {result.seconds:.2f} s |"
        )
    return lines
