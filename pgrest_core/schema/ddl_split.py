"""Splitting SQL script text into statements, the way psql does, without parsing them.

A `;` ends a statement only outside quotes, comments and parentheses. Quotes are PostgreSQL's:
'strings' (with '' inside), E'escape strings' (with backslash escapes), "identifiers" and
dollar quotes ($$…$$, $tag$…$tag$) that hold function bodies and DO blocks. Comments are `--`
to the end of the line and nestable /* … */. psql meta-commands (a line starting with a
backslash, e.g. `\\set`) are not SQL: they are returned apart so the reader can report them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement's text (comments kept, the final `;` dropped) and the line it starts on."""

    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Script:
    statements: tuple[Statement, ...]
    meta_commands: tuple[Statement, ...]  # psql backslash lines, not SQL


def _skip_quoted(text: str, start: int, quote: str, backslashes: bool) -> int:
    """The index after the quote closing the one at `start` (or the end of the text)."""
    index = start + 1
    while index < len(text):
        char = text[index]
        if backslashes and char == "\\":
            index += 2
            continue
        if char == quote:
            if index + 1 < len(text) and text[index + 1] == quote:  # '' or "" inside
                index += 2
                continue
            return index + 1
        index += 1
    return len(text)


def _skip_block_comment(text: str, start: int) -> int:
    depth, index = 0, start
    while index < len(text):
        pair = text[index : index + 2]
        if pair == "/*":
            depth, index = depth + 1, index + 2
        elif pair == "*/":
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(text)


def _is_escape_string(text: str, quote_at: int) -> bool:
    """Whether the ' at `quote_at` opens E'…' (an E not ending a longer word)."""
    if quote_at == 0 or text[quote_at - 1] not in "eE":
        return False
    return quote_at < 2 or not (text[quote_at - 2].isalnum() or text[quote_at - 2] in "_$")


def _skip_token(text: str, index: int) -> int:
    """The index after the quoted string, comment or dollar quote at `index`, else index + 1."""
    char, pair = text[index], text[index : index + 2]
    if pair == "--":
        end = text.find("\n", index)
        return len(text) if end < 0 else end
    if pair == "/*":
        return _skip_block_comment(text, index)
    if char == "'":
        return _skip_quoted(text, index, "'", _is_escape_string(text, index))
    if char == '"':
        return _skip_quoted(text, index, '"', False)
    if char == "$" and not (index and (text[index - 1].isalnum() or text[index - 1] == "_")):
        tag = _DOLLAR_TAG.match(text, index)
        if tag is not None:
            end = text.find(tag.group(), tag.end())
            return len(text) if end < 0 else end + len(tag.group())
    return index + 1


def _at_line_start(text: str, index: int) -> bool:
    line_start = text.rfind("\n", 0, index) + 1
    return not text[line_start:index].strip()


def split_script(text: str) -> Script:
    """The statements of a script, in order; blank statements (only comments) are left out."""
    statements: list[Statement] = []
    meta: list[Statement] = []
    start, index, depth = 0, 0, 0

    def finish(end: int) -> None:
        chunk = text[start:end]
        if _has_code(chunk):
            lead = len(chunk) - len(chunk.lstrip())
            line = text.count("\n", 0, start + lead) + 1
            statements.append(Statement(chunk.strip(), line))

    while index < len(text):
        char = text[index]
        if char == "\\" and depth == 0 and _at_line_start(text, index):
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            finish(index)
            meta.append(Statement(text[index:end].strip(), text.count("\n", 0, index) + 1))
            start = index = end
            continue
        if char in "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == ";" and depth == 0:
            finish(index)
            start = index = index + 1
            continue
        index = _skip_token(text, index)
    finish(len(text))
    return Script(tuple(statements), tuple(meta))


def strip_comments(text: str) -> str:
    """`text` with its comments replaced by a space (quoted text kept as is)."""
    out: list[str] = []
    index = 0
    while index < len(text):
        end = _skip_token(text, index)
        chunk = text[index:end]
        out.append(" " if chunk.startswith(("--", "/*")) else chunk)
        index = end
    return "".join(out)


def _has_code(chunk: str) -> bool:
    return bool(strip_comments(chunk).strip())
