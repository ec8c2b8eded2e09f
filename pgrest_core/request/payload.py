"""The request body: JSON, CSV or an HTML form turned into one JSON text, or a raw body.

One decoder serves writes and function calls alike. The body reaches SQL as a single
parameter, so parsing here only finds out what the SQL's shape depends on: which keys
(columns or arguments) the rows have, whether the body is one object or an array, and, for a
call, the first row's values. Like PostgREST:

* a JSON array's objects must all have the same keys ("All object keys must match"), unless
  `columns=` names the columns, in which case keys are not compared at all;
* a JSON scalar (or `null`) is taken as an empty array: nothing to write;
* CSV has a header line of column names; a `NULL` cell is SQL NULL; lines end with LF, CRLF
  or a bare CR;
* a form (`application/x-www-form-urlencoded`) is one object with text values;
* a call also takes `text/plain`, `text/xml` and `application/octet-stream` bodies whole, and
  an empty JSON body is `{}` (no arguments).

JSON nested deeper than Python's recursion limit is still decoded (see `_shallow_decode`):
like PostgREST, pgrest hands such a value to PostgreSQL, which decides whether it fits.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from pgrest_core.ast import MediaType
from pgrest_core.errors import ApiRequestError, invalid_body, invalid_content_type

PayloadShape = Literal["object", "array"]
# A body a function with a single unnamed parameter of this type takes whole.
RawKind = Literal["text", "xml", "bytea"]

JSON_TYPES = frozenset({"application/json", "*/*"})
CSV_TYPE = "text/csv"
FORM_TYPE = "application/x-www-form-urlencoded"
RAW_TYPES: dict[str, RawKind] = {
    "text/plain": "text",
    "text/xml": "xml",
    "application/octet-stream": "bytea",
}


class RawJson(str):
    """A JSON array or object kept as its text: nested too deep to decode into Python values.

    It is passed on as that text, which PostgreSQL parses (or rejects) itself."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Payload:
    """A parsed body: its JSON text (as sent, for JSON), its keys and its shape.

    `rows_json` is always a JSON array of the rows; `first_json` is the first row (or `{}`),
    what PATCH and PUT write. `first_items` are the first row's (key, value) pairs, what a
    function call takes as arguments: JSON values when `json_values`, else text or None (a
    form keeps a repeated key once per value).
    """

    text: str
    keys: tuple[str, ...]
    shape: PayloadShape
    row_count: int
    first_json: str = "{}"
    first_items: tuple[tuple[str, object], ...] = ()
    json_values: bool = True

    @property
    def rows_json(self) -> str:
        return "[" + self.text + "]" if self.shape == "object" else self.text


@dataclass(frozen=True, slots=True)
class RawBody:
    """A body passed whole to a function's single unnamed parameter."""

    kind: RawKind
    value: str | bytes


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


def parse_call_body(
    body: bytes | None, content_type: MediaType | None, *, columns: tuple[str, ...] | None = None
) -> Payload | RawBody:
    """Parse a function call's body: what `parse_payload` takes, plus raw bodies, and an
    empty JSON body means no arguments."""
    essence = content_type.essence if content_type is not None else "application/json"
    raw_kind = RAW_TYPES.get(essence)
    if raw_kind is not None:
        data = body or b""
        return RawBody(raw_kind, data if raw_kind == "bytea" else data.decode("utf-8", errors="replace"))
    if essence in JSON_TYPES and not body:
        return Payload("{}", columns or (), "object", 1)
    return parse_payload(body, content_type, columns=columns)


def parse_json_payload(body: bytes | None, *, columns: tuple[str, ...] | None = None) -> Payload:
    """A JSON object or array of objects. PGRST102 when empty, invalid, or keys differ."""
    if not body or not body.strip():
        raise empty_or_invalid()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise empty_or_invalid() from None
    try:
        return _json_payload(text, json.loads(text), columns)
    except ValueError:
        raise empty_or_invalid() from None
    except RecursionError:
        # Too deep for the C decoder (or for re-encoding the first row): decode the top levels
        # only; what is deeper stays text for PostgreSQL to parse.
        return _json_payload(text, _shallow_decode(text), columns)


def _json_payload(text: str, value: object, columns: tuple[str, ...] | None) -> Payload:
    if isinstance(value, dict):
        keys = columns if columns is not None else tuple(value)
        return Payload(text, keys, "object", 1, first_json=text, first_items=tuple(value.items()))
    if not isinstance(value, list):
        return Payload("[]", columns or (), "array", 0)
    head = value[0] if value else None
    items = tuple(head.items()) if isinstance(head, dict) else ()
    first = _encode_row(head) if isinstance(head, dict) else "{}"
    # With `columns=` the keys are given: rows are not compared (PostgreSQL rejects non-objects).
    keys = columns if columns is not None else _uniform_keys(value)
    return Payload(text, keys, "array", len(value), first_json=first, first_items=items)


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
    try:
        # newline="" leaves line ends to the csv module: LF, CRLF and a bare CR end a line,
        # while line breaks inside quoted cells are kept.
        lines = [line for line in csv.reader(io.StringIO(text, newline=""), strict=True) if line]
    except csv.Error as error:
        raise invalid_body("Invalid CSV: " + str(error)) from None
    if not lines:
        return Payload("[]", (), "array", 0, json_values=False)
    header, rows = tuple(lines[0]), lines[1:]
    objects: list[dict[str, str | None]] = []
    for line in rows:
        if len(line) != len(header):
            raise invalid_body("All lines must have same number of fields")
        cells = zip(header, line, strict=True)
        objects.append({key: (None if cell == "NULL" else cell) for key, cell in cells})
    first = _dumps(objects[0]) if objects else "{}"
    items = tuple(objects[0].items()) if objects else ()
    return Payload(
        _dumps(objects), header, "array", len(objects), first_json=first, first_items=items, json_values=False
    )


