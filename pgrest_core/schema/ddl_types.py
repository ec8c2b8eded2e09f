"""PostgreSQL type names as DDL writes them, and as the catalog prints them.

`parse_type("varchar(200)[]")` gives a `TypeName` with PostgreSQL's internal name (`varchar`),
its modifiers and array-ness; `display` renders it the way `format_type()` does
(`character varying(200)[]`), which is what introspection stores in `Column.type`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# Spellings of built-in types -> pg_type.typname (the serial types are integers with a sequence).
_ALIASES: dict[str, str] = {
    "int": "int4", "integer": "int4", "int4": "int4", "serial": "int4", "serial4": "int4",
    "smallint": "int2", "int2": "int2", "smallserial": "int2", "serial2": "int2",
    "bigint": "int8", "int8": "int8", "bigserial": "int8", "serial8": "int8",
    "real": "float4", "float4": "float4", "double precision": "float8", "float8": "float8",
    "double": "float8", "float": "float8",
    "numeric": "numeric", "decimal": "numeric", "dec": "numeric",
    "boolean": "bool", "bool": "bool",
    "varchar": "varchar", "character varying": "varchar", "char varying": "varchar",
    "char": "bpchar", "character": "bpchar", "bpchar": "bpchar", "nchar": "bpchar",
    "timestamp": "timestamp", "timestamp without time zone": "timestamp",
    "timestamptz": "timestamptz", "timestamp with time zone": "timestamptz",
    "time": "time", "time without time zone": "time",
    "timetz": "timetz", "time with time zone": "timetz",
    "bit varying": "varbit", "varbit": "varbit", "bit": "bit",
}  # fmt: skip
_SERIALS = frozenset({"serial", "serial4", "smallserial", "serial2", "bigserial", "serial8"})

# Other built-in types (pg_catalog), spelled as their typname.
_BUILTINS = frozenset(
    """text name bytea date interval json jsonb jsonpath uuid xml inet cidr macaddr macaddr8 money
    oid regclass regproc regprocedure regtype regrole regnamespace regconfig regdictionary tsvector
    tsquery point line lseg box path polygon circle int4range int8range numrange tsrange tstzrange
    daterange int4multirange int8multirange nummultirange tsmultirange tstzmultirange datemultirange
    record void trigger event_trigger anyelement anyarray anynonarray anyenum anyrange
    anycompatible anycompatiblearray cstring internal unknown pg_lsn txid_snapshot pg_snapshot
    xid xid8 cid tid refcursor aclitem char""".split()
) | frozenset(_ALIASES.values())

# typname -> how format_type() prints it (names not listed print as themselves).
_DISPLAY: dict[str, str] = {
    "int4": "integer", "int2": "smallint", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bool": "boolean", "varchar": "character varying",
    "bpchar": "character", "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone", "time": "time without time zone",
    "timetz": "time with time zone", "varbit": "bit varying", "char": '"char"',
}  # fmt: skip

_TIME_ZONE = re.compile(r"^(timestamp|time)\s*(\(\s*\d+\s*\))?\s+(with|without)\s+time\s+zone$")
_IDENT = re.compile(r'"(?:[^"]|"")*"|[^\s."(\[]+')
_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
# Keywords format_type() quotes when a type is named like one (the reserved ones and a few more).
_KEYWORDS = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create current_catalog current_date current_role current_time current_timestamp
    current_user default deferrable desc distinct do else end except false fetch for foreign from
    grant group having in initially intersect into lateral leading limit localtime localtimestamp
    not null offset on only or order placing primary references returning select session_user
    some symmetric table then to trailing true union unique user using variadic when where window
    with authorization binary collation concurrently cross current_schema freeze full ilike inner
    is isnull join left like natural notnull outer overlaps right similar tablesample verbose
    between bigint bit boolean char character coalesce dec decimal exists extract float greatest
    grouping inout int integer interval least national nchar none normalize nullif numeric out
    overlay position precision real row setof smallint substring time timestamp treat trim values
    varchar xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi
    xmlroot xmlserialize xmltable""".split()
)


class TypeSyntaxError(ValueError):
    """The text is not a type name this reader understands."""


