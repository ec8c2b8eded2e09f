"""`translate`: a request line like "GET /films?year=gt.2000" to its one SQL statement.

The whole pure pipeline in one call, for the CLI and for anyone who wants the SQL without
running it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pgrest_core.errors import parse_error
from pgrest_core.fragment import Fragment
from pgrest_core.pipeline import Options, prepare
from pgrest_core.request.api_request import parse_request
from pgrest_core.schema.model import SchemaCache

_FRAMING = " \t\r\n"


def split_request_line(line: str) -> tuple[str, str, str]:
    """ "GET /films?year=gt.2000" -> ("GET", "/films", "year=gt.2000")."""
    # Only ASCII whitespace frames a request line; anything else belongs to the values.
    method, _, target = line.strip(_FRAMING).partition(" ")
    if not method or not target.strip(_FRAMING):
        raise parse_error("A request looks like 'GET /table?query'", f"got {line!r}")
    path, _, query = target.strip(_FRAMING).partition("?")
    return method, path, query


def translate(
    line: str,
    cache: SchemaCache | None,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    schemas: Sequence[str] = ("public",),
    aggregates_enabled: bool = True,
    max_rows: int | None = None,
) -> Fragment:
    """The statement (text + parameters) that `line` compiles to."""
    method, path, query = split_request_line(line)
    request = parse_request(method, path, query, headers, body, schemas=schemas)
    options = Options(schemas=tuple(schemas), max_rows=max_rows, aggregates_enabled=aggregates_enabled)
    return prepare(request, cache, options).statement