def parse_form_payload(body: bytes) -> Payload:
    """`a=1&b=x+y`: one object whose values are text."""
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    value = dict(pairs)
    text = _dumps(value)
    return Payload(
        text, tuple(value), "object", 1, first_json=text, first_items=tuple(pairs), json_values=False
    )


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _encode_row(row: dict[str, object]) -> str:
    """A row as JSON text; values kept as text (`RawJson`) are written as they came."""
    members = (
        _dumps(key) + ":" + (value if isinstance(value, RawJson) else _dumps(value))
        for key, value in row.items()
    )
    return "{" + ",".join(members) + "}"


# --- JSON too deep for the C decoder ---------------------------------------------------------

_TOKEN = re.compile(
    r"""[ \t\n\r]*(?:
        (?P<punct>[\[\]{},:])
      | (?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")
      | (?P<scalar>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)
    )""",
    re.VERBOSE,
)


@dataclass(slots=True)
class _Open:
    """A container being read: its opening bracket and position, its Python value when it is
    kept (else None: it becomes `RawJson`), and the key its next value goes to."""

    bracket: str
    start: int
    value: list[object] | dict[str, object] | None
    key: str | None = None
    # What may come next: "value", "first" (a value or the close), "key", "first_key", "colon",
    # "more" (a comma or the close).
    expect: str = "first"


def _tokens(text: str) -> Iterator[re.Match[str]]:
    position = 0
    while True:
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position:].strip(" \t\n\r"):
                raise empty_or_invalid()
            return
        yield match
        position = match.end()


def _shallow_decode(text: str) -> object:
    """Decode JSON without recursion, keeping as Python values only the top level and the
    objects of a top-level array (the rows); every container inside them is `RawJson`."""
    stack: list[_Open] = []
    result: list[object] = []  # the top-level value, once read

    def add(value: object) -> None:
        if not stack:
            if result:
                raise empty_or_invalid()
            result.append(value)
            return
        frame = stack[-1]
        if isinstance(frame.value, list):
            frame.value.append(value)
        elif isinstance(frame.value, dict) and frame.key is not None:
            frame.value[frame.key] = value
        frame.expect = "more"

    for match in _tokens(text):
        frame = stack[-1] if stack else None
        token = match.group().lstrip(" \t\n\r")
        kind = match.lastgroup
        if frame is None and result:
            raise empty_or_invalid()
        if frame is not None and frame.expect in ("key", "first_key"):
            if kind == "string":
                frame.key, frame.expect = json.loads(token), "colon"
            elif token == "}" and frame.expect == "first_key":
                _close(stack, text, match.end(), add)
            else:
                raise empty_or_invalid()
        elif frame is not None and frame.expect == "colon":
            if token != ":":
                raise empty_or_invalid()
            frame.expect = "value"
        elif frame is not None and frame.expect == "more":
            if token == ",":
                frame.expect = "key" if frame.bracket == "{" else "value"
            elif token == ("]" if frame.bracket == "[" else "}"):
                _close(stack, text, match.end(), add)
            else:
                raise empty_or_invalid()
        elif token == "]" and frame is not None and frame.expect == "first" and frame.bracket == "[":
            _close(stack, text, match.end(), add)
        elif token in ("[", "{"):
            keep = not stack or (len(stack) == 1 and isinstance(stack[0].value, list) and token == "{")
            container: list[object] | dict[str, object] | None = (
                ([] if token == "[" else {}) if keep else None
            )
            if frame is not None:
                frame.expect = "more"
            stack.append(
                _Open(token, match.end() - 1, container, None, "first" if token == "[" else "first_key")
            )
        elif kind in ("string", "scalar"):
            keep_value = frame is None or frame.value is not None
            add(json.loads(token) if keep_value else None)
        else:
            raise empty_or_invalid()
    if stack or not result:
        raise empty_or_invalid()
    return result[0]


def _close(stack: list[_Open], text: str, end: int, add: Callable[[object], None]) -> None:
    frame = stack.pop()
    parent = stack[-1] if stack else None
    if frame.value is not None:
        add(frame.value)
    elif parent is not None and parent.value is not None:
        add(RawJson(text[frame.start : end]))
    elif parent is not None:
        parent.expect = "more"