@dataclass(frozen=True, slots=True)
class TypeName:
    """A type as written: `schema` None when unqualified; `name` the typname for built-ins."""

    schema: str | None
    name: str
    modifiers: tuple[str, ...] = ()
    array: bool = False
    builtin: bool = False
    serial: bool = False

    @property
    def element(self) -> TypeName:
        return replace(self, array=False)

    @property
    def max_length(self) -> int | None:
        if self.name in ("varchar", "bpchar") and self.builtin and self.modifiers and not self.array:
            return int(self.modifiers[0])
        return None


def fold_identifier(text: str) -> str:
    """An identifier as PostgreSQL stores it: quoted ones verbatim, others in lower case."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.lower()


def quote_if_needed(name: str) -> str:
    """`name` as PostgreSQL's quote_identifier prints it."""
    if _PLAIN.fullmatch(name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _split_modifiers(text: str) -> tuple[str, tuple[str, ...]]:
    match = re.search(r"\(([^()]*)\)", text)
    if match is None:
        return text, ()
    modifiers = tuple(part.strip() for part in match.group(1).split(",") if part.strip())
    return (text[: match.start()] + " " + text[match.end() :]).strip(), modifiers


def parse_type(text: str) -> TypeName:
    """A type name from DDL text: `int`, `varchar(20)[]`, `timestamp(3) with time zone`, `s."T"`."""
    body = " ".join(text.strip().split())
    array = False
    while True:
        stripped = re.sub(r"(\[\s*\d*\s*\]|\s+array(\s*\[\s*\d*\s*\])?)$", "", body, flags=re.IGNORECASE)
        if stripped == body:
            break
        body, array = stripped.strip(), True
    if not body or "%" in body:
        raise TypeSyntaxError(f"unsupported type {text!r}")
    lowered = body.lower()
    zone = _TIME_ZONE.match(lowered)
    if zone:
        base = zone.group(1) + ("tz" if zone.group(3) == "with" else "")
        precision: tuple[str, ...] = (zone.group(2).strip("() "),) if zone.group(2) else ()
        return TypeName(None, base, precision, array, builtin=True)
    plain, modifiers = _split_modifiers(body)
    if '"' not in plain:
        words = " ".join(plain.lower().split())
        if words in _ALIASES or (words in _BUILTINS and "." not in words):
            return _builtin(words, modifiers, array)
        if words.startswith("interval "):  # interval day to second: fields, same type
            return TypeName(None, "interval", modifiers, array, builtin=True)
    tokens = _IDENT.findall(plain)
    rest = plain
    for token in tokens:
        rest = rest.replace(token, "", 1)
    if rest.replace(".", "").strip() or not tokens:
        raise TypeSyntaxError(f"unsupported type {text!r}")
    parts = [fold_identifier(part) for part in tokens]
    if len(parts) == 2 and parts[0] == "pg_catalog":
        if parts[1] in _ALIASES or parts[1] in _BUILTINS:
            return _builtin(parts[1], modifiers, array)
    if len(parts) == 1:
        return TypeName(None, parts[0], modifiers, array)
    if len(parts) == 2:
        return TypeName(parts[0], parts[1], modifiers, array)
    raise TypeSyntaxError(f"unsupported type {text!r}")


def _builtin(words: str, modifiers: tuple[str, ...], array: bool) -> TypeName:
    name = _ALIASES.get(words, words)
    if words in ("float", "double") and modifiers:
        name, modifiers = ("float4" if int(modifiers[0]) <= 24 else "float8"), ()
    elif words == "float":
        name = "float8"
    if (name == "bit" or words in ("char", "character", "nchar")) and not modifiers:
        modifiers = ("1",)  # bare bit and char(acter) are bit(1) and character(1)
    return TypeName(None, name, modifiers, array, builtin=True, serial=words in _SERIALS)


def display_builtin(name: str, modifiers: tuple[str, ...] = (), typmod_given: bool = True) -> str:
    """format_type() of a built-in typname with the given modifiers; `typmod_given` False for
    format_type(oid, NULL) (function arguments), True for a column's type."""
    shown = _DISPLAY.get(name, name)
    if not modifiers:
        return "bpchar" if name == "bpchar" and typmod_given else shown
    if name == "numeric":
        return f"numeric({modifiers[0]},{modifiers[1] if len(modifiers) > 1 else 0})"
    if name in ("timestamp", "timestamptz", "time", "timetz"):
        head, _, zone = shown.partition(" ")
        return f"{head}({modifiers[0]}) {zone}"
    return f"{shown}({','.join(modifiers)})"
