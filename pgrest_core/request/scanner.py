"""The shared lexical layer of the query-string grammars, and Parsec-style error messages.

Every grammar (select, filters, logic trees, order, tree paths) is a hand-written recursive
descent over a `str` with an index. This module holds what they share: the cursor, names,
quoted values, JSON paths, and the failure type that turns into PostgREST's PGRST100 error.

PostgREST parses with Parsec, so its messages read
`"failed to parse order (id.ac)" (line 1, column 4)` / `unexpected "c" expecting "asc", …`.
The happy path here records nothing; a failure site builds its "expecting" list only when it
fails, from what the parser knows at that point (the cursor remembers where the last name and
JSON path ended, because Parsec would still have accepted more of them there).
"""

from __future__ import annotations

from pgrest_core.ast import Field, JsonStep
from pgrest_core.errors import ApiRequestError, parse_error

# Parsec labels, as PostgREST writes them.
FIELD_NAME = "field name (* or [a..z0..9_$])"
JSON_KEY = "any non reserved character different from: .,>()"
DELIMITER = "delimiter (.)"
END = "end of input"
LETTER_OR_DIGIT = ("letter", "digit")
NAME_TAIL = ("letter", "digit", '"-"')  # an unquoted name could go on here
ARROWS = ('"->>"', '"->"')  # a JSON path could go on here
QUOTE_TAIL = ('"\\\\"', '"\\""')  # inside "…": a backslash escape or the closing quote

WHITESPACE = " \t"  # Parsec's `ws` in PostgREST: spaces and tabs only
# Where a JSON array index may end; PostgREST omits ")", we add it so `rel(col->0)` is an index.
_INDEX_ENDS = ("->", "::", ".", ",", ")")
_JSON_KEY_STOP = frozenset("(-:.,>)")
_ASCII_IDENT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ $")


class ParseFailure(Exception):
    """Where parsing stopped, what could have come there and, optionally, what was found.

    `empty` says nothing was consumed before failing (Parsec lets `sepBy` end quietly then).
    """

    def __init__(
        self, pos: int, expected: tuple[str, ...] = (), unexpected: str | None = None, empty: bool = False
    ) -> None:
        super().__init__(pos)
        self.pos = pos
        self.expected = expected
        self.unexpected = unexpected
        self.empty = empty


class Cursor:
    """A position in the text plus the ends of the last name / JSON path (for error messages)."""

    __slots__ = ("text", "pos", "n", "name_end", "key_end", "path_end")

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos
        self.n = len(text)
        self.name_end = -1  # where the last unquoted field name ended
        self.key_end = -1  # where the last unquoted JSON key ended
        self.path_end = -1  # where the last JSON path ended (another arrow could follow)

    def field_tail(self, at: int) -> tuple[str, ...]:
        """What could still extend the field that ended right before `at`."""
        tail: tuple[str, ...] = ()
        if self.name_end == at:
            tail += NAME_TAIL
        if self.key_end == at:
            tail += ('"-"',)
        if self.path_end == at:
            tail += ARROWS
        return tail


# --- characters --------------------------------------------------------------------------------


def is_ident_char(ch: str) -> bool:
    """Parsec's `letter <|> digit <|> oneOf "_ $"` (letters are Unicode, digits ASCII)."""
    return ch.isalpha() or "0" <= ch <= "9" or ch in "_ $"


def ident_run(text: str, i: int, n: int) -> int:
    """The end of the run of identifier characters starting at `i`."""
    while i < n:
        ch = text[i]
        if ch in _ASCII_IDENT or (ch > "\x7f" and ch.isalpha()):
            i += 1
        else:
            break
    return i


def skip_ws(text: str, i: int, n: int) -> int:
    while i < n and (text[i] == " " or text[i] == "\t"):
        i += 1
    return i


def mismatch(text: str, i: int, literal: str) -> str:
    """What Parsec's `string literal` reports as unexpected at `i` (the first differing char)."""
    for k, expected in enumerate(literal):
        if i + k >= len(text):
            return END
        if text[i + k] != expected:
            return show_string(text[i + k])
    return END


