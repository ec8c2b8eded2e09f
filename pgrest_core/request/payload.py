"""The request body of a write: JSON, CSV or an HTML form, turned into one JSON text.

The body reaches SQL as a single parameter, so parsing here only finds out what the SQL's shape
depends on: which keys (columns) the rows have, and whether the body is one object or an array.
Like PostgREST:

* a JSON array's objects must all have the same keys ("All object keys must match"), unless
  `columns=` names the columns, in which case keys are not compared at all;
* a JSON scalar (or `null`) is taken as an empty array: nothing to write;
* CSV has a header line of column names; a `NULL` cell is SQL NULL;
* a form (`application/x-www-form-urlencoded`) is one object with text values.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from pgrest_core.ast import MediaType
from pgrest_core.errors import ApiRequestError, invalid_body, invalid_content_type

PayloadShape = Literal["object", "array"]

JSON_TYPES = frozenset({"application/json", "*/*"})
CSV_TYPE = "text/csv"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Payload:
    """A parsed body: its JSON text (as sent, for JSON), its keys and its shape.

    `rows_json` is always a JSON array of the rows; `first_json` is the first row (or `{}`),
    what PATCH and PUT write.
    """

    text: str
    keys: tuple[str, ...]
    shape: PayloadShape
    row_count: int
    first_json: str = "{}"

    @property
    def rows_json(self) -> str:
        return "[" + self.text + "]" if self.shape == "object" else self.text


def empty_or_invalid() -> ApiRequestError:
    return invalid_body("Empty or invalid json")


def keys_must_match() -> ApiRequestError:
    return invalid_body("All object keys must match")


def parse_payload(
    body: bytes | None, content_type: MediaType | None, *, columns: tuple[str, ...] | None = None
) -> Payload:
    """Parse a write's body by its Content-Type (JSON when none is given)."""
    essence = content_type.essence if content_type is not None else "application/json"
    if essence in JSON_TYPES:
        return parse_json_payload(body, columns=columns)
    if essence == CSV_TYPE:
        return parse_csv_payload(body or b"")
    if essence == FORM_TYPE:
        return parse_form_payload(body or b"")
    raise invalid_content_type(str(content_type))


def parse_json_payload(body: bytes | None, *, columns: tuple[str, ...] | None = None) -> Payload:
    """A JSON object or array of objects. PGRST102 when empty, invalid, or keys differ."""
    if not body or not body.strip():
        raise empty_or_invalid()
    try:
        text = body.decode("utf-8")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise empty_or_invalid() from None
    if isinstance(value, dict):
        keys = columns if columns is not None else tuple(value)
        return Payload(text, keys, "object", 1, first_json=text)
    if not isinstance(value, list):
        return Payload("[]", columns or (), "array", 0)
    first = _dumps(value[0]) if value else "{}"
    if columns is not None:
        # With `columns=` the keys are given: rows are not compared (PostgreSQL rejects non-objects).
        return Payload(text, columns, "array", len(value), first_json=first)
    return Payload(text, _uniform_keys(value), "array", len(value), first_json=first)


def _uniform_keys(rows: list[object]) -> tuple[str, ...]:
    if not rows:
        return ()
    head = rows[0]
    if not isinstance(head, dict):
        raise keys_must_match()
    keys = tuple(head)
    expected = set(keys)
    for row in rows[1:]:
        if not isinstance(row, dict) or set(row) != expected:
            raise keys_must_match()
    return keys


def parse_csv_payload(body: bytes) -> Payload:
    """A header line naming the columns, then one row per line; `NULL` cells are nulls."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_body("Empty or invalid json") from None
    reader = csv.reader(io.StringIO(text))
    lines = [line for line in reader if line]
    if not lines:
        return Payload("[]", (), "array", 0)
    header, rows = tuple(lines[0]), lines[1:]
    objects: list[dict[str, str | None]] = []
    for line in rows:
        if len(line) != len(header):
            raise invalid_body("All lines must have same number of fields")
        cells = zip(header, line, strict=True)
        objects.append({key: (None if cell == "NULL" else cell) for key, cell in cells})
    first = _dumps(objects[0]) if objects else "{}"
    return Payload(_dumps(objects), header, "array", len(objects), first_json=first)


def parse_form_payload(body: bytes) -> Payload:
    """`a=1&b=x+y`: one object whose values are text."""
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    value = dict(pairs)
    text = _dumps(value)
    return Payload(text, tuple(value), "object", 1, first_json=text)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
