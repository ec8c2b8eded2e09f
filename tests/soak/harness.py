"""The soak harness: one long-lived app answers a long random interleaving of requests, and
every answer must equal the answer a brand-new app gives to that request alone.

    soak = Soak(settings, schema_cache)            # after `await soak.start()`
    report = await soak.run(requests, count=400, rng=random.Random(seed))
    assert not report.mismatches, report.describe()

Requests go straight to the ASGI app as uvicorn would hand them over (raw path, query string,
header bytes), so no HTTP client re-encodes anything and nothing but the app is measured.

Reference answers: each distinct request is answered once by a *fresh* app (its own pool, one
new connection, the same settings and schema cache) before the soak starts. A fresh
connection has no prepared statements, no role, no GUCs and no search_path left by an earlier
request, so any difference on the long-lived app is state leaking across requests.

Some answers legitimately change between two isolated runs (a sequence advanced by an
identity column even under rollback, `now()`, a JWT that expires): when the long-lived app
disagrees with the reference, the request is asked of a second fresh app; if that one also
disagrees with the reference, the request is volatile, not leaky, and is dropped (and counted).
Only what legitimately varies per response is normalised: `Date` and the `Server-Timing`
durations (their phase names stay).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_to_bytes

from pgrest_core.config import Settings
from pgrest_core.schema.model import SchemaCache
from pgrest_server.app import PgrestApp, create_app

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOST = "127.0.0.1:3000"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as sent on the wire: `target` is the raw request-target."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    label: str = field(default="", compare=False)  # where it came from; not part of the request

    def describe(self) -> str:
        lines = [f"{self.method} {self.target}" + (f"   [{self.label}]" if self.label else "")]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body is not None:
            lines.append(self.body[:300].decode("utf-8", "replace"))
        return "\n    ".join(lines)

    def curl(self) -> str:
        """A shell command that sends this request to a server on $B."""
        parts = ["curl -si", "-X", self.method]
        for name, value in self.headers:
            parts += ["-H", _shell_quote(f"{name}: {value}")]
        if self.body is not None:
            parts += ["--data-binary", _shell_quote(self.body.decode("utf-8", "replace"))]
        parts.append(_shell_quote("$B" + self.target).replace("'$B", '"$B"\''))
        return " ".join(parts)


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def outline(self) -> str:
        """Status and error code (from Proxy-Status), to group mismatches by kind."""
        proxy = dict(self.headers).get("proxy-status", "")
        return f"{self.status}" + (f" {proxy.rpartition('error=')[2]}" if "error=" in proxy else "")

    def describe(self) -> str:
        head = ", ".join(f"{name}: {value}" for name, value in self.headers)
        return f"{self.status} [{head}] {self.body[:400].decode('utf-8', 'replace')}"


def normalise(headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers without what legitimately varies: Date dropped, Server-Timing durations dropped."""
    kept: list[tuple[str, str]] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "date":
            continue
        if lower == "server-timing":
            value = ", ".join(part.split(";", 1)[0].strip() for part in value.split(","))
        kept.append((lower, value))
    return tuple(kept)


