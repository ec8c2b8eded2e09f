"""Small HTTP helpers shared by the server's modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

# The ASGI interface's types.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of header `name` (lower-case) in ASGI-decoded `headers`, or None."""
    for key, value in headers:
        if key == name:
            return value
    return None
