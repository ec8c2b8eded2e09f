"""Applying one DDL statement to the objects `pgrest_core.schema.ddl` is building.

Tables, views and ALTER TABLE are parsed with sqlglot (postgres dialect) in ddl_tables and
ddl_views; function headers, aggregates, casts, domains, types, comments and SET search_path with
small parsers (ddl_functions and here), because sqlglot does not parse all of PostgreSQL's syntax
for them (dollar-quoted bodies, SETOF, DEFAULT).
"""

from __future__ import annotations

import re

from sqlglot.errors import SqlglotError

from pgrest_core.schema import ddl_objects as model
from pgrest_core.schema.ddl_functions import (
    create_aggregate,
    create_cast,
    create_function,
    function_arg,
    input_signature,
)
from pgrest_core.schema.ddl_objects import Reader
from pgrest_core.schema.ddl_split import strip_comments
from pgrest_core.schema.ddl_tables import (
    alter_table,
    create_domain,
    create_schema,
    create_table,
    create_type,
    rename,
)
from pgrest_core.schema.ddl_text import (
    NAME,
    STRING,
    balanced,
    split_qualified,
    split_top_level,
    unquote_string,
)
from pgrest_core.schema.ddl_types import TypeSyntaxError, fold_identifier
from pgrest_core.schema.ddl_views import create_rule, create_trigger, create_view

_CREATE = re.compile(
    r"^create\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unlogged|recursive|global|local)\s+)*"
    r"(table|view|materialized\s+view|foreign\s+table|function|schema|type|domain|"
    r"(?:constraint\s+)?trigger|rule|aggregate|cast)\b",
    re.IGNORECASE,
)


def apply(reader: Reader, text: str, line: int) -> None:
    code = strip_comments(text).strip()
    head = code[:40].lower()
    try:
        match = _CREATE.match(code)
        if match:
            kind = " ".join(match.group(1).lower().split())
            _CREATORS[kind](reader, code)
        elif head.startswith("alter table") and re.search(r"\srename\s", code, re.I):
            rename(reader, code)
        elif head.startswith("alter table"):
            alter_table(reader, code)
        elif re.match(
            r"^alter\s+(view|materialized\s+view|foreign\s+table)\s.*\sset\s+schema\s", code, re.I | re.S
        ):
            alter_table(reader, code)
        elif re.match(r"^alter\s+view\s", head):  # ALTER VIEW … ALTER COLUMN … SET DEFAULT
            alter_table(reader, "ALTER TABLE " + re.sub(r"^alter\s+view\s", "", code, flags=re.I))
        elif head.startswith("comment on"):
            _comment(reader, code)
        elif re.match(r"^set\s+(session\s+|local\s+)?search_path\b", head):
            _set_search_path(reader, code)
        elif re.match(r"^select\s+pg_catalog\.set_config\s*\(\s*'search_path'", code, re.IGNORECASE):
            _set_config_search_path(reader, code)
        elif head.startswith("drop "):
            _drop(reader, code)
    except (SqlglotError, TypeSyntaxError, model.DdlError, ValueError, IndexError, KeyError) as error:
        reader.warn(line, text, f"skipped ({type(error).__name__}: {_first_line(error)})")
    except Exception as error:  # noqa: BLE001 - a migration the reader misreads must not stop the others
        reader.warn(line, text, f"skipped, not understood ({type(error).__name__}: {_first_line(error)})")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else ""


# -- comments, search_path, drops -------------------------------------------------------------

_COMMENT = re.compile(
    rf"^comment\s+on\s+(table|view|materialized\s+view|foreign\s+table|column|function|schema)\s+"
    rf"(.*?)\s+is\s+(null|{STRING})\s*$",
    re.I | re.S,
)


def _comment(reader: Reader, code: str) -> None:
    match = _COMMENT.match(code)
    if match is None:
        return  # comments on other objects do not reach the cache
    kind = " ".join(match.group(1).lower().split())
    target = match.group(2).strip()
    text = None if match.group(3).lower() == "null" else unquote_string(match.group(3))
    if kind == "schema":
        name = fold_identifier(target)
        if name in reader.schemas:
            reader.schemas[name] = text
    elif kind == "column":
        parts = [fold_identifier(p) for p in re.findall(NAME, target) if p != "."]
        rel = reader.find_relation(parts[0] if len(parts) == 3 else None, parts[-2])
        if rel is None:
            raise model.DdlError(f'relation "{parts[-2]}" does not exist')
        rel.column(parts[-1]).description = text
    elif kind == "function":
        _comment_function(reader, target, text)
    else:
        rel = reader.find_relation(*split_qualified(target))
        if rel is None:
            raise model.DdlError(f'relation "{target}" does not exist')
        rel.description = text


