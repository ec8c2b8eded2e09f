"""JSPath: the JSONPath dialect of `jwt-role-claim-key`.

PostgREST reads the role claim key as an RFC 9535 JSONPath (`$.role`, `$.realm.roles[0]`,
`$.roles[?@ == "admin"]`); older releases wrote the same paths without `$` and with quoted
keys (`.role`, `."https://x.com/role"`, `.roles[0]`) and had the filter operators `^==`
(starts with), `==^` (ends with) and `*==` (contains). Both spellings parse to one model:
a `JSPath` is a tuple of `Segment`s, each a tuple of selectors. The role is the first value the
path selects (`JSPath.first`).

Pure: parsing raises `JSPathError` (a `ValueError`) naming the position of the mistake;
`pgrest_core.settings` turns it into a `ConfigError` for the `jwt-role-claim-key` key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias


class JSPathError(ValueError):
    """Text that is not a JSPath; the message says what was expected and where."""


JsonScalar: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class NameSelector:
    """`.name`, `['name']`, `."name"`: an object member."""

    name: str


@dataclass(frozen=True, slots=True)
class IndexSelector:
    """`[2]`, `[-1]`: an array element, negative counting from the end."""

    index: int


@dataclass(frozen=True, slots=True)
class WildcardSelector:
    """`.*`, `[*]`: every member or element."""


@dataclass(frozen=True, slots=True)
class SliceSelector:
    """`[start:end:step]`: a Python-like slice of an array."""

    start: int | None
    end: int | None
    step: int | None


@dataclass(frozen=True, slots=True)
class LiteralOperand:
    """A JSON scalar written in a filter: `"admin"`, `1`, `true`, `null`."""

    value: JsonScalar


@dataclass(frozen=True, slots=True)
class QueryOperand:
    """`@.a.b` (relative to the current node) or `$.a` (from the root) inside a filter."""

    relative: bool
    segments: tuple[Segment, ...]


Operand: TypeAlias = LiteralOperand | QueryOperand
ComparisonOp = Literal["==", "!=", "<", "<=", ">", ">=", "^==", "==^", "*=="]


@dataclass(frozen=True, slots=True)
class Comparison:
    """`@ == "admin"`; `^==`, `==^`, `*==` are PostgREST's starts-with, ends-with, contains."""

    left: Operand
    op: ComparisonOp
    right: Operand


@dataclass(frozen=True, slots=True)
class Exists:
    """`?@.admin`: the query selects at least one node."""

    query: QueryOperand


@dataclass(frozen=True, slots=True)
class Not:
    expr: FilterExpr


