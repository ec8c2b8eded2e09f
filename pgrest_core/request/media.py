"""`Accept` and `Content-Type`: media types with parameters and quality values.

Parsing is lenient, as PostgREST's is: a malformed parameter is dropped and a piece that is
not `type/subtype` is kept whole (in `type`, with an empty subtype) so that a 406 can name it
as the client wrote it. Which media type is produced is decided later, in negotiation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from pgrest_core.ast import MediaType

ANY: Final = MediaType("*", "*")

# RFC 9110 token characters: what a type, subtype or parameter name may be made of.
_TOKEN: Final = r"[!#$%&'*+.^_`|~0-9a-z-]+"
_ESSENCE: Final = re.compile(rf"({_TOKEN})/({_TOKEN})")
_QVALUE: Final = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")


def parse_accept(value: str | None) -> tuple[MediaType, ...]:
    """The media types of an `Accept` header, most preferred first.

    Sorting by q is stable, so equally weighted types keep the client's order. Types with
    `q=0` are "not acceptable" (RFC 9110) and left out. No header, or a blank one, means `*/*`.
    """
    if value is None or not value.strip():
        return (ANY,)
    parsed = (_parse_media(piece, with_quality=True) for piece in _split_unquoted(value, ","))
    acceptable = [media for media in parsed if media is not None and media.q > 0]
    return tuple(sorted(acceptable, key=lambda media: -media.q))


def parse_content_type(value: str | None) -> MediaType | None:
    """The media type of a `Content-Type` header (a `q` there is just another parameter)."""
    if value is None:
        return None
    return _parse_media(value, with_quality=False)


def _parse_media(piece: str, *, with_quality: bool) -> MediaType | None:
    essence, *raw_params = _split_unquoted(piece, ";")
    essence = essence.strip().lower()
    if not essence:
        return None
    params: list[tuple[str, str]] = []
    q = 1.0
    for raw in raw_params:
        param = _parse_param(raw)
        if param is None:
            continue
        name, value = param
        if with_quality and name == "q":
            # A malformed weight is ignored rather than failing the whole header.
            if _QVALUE.fullmatch(value):
                q = float(value)
            continue
        params.append(param)
    match = _ESSENCE.fullmatch(essence)
    if match is None:
        return MediaType(essence, "", tuple(params), q)
    return MediaType(match.group(1), match.group(2), tuple(params), q)


def _parse_param(raw: str) -> tuple[str, str] | None:
    """`name=value` or `name="quoted value"`; None for anything else (e.g. a stray `;`)."""
    name, equals, value = raw.partition("=")
    name = name.strip().lower()
    if not equals or not re.fullmatch(_TOKEN, name):
        return None
    return name, _unquote(value.strip())


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _split_unquoted(text: str, separator: str) -> Iterator[str]:
    """Split on `separator` except inside double quotes (`for="a,b"`), honouring `\\` escapes."""
    if '"' not in text:  # fast path: no quotes, so every separator splits (escapes only count in quotes)
        yield from text.split(separator)
        return
    yield from _split_quote_aware(text, separator)


def _split_quote_aware(text: str, separator: str) -> Iterator[str]:
    """The general split: a character loop that tracks quotes and backslash escapes inside them."""
    start = 0
    in_quotes = False
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif in_quotes and char == "\\":
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == separator and not in_quotes:
            yield text[start:index]
            start = index + 1
    yield text[start:]