def _comment_function(reader: Reader, target: str, text: str | None) -> None:
    paren = target.find("(")
    schema, name = split_qualified(target[:paren] if paren >= 0 else target)
    candidates = [
        fn for fn in reader.functions
        if fn.name == name and (fn.schema == schema if schema else fn.schema in reader.search_path)
    ]  # fmt: skip
    if paren >= 0 and len(candidates) > 1:
        wanted = tuple(
            reader.display(function_arg(reader, arg).type, typmod_given=False)
            for arg in split_top_level(target[paren + 1 : balanced(target, paren)])
            if arg and not re.match(r"out\s", arg, re.I)
        )
        candidates = [fn for fn in candidates if input_signature(reader, fn) == wanted]
    if candidates:
        candidates[0].description = text


def _set_search_path(reader: Reader, code: str) -> None:
    value = re.split(r"\bto\b|=", code, maxsplit=1, flags=re.I)[1]
    reader.search_path = [_unquote_if_string(p) for p in split_top_level(value.strip()) if p]


def _set_config_search_path(reader: Reader, code: str) -> None:
    match = re.search(r"set_config\s*\(\s*'search_path'\s*,\s*'((?:[^']|'')*)'", code, re.I)
    if match:
        reader.search_path = [
            _unquote_if_string(p) for p in match.group(1).replace("''", "'").split(",") if p.strip()
        ]


def _unquote_if_string(text: str) -> str:
    text = text.strip()
    if text.startswith("'"):
        text = unquote_string(text)
    return fold_identifier(text.strip())


def _drop(reader: Reader, code: str) -> None:
    match = re.match(
        r"^drop\s+(table|view|materialized\s+view|foreign\s+table|function|schema|type|domain|aggregate)\s+(?:if\s+exists\s+)?(.*?)(\s+cascade|\s+restrict)?\s*$",
        code, re.I | re.S,
    )  # fmt: skip
    if match is None:
        return
    kind = " ".join(match.group(1).lower().split())
    for target in split_top_level(match.group(2)):
        _drop_one(reader, kind, target)


def _drop_one(reader: Reader, kind: str, target: str) -> None:
    if kind == "schema":
        name = fold_identifier(target)
        reader.schemas.pop(name, None)
        reader.relations = {k: v for k, v in reader.relations.items() if k[0] != name}
        reader.functions = [fn for fn in reader.functions if fn.schema != name]
        reader.types = {k: v for k, v in reader.types.items() if k[0] != name}
        return
    if kind == "aggregate":
        paren = target.find("(")
        schema, name = split_qualified(target[:paren] if paren >= 0 else target)
        reader.aggregates = [
            a for a in reader.aggregates if not (a.name == name and (schema is None or a.schema == schema))
        ]
        return
    if kind == "function":
        paren = target.find("(")
        schema, name = split_qualified(target[:paren] if paren >= 0 else target)
        reader.functions = [
            fn for fn in reader.functions if not (fn.name == name and (schema is None or fn.schema == schema))
        ]
        return
    schema, name = split_qualified(target)
    if kind in ("type", "domain"):
        for path in [schema] if schema else reader.search_path:
            reader.types.pop((path, name), None)
        return
    rel = reader.find_relation(schema, name)
    if rel is not None:
        del reader.relations[(rel.schema, rel.name)]
        reader.types.pop((rel.schema, rel.name), None)
        reader.constraints = [c for c in reader.constraints if rel.oid not in (c.relid, c.frelid)]


_CREATORS = {
    "table": create_table,
    "foreign table": create_table,
    "view": create_view,
    "materialized view": create_view,
    "function": create_function,
    "schema": create_schema,
    "type": create_type,
    "domain": create_domain,
    "trigger": create_trigger,
    "constraint trigger": create_trigger,
    "rule": create_rule,
    "aggregate": create_aggregate,
    "cast": create_cast,
}