@dataclass(frozen=True, slots=True)
class And:
    exprs: tuple[FilterExpr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    exprs: tuple[FilterExpr, ...]


FilterExpr: TypeAlias = Comparison | Exists | Not | And | Or


@dataclass(frozen=True, slots=True)
class FilterSelector:
    """`[?(@ == "admin")]`: the members or elements for which the expression holds."""

    expr: FilterExpr


Selector: TypeAlias = NameSelector | IndexSelector | WildcardSelector | SliceSelector | FilterSelector


@dataclass(frozen=True, slots=True)
class Segment:
    """One step of a path; `descendant` is `..`, which also searches every nested level."""

    selectors: tuple[Selector, ...]
    descendant: bool = False


@dataclass(frozen=True, slots=True)
class JSPath:
    """A parsed `jwt-role-claim-key`; `text` is the value as configured."""

    text: str
    segments: tuple[Segment, ...]

    def select(self, document: Any) -> list[Any]:
        """Every value the path selects in a JSON document, in document order."""
        return _select_segments(self.segments, [document], document)

    def first(self, document: Any) -> tuple[bool, Any]:
        """(found, value) for the first selected value."""
        nodes = self.select(document)
        return (True, nodes[0]) if nodes else (False, None)


def _select_segments(segments: tuple[Segment, ...], nodes: list[Any], root: Any) -> list[Any]:
    for segment in segments:
        nodes = [out for node in nodes for out in _select_segment(segment, node, root)]
    return nodes


def _select_segment(segment: Segment, node: Any, root: Any) -> list[Any]:
    targets = _descendants(node) if segment.descendant else [node]
    return [
        out for target in targets for selector in segment.selectors for out in _apply(selector, target, root)
    ]


def _descendants(node: Any) -> list[Any]:
    """The node and every value nested in it, depth first, as `..` visits them."""
    out = [node]
    children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        out.extend(_descendants(child))
    return out


def _apply(selector: Selector, node: Any, root: Any) -> list[Any]:
    if isinstance(selector, NameSelector):
        return [node[selector.name]] if isinstance(node, dict) and selector.name in node else []
    if isinstance(selector, IndexSelector):
        if not isinstance(node, list):
            return []
        index = selector.index + len(node) if selector.index < 0 else selector.index
        return [node[index]] if 0 <= index < len(node) else []
    if isinstance(selector, WildcardSelector):
        return list(node.values()) if isinstance(node, dict) else list(node) if isinstance(node, list) else []
    if isinstance(selector, SliceSelector):
        if not isinstance(node, list) or selector.step == 0:
            return []
        return node[selector.start : selector.end : selector.step]
    children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
    return [child for child in children if _holds(selector.expr, child, root)]


_NOTHING = object()  # what a filter query that selects no node compares as


def _holds(expr: FilterExpr, current: Any, root: Any) -> bool:
    if isinstance(expr, And):
        return all(_holds(e, current, root) for e in expr.exprs)
    if isinstance(expr, Or):
        return any(_holds(e, current, root) for e in expr.exprs)
    if isinstance(expr, Not):
        return not _holds(expr.expr, current, root)
    if isinstance(expr, Exists):
        return bool(_query_nodes(expr.query, current, root))
    return _compare(
        _operand_value(expr.left, current, root), expr.op, _operand_value(expr.right, current, root)
    )


def _query_nodes(query: QueryOperand, current: Any, root: Any) -> list[Any]:
    return _select_segments(query.segments, [current if query.relative else root], root)


def _operand_value(operand: Operand, current: Any, root: Any) -> Any:
    if isinstance(operand, LiteralOperand):
        return operand.value
    nodes = _query_nodes(operand, current, root)
    return nodes[0] if len(nodes) == 1 else _NOTHING


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return type(left) is type(right) and bool(left == right)


def _compare(left: Any, op: ComparisonOp, right: Any) -> bool:
    if op == "==":
        return left is right if _NOTHING in (left, right) else _json_equal(left, right)
    if op == "!=":
        return not _compare(left, "==", right)
    if op in ("^==", "==^", "*=="):
        if not (isinstance(left, str) and isinstance(right, str)):
            return False
        if op == "^==":
            return left.startswith(right)
        return left.endswith(right) if op == "==^" else right in left
    comparable = (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not comparable:
        return op in ("<=", ">=") and _compare(left, "==", right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


class _PathParser:
    """A recursive-descent parser over the path text; `pos` is the next character."""

    _NAME_CHAR = re.compile(r"[A-Za-z0-9_$@\u0080-\U0010ffff-]")
    _COMPARISON_OPS: tuple[ComparisonOp, ...] = ("^==", "==^", "*==", "==", "!=", "<=", ">=", "<", ">")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> JSPathError:
        return JSPathError(f"{what} at position {self.pos + 1} in {self.text!r}")

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def startswith(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def expect(self, literal: str) -> None:
        if not self.startswith(literal):
            raise self.fail(f"expected {literal!r}")
        self.pos += len(literal)

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\n", "\r"):
            self.pos += 1

    # --- whole paths ------------------------------------------------------------------------

    def path(self) -> tuple[Segment, ...]:
        if self.startswith("$"):
            self.pos += 1
        elif not self.startswith(".") and not self.startswith("["):
            raise self.fail("a path starts with '$' or '.'")
        segments = self.segments()
        if self.pos != len(self.text):
            raise self.fail("unexpected character")
        if not segments:
            raise self.fail("the path selects nothing")
        return segments

    def segments(self) -> tuple[Segment, ...]:
        out: list[Segment] = []
        while True:
            if self.startswith(".."):
                self.pos += 2
                selector = self.bracket() if self.peek() == "[" else (self.dot_member(),)
                out.append(Segment(selector, descendant=True))
            elif self.startswith("."):
                self.pos += 1
                out.append(Segment((self.dot_member(),)))
            elif self.startswith("["):
                out.append(Segment(self.bracket()))
            else:
                return tuple(out)

    def dot_member(self) -> Selector:
        if self.peek() == "*":
            self.pos += 1
            return WildcardSelector()
        if self.peek() in ('"', "'"):
            return NameSelector(self.quoted())
        start = self.pos
        while self.peek() and self._NAME_CHAR.match(self.peek()):
            self.pos += 1
        if start == self.pos:
            raise self.fail("expected a member name")
        return NameSelector(self.text[start : self.pos])

    def bracket(self) -> tuple[Selector, ...]:
        self.expect("[")
        selectors = [self.bracket_selector()]
        self.skip_spaces()
        while self.peek() == ",":
            self.pos += 1
            selectors.append(self.bracket_selector())
            self.skip_spaces()
        self.expect("]")
        return tuple(selectors)

    def bracket_selector(self) -> Selector:
        self.skip_spaces()
        char = self.peek()
        if char in ('"', "'"):
            return NameSelector(self.quoted())
        if char == "*":
            self.pos += 1
            return WildcardSelector()
        if char == "?":
            self.pos += 1
            self.skip_spaces()
            return FilterSelector(self.or_expr())
        return self.index_or_slice()

    def index_or_slice(self) -> Selector:
        parts: list[int | None] = [self.optional_int()]
        while self.peek() == ":" and len(parts) < 3:
            self.pos += 1
            self.skip_spaces()
            parts.append(self.optional_int())
        if len(parts) == 1:
            if parts[0] is None:
                raise self.fail("expected an index, a name, '*' or a filter")
            return IndexSelector(parts[0])
        parts.extend([None] * (3 - len(parts)))
        return SliceSelector(parts[0], parts[1], parts[2])

    def optional_int(self) -> int | None:
        match = re.compile(r"-?\d+").match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        self.skip_spaces()
        return int(match.group())

    def quoted(self) -> str:
        quote = self.peek()
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise self.fail("unterminated quoted name")
            self.pos += 1
            if char == quote:
                return "".join(out)
            if char == "\\":
                out.append(self.escape())
            else:
                out.append(char)

    def escape(self) -> str:
        char = self.peek()
        self.pos += 1
        simple = {
            "b": "\b",
            "f": "\f",
            "n": "\n",
            "r": "\r",
            "t": "\t",
            "/": "/",
            "\\": "\\",
            '"': '"',
            "'": "'",
        }
        if char in simple:
            return simple[char]
        if char == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", self.text[self.pos : self.pos + 4]):
            self.pos += 4
            return chr(int(self.text[self.pos - 4 : self.pos], 16))
        raise self.fail("invalid escape")

    # --- filter expressions -----------------------------------------------------------------

    def or_expr(self) -> FilterExpr:
        exprs = [self.and_expr()]
        while self.startswith("||"):
            self.pos += 2
            exprs.append(self.and_expr())
        return exprs[0] if len(exprs) == 1 else Or(tuple(exprs))

    def and_expr(self) -> FilterExpr:
        exprs = [self.unary_expr()]
        while self.startswith("&&"):
            self.pos += 2
            exprs.append(self.unary_expr())
        return exprs[0] if len(exprs) == 1 else And(tuple(exprs))

    def unary_expr(self) -> FilterExpr:
        self.skip_spaces()
        if self.startswith("!") and not self.startswith("!="):
            self.pos += 1
            return Not(self.unary_expr())
        if self.peek() == "(":
            self.pos += 1
            inner = self.or_expr()
            self.skip_spaces()
            self.expect(")")
            self.skip_spaces()
            return inner
        left = self.operand()
        self.skip_spaces()
        for op in self._COMPARISON_OPS:
            if self.startswith(op):
                self.pos += len(op)
                self.skip_spaces()
                right = self.operand()
                self.skip_spaces()
                return Comparison(left, op, right)
        if isinstance(left, LiteralOperand):
            raise self.fail("a literal alone is not a test")
        return Exists(left)

    def operand(self) -> Operand:
        char = self.peek()
        if char in ("@", "$"):
            self.pos += 1
            return QueryOperand(relative=char == "@", segments=self.segments())
        if char in ('"', "'"):
            return LiteralOperand(self.quoted())
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.startswith(word):
                self.pos += len(word)
                return LiteralOperand(value)
        match = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?").match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a value, '@' or '$'")
        self.pos = match.end()
        number = match.group()
        return LiteralOperand(int(number) if re.fullmatch(r"-?\d+", number) else float(number))


def parse_jspath(text: str) -> JSPath:
    """Parse a path (surrounding whitespace ignored); raises `JSPathError` for a malformed one."""
    return JSPath(text, _PathParser(text.strip()).path())
