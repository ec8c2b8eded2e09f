"""Sending a streamed read (pgrest_core/stream.py) over ASGI: status and headers first, then the
rows in batches as the runner fetches them, with the pooled connection held until the end.

The first batch is fetched before the status is sent, so that errors raised when the query
starts (permissions, bad casts in filters) are still ordinary error responses.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

from pgrest_core.prepared import Response
from pgrest_core.response import with_response_gucs
from pgrest_core.runner.execute import Runner, Transaction
from pgrest_core.runner.stream import open_stream
from pgrest_core.stream import StreamedRead
from pgrest_server.http import Send

log = logging.getLogger("pgrest")


@dataclass(slots=True)
class StreamedResponse:
    """Status and headers known; the body still to be read from the database."""

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: AsyncGenerator[bytes, None]


async def start_stream(
    runner: Runner, streamed: StreamedRead, transaction: Transaction, *, authenticated: bool
) -> StreamedResponse:
    """Open the stream and read its first batch; PgrstErrors up to here are normal answers."""
    stack = AsyncExitStack()
    try:
        stream = await stack.enter_async_context(
            open_stream(runner, streamed.rows, transaction, authenticated=authenticated)
        )
        batches = stream.batches()
        first: list[str] = await anext(batches, [])
    except BaseException:
        await stack.aclose()
        raise
    headers = (("Content-Type", streamed.content_type), *streamed.headers)
    head = with_response_gucs(Response(200, headers, b""), stream.response_headers, stream.response_status)
    return StreamedResponse(head.status, head.headers, _chunks(streamed, first, batches, stack))


async def _chunks(
    streamed: StreamedRead, first: list[str], batches: AsyncIterator[list[str]], stack: AsyncExitStack
) -> AsyncGenerator[bytes, None]:
    """The body: opening, the rows, closing. The transaction ends when the last batch is read,
    or when the client goes away (the generator is closed)."""
    async with stack:
        yield streamed.opening + streamed.frame(first, first=True)
        written = bool(first)
        async for rows in batches:
            yield streamed.frame(rows, first=not written)
            written = written or bool(rows)
        yield streamed.closing


async def send_streamed(send: Send, response: StreamedResponse, *, head: bool) -> None:
    """ASGI: the start message without Content-Length (the server sends it chunked), then the
    body in pieces. An error after the first byte closes the stream before the closing bytes."""
    headers = [(name.encode("latin-1", "replace"), value.encode()) for name, value in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        if not head:
            async for chunk in response.chunks:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except Exception:
        log.exception("a streamed response failed after its first byte; the body is cut short")
        raise
    finally:
        await response.chunks.aclose()
    await send({"type": "http.response.body", "body": b"", "more_body": False})
