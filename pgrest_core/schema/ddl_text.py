"""Text helpers shared by the DDL statement readers: names, quoted strings, top-level splits,
and sqlglot parsing with the rewrites it needs for PostgreSQL's syntax."""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp

from pgrest_core.schema.ddl_objects import ident
from pgrest_core.schema.ddl_types import fold_identifier

NAME = r'(?:"(?:[^"]|"")*"|[^\s."(),;]+)'
QUALIFIED = rf"(?:{NAME}\s*\.\s*)?{NAME}"
STRING = r"(?:[eE]?'(?:[^']|'')*'|\$(?P<tag>[^$]*)\$.*?\$(?P=tag)\$)"

NOW_MARKER = "pgrst_ddl_now"
# Rewrites outside quotes, for what sqlglot does not parse or would lose: now() (read as
# CURRENT_TIMESTAMP, which pg_get_expr prints differently), arrays of oid/reg* types, `bit
# varying`, and clauses that do not change the cache (DEFERRABLE, WITH [NO] DATA).
_REWRITES = re.compile(
    r"""('(?:[^']|'')*'|"(?:[^"]|"")*")"""
    r"|(?P<now>\bnow\s*\(\s*\))"
    r"|\b(?P<oid>oid|regclass|regproc|regprocedure|regtype|regrole|regnamespace)(?P<array>\s*\[)"
    r"|(?P<varbit>\bbit\s+varying\b)"
    r"|(?P<drop>\b(?:not\s+)?deferrable\b|\binitially\s+(?:deferred|immediate)\b|\bwith\s+(?:no\s+)?data\s*$)",
    re.IGNORECASE,
)


def _rewrite(match: re.Match[str]) -> str:
    if match.group("now"):
        return f"{NOW_MARKER}()"
    if match.group("oid"):
        return f"pg_catalog.{match.group('oid')}{match.group('array')}"
    if match.group("varbit"):
        return "varbit"
    if match.group("drop"):
        return " "
    return match.group()


def parse(code: str) -> exp.Expression:
    code = _REWRITES.sub(_rewrite, code)
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its "falling back to a Command" notices: we warn ourselves
    try:
        tree = sqlglot.parse_one(code, read="postgres")
    finally:
        logger.setLevel(level)
    if isinstance(tree, exp.Command) or not isinstance(tree, exp.Expression):
        raise ValueError("sqlglot cannot parse this statement")
    return tree


def split_qualified(text: str) -> tuple[str | None, str]:
    parts = [fold_identifier(p) for p in re.findall(NAME, text.strip())]
    parts = [p for p in parts if p != "."]
    if len(parts) == 1:
        return None, parts[0]
    return parts[0], parts[1]


def unquote_string(text: str) -> str:
    text = text.strip()
    if text.startswith("$"):
        tag_end = text.index("$", 1) + 1
        return text[tag_end:-tag_end]
    if text[0] in "eE":
        body = text[2:-1].replace("''", "'")
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return text[1:-1].replace("''", "'")


def split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, current, index = [], 0, "", 0
    while index < len(text):
        char = text[index]
        if char in "'\"$":
            match = re.match(STRING if char != '"' else r'"(?:[^"]|"")*"', text[index:], re.DOTALL)
            if match:
                current += match.group()
                index += len(match.group())
                continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
        index += 1
    if current.strip():
        parts.append(current)
    return [part.strip() for part in parts]


def balanced(text: str, open_at: int) -> int:
    """The index of the `)` closing the `(` at `open_at`."""
    depth, index = 0, open_at
    while index < len(text):
        char = text[index]
        if char in "'\"$":
            match = re.match(STRING if char != '"' else r'"(?:[^"]|"")*"', text[index:], re.DOTALL)
            if match:
                index += len(match.group())
                continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError("unbalanced parentheses")


def ident_of(node: object) -> str:
    """An identifier node's name as PostgreSQL stores it."""
    return ident(node)
