"""SQL text and its parameters, kept together so they can never drift apart.

A `Fragment` is a piece of SQL whose parameter slots are marked with a private placeholder
character; its `params` tuple holds the values for those slots, in order. Fragments are joined
with `+` and `join`, and only at the very end rendered for a driver: `%s` for psycopg,
`$1 … $n` for asyncpg and PostgreSQL's own PREPARE.

Identifiers always go through `ident` (double-quoted, `"` doubled); request values always go
through `param`. The NUL character is the slot marker because PostgreSQL accepts it in neither
identifiers nor text, so it can never be part of real SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

SLOT = "\x00"

Placeholder = Literal["psycopg", "dollar"]


@dataclass(frozen=True, slots=True)
class Fragment:
    text: str
    params: tuple[object, ...] = ()

    def __add__(self, other: Fragment) -> Fragment:
        return Fragment(self.text + other.text, self.params + other.params)

    def render(self, placeholder: Placeholder = "psycopg") -> str:
        """The SQL text for a driver, with the slots numbered or turned into `%s`."""
        if placeholder == "psycopg":
            return self.text.replace("%", "%%").replace(SLOT, "%s")
        pieces = self.text.split(SLOT)
        out = [pieces[0]]
        for number, piece in enumerate(pieces[1:], start=1):
            out.append(f"${number}")
            out.append(piece)
        return "".join(out)


EMPTY = Fragment("")


def sql(text: str) -> Fragment:
    """Trusted SQL text written by pgrest itself (never request input)."""
    return Fragment(text)


def quote_ident(name: str) -> str:
    if SLOT in name:
        raise ValueError("identifiers cannot contain the NUL character")
    return '"' + name.replace('"', '""') + '"'


def ident(*names: str) -> Fragment:
    """A quoted, possibly qualified identifier: ident("api", "films") -> "api"."films"."""
    return Fragment(".".join(quote_ident(n) for n in names))


def param(value: object) -> Fragment:
    """One bound parameter."""
    return Fragment(SLOT, (value,))


def literal_type(type_name: str) -> str:
    """A type name from a request (`::int`, `::character varying`) made safe for SQL text.

    Casts are part of the statement's shape, so they go into the text; they are accepted only
    as words, spaces, digits, brackets and parentheses, which cannot break out of a cast.
    """
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ []().,")
    if not type_name or any(ch not in allowed for ch in type_name):
        raise ValueError(f"unsafe type name: {type_name!r}")
    return type_name


def join(separator: str, fragments: Iterable[Fragment]) -> Fragment:
    texts: list[str] = []
    params: list[object] = []
    for fragment in fragments:
        texts.append(fragment.text)
        params.extend(fragment.params)
    return Fragment(separator.join(texts), tuple(params))
