"""Functions (arguments, results, volatility), aggregates (media type handlers) and casts (data
representations).
"""

from __future__ import annotations

import re

from pgrest_core.schema import ddl_objects as model
from pgrest_core.schema.ddl_objects import Reader
from pgrest_core.schema.ddl_text import (
    NAME,
    QUALIFIED,
    STRING,
    balanced,
    split_qualified,
    split_top_level,
)
from pgrest_core.schema.ddl_types import TypeSyntaxError, fold_identifier, parse_type

# -- functions --------------------------------------------------------------------------------

_FUNCTION_HEAD = re.compile(rf"^create\s+(?:or\s+replace\s+)?function\s+({QUALIFIED})\s*\(", re.I)
_RETURNS_END = re.compile(
    r"\s(language|as|immutable|stable|volatile|strict|called|returns\s+null|security|external|cost|rows|"
    r"set|parallel|leakproof|not\s+leakproof|window|transform|support|begin\s+atomic|return)\b",
    re.I,
)


def create_function(reader: Reader, code: str) -> None:
    head = _FUNCTION_HEAD.match(code)
    if head is None:
        raise ValueError("unreadable CREATE FUNCTION")
    schema, name = split_qualified(head.group(1))
    schema = schema or reader.creation_schema()
    close = balanced(code, head.end() - 1)
    args = [function_arg(reader, text) for text in split_top_level(code[head.end() : close]) if text]
    rest = code[close + 1 :]
    returns, set_of = _returns(reader, rest, args)
    bodyless = re.sub(STRING, "''", rest, flags=re.DOTALL)
    volatility = re.search(r"\b(immutable|stable|volatile)\b", bodyless, re.I)
    rows = re.search(r"\brows\s+([\d.]+)", bodyless, re.I)
    settings = tuple(_set_clauses(rest))
    function = model.FunctionDef(
        schema=schema,
        name=name,
        args=args,
        returns=returns,
        set_of=set_of,
        volatility=volatility.group(1)[0].lower() if volatility else "v",
        rows=float(rows.group(1)) if rows else (1000.0 if set_of else 0.0),
        settings=settings,
    )
    signature = input_signature(reader, function)
    reader.functions = [
        fn for fn in reader.functions
        if not (fn.schema == schema and fn.name == name and input_signature(reader, fn) == signature)
    ]  # fmt: skip
    reader.functions.append(function)


# `SET name = value` / `SET name TO value`: the value is a quoted string, or words and numbers
# separated by commas (search_path); `FROM CURRENT` takes a value only the database knows.
_SET_CLAUSE = re.compile(
    r"\bset\s+([a-z_][\w.]*)\s*(?:=|\bto\b)\s*((?:'(?:[^']|'')*'|[\w.$\"-]+)(?:\s*,\s*(?:'(?:[^']|'')*'|[\w.$\"-]+))*)",
    re.I,
)


def _set_clauses(rest: str) -> list[str]:
    """The function's SET clauses as `name=value`, as PostgreSQL stores them in proconfig."""
    head = rest
    body = re.search(r"\bas\s+(\$[\w]*\$|')", rest, re.I)
    if body is not None:  # the options before the body, and those after it
        end = balanced_body_end(rest, body.start(1))
        head = rest[: body.start()] + " " + rest[end:]
    clauses = []
    for match in _SET_CLAUSE.finditer(head):
        values = [_setting_value(v.strip()) for v in re.findall(r"'(?:[^']|'')*'|[^,]+", match.group(2))]
        clauses.append(f"{match.group(1).lower()}={', '.join(values)}")
    return clauses


def _setting_value(text: str) -> str:
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    return text


def balanced_body_end(text: str, start: int) -> int:
    """The end of the quoted function body starting at `start` ($tag$…$tag$ or '…')."""
    if text[start] == "'":
        match = re.compile(r"'(?:[^']|'')*'").match(text, start)
    else:
        tag = re.match(r"\$[\w]*\$", text[start:])
        assert tag is not None
        close = text.find(tag.group(0), start + len(tag.group(0)))
        return len(text) if close < 0 else close + len(tag.group(0))
    return match.end() if match else len(text)


def input_signature(reader: Reader, fn: model.FunctionDef) -> tuple[str, ...]:
    return tuple(reader.display(a.type, typmod_given=False) for a in fn.args if a.mode in ("i", "b", "v"))


_MODES = {"in": "i", "out": "o", "inout": "b", "variadic": "v"}


