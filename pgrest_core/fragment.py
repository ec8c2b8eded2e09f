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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Final, Literal

SLOT = "\x00"

Placeholder = Literal["psycopg", "dollar"]


@dataclass(frozen=True, slots=True)
class Fragment:
    text: str
    params: tuple[object, ...] = ()

    def __add__(self, other: Fragment) -> Fragment:
        fragment: Fragment = _new_fragment(Fragment)  # `_make`, inlined: this is the hottest call
        _set_text(fragment, self.text + other.text)
        _set_params(fragment, self.params + other.params)
        return fragment

    def with_params(self, params: tuple[object, ...]) -> Fragment:
        """The same text with other parameters (a compiled-shape template's values filled in)."""
        return _make(self.text, params)

    def render(self, placeholder: Placeholder = "psycopg") -> str:
        """The SQL text for a driver, with the slots numbered or turned into `%s`."""
        if placeholder == "psycopg":
            return _render_psycopg(self.text)
        pieces = self.text.split(SLOT)
        out = [pieces[0]]
        for number, piece in enumerate(pieces[1:], start=1):
            out.append(f"${number}")
            out.append(piece)
        return "".join(out)


@lru_cache(maxsize=512)
def _render_psycopg(text: str) -> str:
    """Cached: a server renders the same few statement texts (templates, preludes) on every
    request, and a str caches its own hash, so the lookup is cheaper than the two replaces."""
    return text.replace("%", "%%").replace(SLOT, "%s")


# Compiling a request builds hundreds of fragments, and a frozen dataclass's `__init__` is slow
# (it goes through `object.__setattr__` per field). `_make` fills the two slots directly; the
# result is an ordinary, still immutable, `Fragment`.
_new_fragment: Final = object.__new__
_set_text: Final[Callable[[Fragment, str], None]] = vars(Fragment)["text"].__set__
_set_params: Final[Callable[[Fragment, tuple[object, ...]], None]] = vars(Fragment)["params"].__set__


def _make(text: str, params: tuple[object, ...] = ()) -> Fragment:
    fragment: Fragment = _new_fragment(Fragment)
    _set_text(fragment, text)
    _set_params(fragment, params)
    return fragment


EMPTY = Fragment("")


@lru_cache(maxsize=1024)
def sql(text: str) -> Fragment:
    """Trusted SQL text written by pgrest itself (never request input).

    Cached: nearly every call passes one of a few constant strings, and fragments are immutable.
    """
    return _make(text)


@lru_cache(maxsize=4096)
def quote_ident(name: str) -> str:
    """`films` -> `"films"` (`"` doubled). Cached: the same few names are quoted on every request."""
    if SLOT in name:
        raise ValueError("identifiers cannot contain the NUL character")
    return '"' + name.replace('"', '""') + '"'


@lru_cache(maxsize=4096)
def ident(*names: str) -> Fragment:
    """A quoted, possibly qualified identifier: ident("api", "films") -> "api"."films".

    Cached: a schema's few names are quoted again on every request, and fragments are immutable.
    """
    return _make(".".join([quote_ident(name) for name in names]))


def param(value: object) -> Fragment:
    """One bound parameter."""
    return _make(SLOT, (value,))


def literal_type(type_name: str) -> str:
    """A type name from a request (`::int`, `::character varying`) made safe for SQL text.

    Casts are part of the statement's shape, so they go into the text; they are accepted only
    as letters (any script), digits, `_`, spaces, brackets, parentheses, dots and commas, which
    cannot break out of a cast. (`$` is refused: `$1` would be a parameter.)
    """
    if not type_name or not all(ch.isalnum() or ch in _TYPE_PUNCTUATION for ch in type_name):
        raise ValueError(f"unsafe type name: {type_name!r}")
    return type_name


_TYPE_PUNCTUATION = frozenset("_ []().,")


def join(separator: str, fragments: Iterable[Fragment]) -> Fragment:
    items = fragments if isinstance(fragments, (list, tuple)) else list(fragments)
    if len(items) == 1:  # often: one select item, one condition (fragments are immutable)
        return items[0]
    text = separator.join([fragment.text for fragment in items])
    with_params = [fragment.params for fragment in items if fragment.params]
    if not with_params:
        return _make(text)
    if len(with_params) == 1:
        return _make(text, with_params[0])
    return _make(text, tuple(chain.from_iterable(with_params)))
