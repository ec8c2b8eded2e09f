"""`pgrest serve` as a subprocess on a free loopback port, for tools that speak HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def pgrest_serve(args: list[str], port: int, env: Mapping[str, str] | None = None,
                 startup_timeout: float = 90.0) -> Iterator[str]:
    """Run `pgrest serve ARGS` until `GET /` answers 200; yield its base URL; SIGTERM it after."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    command = [sys.executable, "-c", "from pgrest_cli.main import cli; cli()", "serve", *args]
    # A file, not a pipe: a server that logs every request would block on a full pipe.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"pgrest serve exited {process.returncode}: {log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(base + "/", timeout=5) as response:
                    if response.status == 200:
                        break
            except (OSError, urllib.error.HTTPError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgrest serve did not answer on {base} within {startup_timeout}s")
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()
