"""AST → canonical query-string text, the exact inverse of the parsers: parse(unparse(x)) == x.

Names and JSON keys are written bare when the grammar would read them back unchanged and
`"quoted"` otherwise; values inside lists and logic trees are quoted when they hold a reserved
character. Top-level filter values are written raw (the parser takes everything after `op.`).
"""

from __future__ import annotations

from pgrest_core.ast import (
    Compare,
    Field,
    Filter,
    FullText,
    In,
    Is,
    JsonStep,
    Logic,
    Operation,
    OrderTerm,
    Quantified,
    QueryParams,
    ScopedCondition,
    SelectEmbed,
    SelectField,
    SelectItem,
)
from pgrest_core.request.query import RESERVED, RESERVED_LAST_SEGMENTS
from pgrest_core.request.scanner import is_ident_char

_JSON_KEY_RESERVED = frozenset("(-:.,>)")
_VALUE_RESERVED = frozenset(',.:()"\\')
_ARRAY_RESERVED = frozenset(',{}"\\')
# What percent-encoding must hide so that splitting on & and = and decoding gives the pairs back.
_URL_ESCAPES = {ord(ch): f"%{ord(ch):02X}" for ch in "%&=+#"} | {
    code: f"%{code:02X}" for code in [*range(0x21), 0x7F]
}


