"""Small HTTP helpers shared by the server's modules."""

from __future__ import annotations


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of header `name` (lower-case) in ASGI-decoded `headers`, or None."""
    for key, value in headers:
        if key == name:
            return value
    return None