async def call(app: PgrestApp, request: Request) -> Answer:
    """Send `request` to the ASGI app the way uvicorn does; collect the response."""
    raw_path, _, query = request.target.partition("?")
    headers = [(b"host", HOST.encode())]
    headers += [(name.lower().encode("latin-1"), value.encode("utf-8")) for name, value in request.headers]
    if request.body is not None:
        headers.append((b"content-length", str(len(request.body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
        "raw_path": raw_path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
    }
    pending = [{"type": "http.request", "body": request.body or b"", "more_body": False}]
    status = 0
    response_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.sleep(3600)  # nothing more will come: the app must not wait for it
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", ()):
                response_headers.append((bytes(name).decode("latin-1"), bytes(value).decode("utf-8", "replace")))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return Answer(status, normalise(response_headers), b"".join(chunks))


@dataclass(frozen=True, slots=True)
class Mismatch:
    step: int
    request: Request
    expected: Answer
    actual: Answer
    history: tuple[Request, ...]

    def describe(self) -> str:
        earlier = "\n".join(f"      {r.method} {r.target}" for r in self.history)
        return (
            f"step {self.step}: {self.request.describe()}\n"
            f"  fresh server: {self.expected.describe()}\n"
            f"  soak server:  {self.actual.describe()}\n"
            f"  the soak server's previous requests (oldest first):\n{earlier}\n"
            f"  repro: {self.request.curl()}"
        )


@dataclass(slots=True)
class Report:
    seed: int
    sent: int = 0
    distinct: int = 0
    volatile: list[Request] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self, limit: int = 5) -> str:
        lines = [
            f"seed {self.seed}: {self.sent} requests ({self.distinct} distinct) in {self.seconds:.1f}s, "
            f"{len(self.mismatches)} differed from a fresh server, {len(self.volatile)} volatile (dropped)"
        ]
        kinds: dict[str, int] = {}
        for mismatch in self.mismatches:
            key = f"{mismatch.actual.outline()} instead of {mismatch.expected.outline()}"
            kinds[key] = kinds.get(key, 0) + 1
        lines += [f"  {count}x {kind}" for kind, count in sorted(kinds.items(), key=lambda item: -item[1])[:10]]
        lines += [mismatch.describe() for mismatch in self.mismatches[:limit]]
        lines += ["  volatile: " + r.method + " " + r.target for r in self.volatile[:20]]
        return "\n".join(lines)


class Soak:
    """A long-lived app plus the fresh apps that give the reference answers."""

    def __init__(self, settings: Settings, schema_cache: SchemaCache | None = None) -> None:
        self.settings = settings
        self.app = create_app(settings, schema_cache=schema_cache)
        self.references: dict[Request, Answer] = {}

    async def start(self) -> None:
        await self.app.startup()

    async def stop(self) -> None:
        await self.app.shutdown()

    async def fresh_answer(self, request: Request) -> Answer:
        """The answer of a brand-new app (new pool, new connection) to `request` alone."""
        settings = replace(self.settings, db_pool=1, db_channel_enabled=False)
        app = create_app(settings, schema_cache=self.app.schema_cache)
        await app.startup()
        try:
            return await call(app, request)
        finally:
            await app.shutdown()

    async def record(self, requests: Sequence[Request]) -> None:
        for request in requests:
            if request not in self.references:
                self.references[request] = await self.fresh_answer(request)

    async def run(self, requests: Sequence[Request], count: int, rng: random.Random, seed: int) -> Report:
        """Send `count` requests drawn from `requests` (reads sometimes several at once)."""
        started = time.perf_counter()
        await self.record(requests)
        report = Report(seed=seed, distinct=len(requests))
        pool = list(requests)
        reads = [r for r in pool if r.method in READ_METHODS]
        history: list[Request] = []
        step = 0
        while report.sent < count and pool:
            if reads and rng.random() < 0.2:
                batch = rng.sample(reads, min(len(reads), rng.randint(2, 4)))
            else:
                batch = [rng.choice(pool)]
            answers = await asyncio.gather(*(call(self.app, request) for request in batch))
            for request, answer in zip(batch, answers, strict=True):
                step += 1
                await self._check(step, request, answer, tuple(history[-8:]), report, pool, reads)
            history.extend(batch)
            report.sent += len(batch)
        report.seconds = time.perf_counter() - started
        return report

    async def _check(
        self,
        step: int,
        request: Request,
        answer: Answer,
        history: tuple[Request, ...],
        report: Report,
        pool: list[Request],
        reads: list[Request],
    ) -> None:
        expected = self.references[request]
        if answer == expected or request in report.volatile:
            return
        if await self.fresh_answer(request) != expected:
            report.volatile.append(request)
            for requests in (pool, reads):
                if request in requests:
                    requests.remove(request)
            return
        report.mismatches.append(Mismatch(step, request, expected, answer, history))