def quote(text: str) -> str:
    """`"text"` with `\\` and `"` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unparse_name(name: str) -> str:
    """A field/relation/alias name: bare if it reads back as itself, else quoted."""
    return name if _is_bare_name(name) else quote(name)


def _is_bare_name(name: str) -> bool:
    for part in name.split("-"):
        if not part or part != part.strip() or not all(is_ident_char(ch) for ch in part):
            return False
    return True


def _json_key(key: str | int) -> str:
    if isinstance(key, int):
        return str(key)
    if _is_bare_json_key(key):
        return key
    return quote(key)


def _is_bare_json_key(key: str) -> bool:
    if key.startswith('"') or "\\" in key or _looks_like_index(key):
        return False
    for part in key.split("-"):
        if not part or part != part.strip() or any(ch in _JSON_KEY_RESERVED for ch in part):
            return False
    return True


def _looks_like_index(key: str) -> bool:
    digits = key[1:] if key.startswith("-") else key
    return digits.isascii() and digits.isdigit()


def _json_path(path: tuple[JsonStep, ...]) -> str:
    return "".join(step.arrow + _json_key(step.key) for step in path)


def unparse_field(fld: Field) -> str:
    """`col->a->>0`."""
    return unparse_name(fld.name) + _json_path(fld.json_path)


# --- select ------------------------------------------------------------------------------------


def unparse_select(items: tuple[SelectItem, ...]) -> str:
    return ",".join(_select_item(item) for item in items)


def _select_item(item: SelectItem) -> str:
    if isinstance(item, SelectEmbed):
        return _embed(item)
    return _select_field(item)


def _select_field(item: SelectField) -> str:
    star = item.field == Field("*")
    if star and item.alias is None and item.cast is None and item.aggregate is None:
        if item.aggregate_cast is None:
            return "*"
    alias = f"{unparse_name(item.alias)}:" if item.alias is not None else ""
    aggregate_cast = f"::{item.aggregate_cast}" if item.aggregate_cast is not None else ""
    if star and item.aggregate == "count" and item.cast is None:
        return f"{alias}count(){aggregate_cast}"
    text = alias + (quote("*") + _json_path(item.field.json_path) if star else unparse_field(item.field))
    if item.cast is not None:
        text += f"::{item.cast}"
    if item.aggregate is not None:
        text += f".{item.aggregate.value}()"
    return text + aggregate_cast


def _embed(embed: SelectEmbed) -> str:
    relation = embed.relation
    name = quote(relation) if relation == "count" else unparse_name(relation)
    text = "..." if embed.spread else (f"{unparse_name(embed.alias)}:" if embed.alias is not None else "")
    text += name
    if embed.hint is not None:
        text += "!" + (quote(embed.hint) if embed.hint in ("inner", "left") else unparse_name(embed.hint))
    if embed.join is not None:
        text += "!" + embed.join
    return f"{text}({unparse_select(embed.select)})"


# --- filters and logic trees -------------------------------------------------------------------


def unparse_filter_value(operation: Operation, negated: bool = False) -> str:
    """The value of a top-level filter: `not.eq.5`, `in.(1,2)`, `eq(any).{a,b}`."""
    return ("not." if negated else "") + _operation(operation, in_logic=False)


def _operation(operation: Operation, *, in_logic: bool) -> str:
    value_text = _logic_value if in_logic else _raw
    if isinstance(operation, Compare):
        return f"{operation.operator.value}.{value_text(operation.value)}"
    if isinstance(operation, In):
        return "in.(" + ",".join(_list_element(v) for v in operation.values) + ")"
    if isinstance(operation, Is):
        return f"is.{operation.value}"
    if isinstance(operation, FullText):
        language = f"({operation.language})" if operation.language is not None else ""
        return f"{operation.operator.value}{language}.{value_text(operation.value)}"
    if isinstance(operation, Quantified):
        array = _pg_array(operation.values)
        if in_logic and ("{" in array[1:-1] or "}" in array[1:-1]):
            array = quote(array)
        return f"{operation.operator.value}({operation.quantifier}).{array}"
    raise TypeError(f"not an operation: {operation!r}")


def _raw(value: str) -> str:
    return value


def _needs_quotes(value: str, reserved: frozenset[str]) -> bool:
    return not value or any(ch in reserved or ch.isspace() for ch in value)


def _list_element(value: str) -> str:
    return quote(value) if _needs_quotes(value, _VALUE_RESERVED) else value


def _logic_value(value: str) -> str:
    if _needs_quotes(value, _VALUE_RESERVED) or value[0] in "{[":
        return quote(value)
    return value


def _pg_array(values: tuple[str, ...]) -> str:
    """`{a,"b c"}` with PostgreSQL array-literal quoting (`NULL` is quoted to stay a string)."""
    elements = (quote(v) if _needs_quotes(v, _ARRAY_RESERVED) or v.lower() == "null" else v for v in values)
    return "{" + ",".join(elements) + "}"


def unparse_logic(logic: Logic) -> str:
    """The value of an `or=` / `and=` parameter: `(a.eq.1,not.and(b.gt.2,c.is.null))`."""
    return "(" + ",".join(_condition(child) for child in logic.children) + ")"


def _condition(condition: Filter | Logic) -> str:
    if isinstance(condition, Logic):
        return ("not." if condition.negated else "") + condition.operator + unparse_logic(condition)
    negation = "not." if condition.negated else ""
    return f"{unparse_field(condition.field)}.{negation}{_operation(condition.operation, in_logic=True)}"


# --- order and the whole query -----------------------------------------------------------------


def unparse_order(terms: tuple[OrderTerm, ...]) -> str:
    return ",".join(_order_term(term) for term in terms)


def _order_term(term: OrderTerm) -> str:
    text = unparse_field(term.field)
    if term.relation is not None:
        text = f"{unparse_name(term.relation)}({text})"
    if term.direction is not None:
        text += "." + term.direction
    if term.nulls is not None:
        text += ".nulls" + term.nulls
    return text


def _key_segment(name: str, *, last: bool = False) -> str:
    """A name in a key; `not` and reserved words are quoted so they are not read as keywords."""
    if name == "not" or (last and (name in RESERVED or name in RESERVED_LAST_SEGMENTS)):
        return quote(name)
    return unparse_name(name)


def _key(path: tuple[str, ...], last: str) -> str:
    return "".join(_key_segment(name) + "." for name in path) + last


def _condition_pair(scoped: ScopedCondition) -> tuple[str, str]:
    condition = scoped.condition
    if isinstance(condition, Logic):
        operator = ("not." if condition.negated else "") + condition.operator
        return _key(scoped.path, operator), unparse_logic(condition)
    fld = condition.field
    key = _key(scoped.path, _key_segment(fld.name, last=True) + _json_path(fld.json_path))
    return key, unparse_filter_value(condition.operation, condition.negated)


def query_pairs(q: QueryParams) -> list[tuple[str, str]]:
    """The canonical (key, value) pairs of a parsed query, before percent-encoding."""
    pairs: list[tuple[str, str]] = []
    if q.select is not None:
        pairs.append(("select", unparse_select(q.select)))
    pairs.extend(_condition_pair(scoped) for scoped in q.conditions)
    pairs.extend((_key(scoped.path, "order"), unparse_order(scoped.terms)) for scoped in q.orders)
    for scoped_range in q.ranges:
        if scoped_range.limit is not None:
            pairs.append((_key(scoped_range.path, "limit"), str(scoped_range.limit)))
        if scoped_range.offset is not None:
            pairs.append((_key(scoped_range.path, "offset"), str(scoped_range.offset)))
    if q.on_conflict is not None:
        pairs.append(("on_conflict", ",".join(unparse_name(name) for name in q.on_conflict)))
    if q.columns is not None:
        pairs.append(("columns", ",".join(unparse_name(name) for name in q.columns)))
    pairs.extend(q.params)
    return pairs


def unparse_query(q: QueryParams) -> str:
    """The canonical query string (without `?`)."""
    return "&".join(
        f"{key.translate(_URL_ESCAPES)}={value.translate(_URL_ESCAPES)}" for key, value in query_pairs(q)
    )