def function_arg(reader: Reader, text: str) -> model.ArgDef:
    default = re.search(r"\s(default\b|=)", text, re.I)
    body = text[: default.start()] if default else text
    words = body.split(None, 1)
    mode = "i"
    if words and words[0].lower() in _MODES and len(words) > 1:
        mode, body = _MODES[words[0].lower()], words[1]
    name, type_text = "", body.strip()
    if not _is_bare_type(type_text):
        first = re.match(NAME, type_text)
        if first is None:
            raise ValueError(f"unreadable argument {text!r}")
        name, type_text = fold_identifier(first.group()), type_text[first.end() :].strip()
    return model.ArgDef(name, reader.type_text(type_text), mode, default is not None)


def _is_bare_type(text: str) -> bool:
    """Whether an argument is only a type (no name): `integer`, `double precision`, `s.t[]`."""
    stripped = re.sub(r"\([^()]*\)|\[\s*\d*\s*\]", "", text).strip()
    if re.fullmatch(QUALIFIED, stripped):
        return True
    try:
        written = parse_type(text)
    except TypeSyntaxError:
        return False
    return written.builtin and " " in stripped


def _returns(reader: Reader, rest: str, args: list[model.ArgDef]) -> tuple[model.ResolvedType | None, bool]:
    match = re.search(r"\breturns\s+", rest, re.I)
    outputs = [arg for arg in args if arg.mode in ("o", "b")]
    if match is None:  # only OUT parameters: one gives its type, several a record
        if len(outputs) == 1:
            return outputs[0].type, False
        return None, False
    after = rest[match.end() :]
    table = re.match(r"table\s*\(", after, re.I)
    if table:
        close = balanced(after, table.end() - 1)
        for text in split_top_level(after[table.end() : close]):
            column = function_arg(reader, text)
            args.append(model.ArgDef(column.name, column.type, "t"))
        columns = [arg for arg in args if arg.mode == "t"]
        return (columns[0].type if len(columns) == 1 else None), True
    end = _RETURNS_END.search(after)
    type_text = (after[: end.start()] if end else after).strip()
    set_of = bool(re.match(r"setof\s", type_text, re.I))
    if set_of:
        type_text = type_text[5:].strip()
    written = parse_type(type_text)
    if written.builtin and written.name == "record" and not written.array:
        if len(outputs) == 1 and not set_of:
            return outputs[0].type, False
        return None, set_of
    return reader.resolve_type(written), set_of


# -- aggregates and casts (media type handlers and data representations) ----------------------

_AGGREGATE_HEAD = re.compile(rf"^create\s+(?:or\s+replace\s+)?aggregate\s+({QUALIFIED})\s*\(", re.I)


def create_aggregate(reader: Reader, code: str) -> None:
    head = _AGGREGATE_HEAD.match(code)
    if head is None:
        raise ValueError("unreadable CREATE AGGREGATE")
    schema, name = split_qualified(head.group(1))
    close = balanced(code, head.end() - 1)
    arguments = [a for a in split_top_level(code[head.end() : close]) if a and a != "*"]
    open_options = code.index("(", close + 1)
    options: dict[str, str] = {}
    for option in split_top_level(code[open_options + 1 : balanced(code, open_options)]):
        key, _, value = option.partition("=")
        options[key.strip().lower()] = value.strip()
    returns = reader.type_text(options["stype"])
    if options.get("finalfunc"):
        final = reader.find_function(*split_qualified(options["finalfunc"]))
        if final is None or final.returns is None:
            raise model.DdlError(f"function {options['finalfunc']} does not exist")
        returns = final.returns
    argument = function_arg(reader, arguments[0]).type if len(arguments) == 1 else None
    schema = schema or reader.creation_schema()
    reader.aggregates = [a for a in reader.aggregates if not (a.schema == schema and a.name == name)]
    reader.aggregates.append(model.AggregateDef(schema, name, argument, returns))


_CAST = re.compile(
    rf"^create\s+cast\s*\((.+?)\s+as\s+(.+?)\)\s*with\s+function\s+({QUALIFIED})\s*(\(|$)", re.I | re.S
)


def create_cast(reader: Reader, code: str) -> None:
    match = _CAST.match(code)
    if match is None:
        return  # WITHOUT FUNCTION or WITH INOUT: no function to call
    schema, name = split_qualified(match.group(3))
    function = reader.find_function(schema, name)
    if function is None:
        raise model.DdlError(f"function {match.group(3)} does not exist")
    cast = model.CastDef(
        reader.type_text(match.group(1)), reader.type_text(match.group(2)), function.schema, name
    )
    reader.casts.append(cast)