def nub(items: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# --- names, quoted values, identifiers, JSON paths ---------------------------------------------


def quoted(c: Cursor) -> str:
    """`"…"` with backslash escapes (`\\x` is `x`); the cursor is on the opening quote."""
    text, n = c.text, c.n
    i = c.pos + 1
    parts: list[str] = []
    while True:
        q = text.find('"', i)
        b = text.find("\\", i, q if q != -1 else n)
        if b != -1:
            parts.append(text[i:b])
            if b + 1 >= n:
                raise ParseFailure(n)
            parts.append(text[b + 1])
            i = b + 2
            continue
        if q == -1:
            raise ParseFailure(n, QUOTE_TAIL)
        parts.append(text[i:q])
        c.pos = q + 1
        return "".join(parts)


def field_name(c: Cursor) -> str:
    """`"quoted"` or identifier runs joined by dashes (a `-` before `>` is an arrow, not a dash)."""
    text, n, i = c.text, c.n, c.pos
    if i < n and text[i] == '"':
        name = quoted(c)
        c.name_end = -1
        return name
    end = ident_run(text, i, n)
    if end == i:
        raise ParseFailure(i, (FIELD_NAME,), empty=True)
    name = text[i:end].strip()
    while end < n and text[end] == "-" and not text.startswith(">", end + 1):
        start = end + 1
        end = ident_run(text, start, n)
        if end == start:
            raise ParseFailure(start, LETTER_OR_DIGIT)
        name += "-" + text[start:end].strip()
    c.pos = c.name_end = end
    return name


def identifier(c: Cursor) -> str:
    """A cast type or a full-text search language: identifier characters, trimmed."""
    end = ident_run(c.text, c.pos, c.n)
    if end == c.pos:
        raise ParseFailure(c.pos, LETTER_OR_DIGIT)
    value = c.text[c.pos : end].strip()
    c.pos = end
    return value


def json_path(c: Cursor) -> tuple[JsonStep, ...]:
    """`->key`, `->>key`, `->0`, `->>-1`, … (none is fine)."""
    text = c.text
    steps: list[JsonStep] = []
    while True:
        i = c.pos
        if text.startswith("->>", i):
            c.pos = i + 3
            steps.append(JsonStep("->>", _json_operand(c)))
        elif text.startswith("->", i):
            c.pos = i + 2
            steps.append(JsonStep("->", _json_operand(c)))
        else:
            c.path_end = i
            return tuple(steps)


def _json_operand(c: Cursor) -> str | int:
    """An array index (`-?digits` then the end of the operand) or else a key."""
    text, n, start = c.text, c.n, c.pos
    i = start + 1 if start < n and text[start] == "-" else start
    digits_end = i
    while digits_end < n and "0" <= text[digits_end] <= "9":
        digits_end += 1
    if digits_end > i:
        if digits_end == n or text.startswith(_INDEX_ENDS, digits_end):
            c.pos = digits_end
            c.key_end = -1
            return int(text[start:digits_end])
        index_failure = ParseFailure(digits_end, ("digit",) + tuple(f'"{e}"' for e in _INDEX_ENDS) + (END,))
    elif i > start:
        index_failure = ParseFailure(i, ("digit",))
    else:
        index_failure = ParseFailure(start, ('"-"', "digit"))
    try:
        return _json_key(c)
    except ParseFailure as key_failure:
        raise furthest(index_failure, key_failure) from None


def _json_key(c: Cursor) -> str:
    text, n, i = c.text, c.n, c.pos
    if i < n and text[i] == '"':
        key = quoted(c)
        c.key_end = -1
        return key
    end = _json_key_run(text, i, n)
    if end == i:
        raise ParseFailure(i, (JSON_KEY,))
    key = text[i:end].strip()
    while end < n and text[end] == "-" and not text.startswith(">", end + 1):
        start = end + 1
        end = _json_key_run(text, start, n)
        if end == start:
            raise ParseFailure(start)
        key += "-" + text[start:end].strip()
    c.pos = c.key_end = end
    return key


def _json_key_run(text: str, i: int, n: int) -> int:
    while i < n and text[i] not in _JSON_KEY_STOP:
        i += 1
    return i


def field(c: Cursor) -> Field:
    """Parsec's `lexeme (name, json path)`: whitespace around is skipped."""
    c.pos = skip_ws(c.text, c.pos, c.n)
    name = field_name(c)
    path = json_path(c)
    c.pos = skip_ws(c.text, c.pos, c.n)
    return Field(name, path)


def furthest(first: ParseFailure, second: ParseFailure) -> ParseFailure:
    """Parsec's merge: the failure that got further wins; at the same place both expectations count."""
    if first.pos > second.pos:
        return first
    if second.pos > first.pos:
        return second
    return ParseFailure(
        first.pos,
        nub(first.expected + second.expected),
        first.unexpected or second.unexpected,
        first.empty and second.empty,
    )


# --- error messages ----------------------------------------------------------------------------

_ASCII_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _show_lit(ch: str) -> str:
    """Haskell's `showLitChar`: how `show` writes one character."""
    code = ord(ch)
    if code > 127:
        return f"\\{code}"
    if code == 127:
        return "\\DEL"
    if ch == "\\":
        return "\\\\"
    if code >= 32:
        return ch
    return _ESCAPES.get(ch) or "\\" + _ASCII_NAMES[code]


def show_string(ch: str) -> str:
    """Haskell's `show [ch]`: `"x"` — how Parsec names an unexpected character."""
    return '"' + ('\\"' if ch == '"' else _show_lit(ch)) + '"'


def show_char(ch: str) -> str:
    """Haskell's `show ch`: `'x'` — how Parsec's `eof` names the character it did not expect."""
    return "'" + ("\\'" if ch == "'" else _show_lit(ch)) + "'"


def line_column(text: str, pos: int) -> tuple[int, int]:
    """Parsec's source position: tabs jump to the next multiple of 8, newlines start a line."""
    line, column = 1, 1
    for ch in text[:pos]:
        if ch == "\n":
            line, column = line + 1, 1
        elif ch == "\t":
            column += 8 - (column - 1) % 8
        else:
            column += 1
    return line, column


def _or_list(items: tuple[str, ...]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def describe(text: str, failure: ParseFailure) -> str:
    """The `details` of the error: `unexpected X expecting A, B or C`."""
    expected = nub(tuple(e for e in failure.expected if e))
    unexpected = failure.unexpected
    if unexpected is None:
        if failure.pos >= len(text):
            unexpected = END
        elif END in expected:  # Parsec's `eof` reports the character the Haskell-Char way
            unexpected = show_char(text[failure.pos])
        else:
            unexpected = show_string(text[failure.pos])
    details = "unexpected " + unexpected
    if expected:
        details += " expecting " + _or_list(expected)
    return details


def to_error(what: str, shown: str, text: str, failure: ParseFailure) -> ApiRequestError:
    """PGRST100 for a failure while parsing `text` (shown in the message as `shown`)."""
    line, column = line_column(text, failure.pos)
    message = f'"failed to parse {what} ({shown})" (line {line}, column {column})'
    return parse_error(message, describe(text, failure))


def reject_nul(what: str, text: str, shown: str | None = None) -> None:
    """PostgreSQL cannot take a NUL character, so a parameter holding one is a parse error."""
    pos = text.find("\x00")
    if pos != -1:
        raise to_error(what, text if shown is None else shown, text, ParseFailure(pos))
