"""Every parsing fast path agrees with the full grammar it short-cuts.

The fast paths (plain query strings, plain keys, `op.value` filters, plain selects and orders,
digit limits, unquoted media lists) must give exactly what the full parser gives — the same
result, or the same PGRST100 error — for any input, so they are compared on generated text
biased towards the characters each one looks at.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pgrest_core.ast import Field
from pgrest_core.errors import PgrstError
from pgrest_core.fragment import Fragment, ident, join, param, quote_ident, sql
from pgrest_core.request import api_request, media
from pgrest_core.request.filters import parse_filter, parse_filter_full
from pgrest_core.request.order import parse_order, parse_order_full
from pgrest_core.request.query import PLAIN_NAME, _filter_key, range_number
from pgrest_core.request.select import parse_select, parse_select_full
from pgrest_core.response import canonical_location
from pgrest_core.sql.prelude import RequestContext, json_text, prelude
from pgrest_core.sql.prelude import settings as prelude_settings

T = TypeVar("T")


def outcome(parse: Callable[[], T]) -> T | tuple[str, str, object]:
    """The parse result, or the error it raises (code, message, details) to compare."""
    try:
        return parse()
    except PgrstError as error:
        return ("error", error.message, error.details)


def words_text(words: list[str], max_size: int = 12) -> st.SearchStrategy[str]:
    """Text glued from grammar words and single characters, so the shapes the fast paths take occur."""
    return st.lists(st.sampled_from(words), max_size=max_size).map("".join)


_NAMES = ["a", "b", "id", "col_1", "$x", "9", "count", "*", "é", " "]
_SELECT_WORDS = _NAMES + [",", "(", ")", "()", ":", "...", "!inner", "->", "::int", ".avg()", '"', "\x00"]
_ORDER_WORDS = _NAMES + [",", ".", ".asc", ".desc", ".nullsfirst", ".nullslast", ".nulls", "(", ")", "->x"]
_FILTER_WORDS = [
    "eq", "neq", "gte", "in", "is", "not", "fts", "like", "isdistinct", "cs", "eq(any)", "(english)",
    ".", "(", ")", ",", "null", "1", "x", " ", "\x00", "%", "{a,b}",
]  # fmt: skip


def _mutated(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A text with one character replaced, dropped or doubled (near misses of a shape)."""

    def mutate(text: str, at: int, kind: int, char: str) -> str:
        at = at % (len(text) + 1)
        if kind == 0:
            return text[:at] + char + text[at + 1 :]
        if kind == 1:
            return text[:at] + text[at + 1 :]
        return text[:at] + text[at : at + 1] * 2 + text[at + 1 :]

    return st.builds(mutate, texts, st.integers(0, 40), st.integers(0, 2), st.sampled_from(",()*a :.!"))


_plain_items = st.recursive(
    st.sampled_from(["a", "id", "count", "*", "$x", "9"]),
    lambda inner: st.builds(
        lambda name, items: f"{name}({','.join(items)})",
        st.sampled_from(["rel", "count", "*", "b"]),
        st.lists(inner, max_size=3),
    ),
    max_leaves=8,
)
_plain_selects = st.lists(_plain_items, min_size=1, max_size=4).map(",".join)


@settings(max_examples=500)
@given(st.one_of(_plain_selects, _mutated(_plain_selects), words_text(_SELECT_WORDS)))
@example("title,directors(first_name,last_name),roles(character,actors(first_name))")
@example("a(()")
@example("a()()")
@example("count(a)")
def test_select_fast_path_agrees(text: str) -> None:
    assert outcome(lambda: parse_select(text)) == outcome(lambda: parse_select_full(text))


_plain_orders = st.lists(
    st.builds(
        "".join,
        st.tuples(
            st.sampled_from(["a", "id", "asc", "$x_9"]),
            st.sampled_from(["", ".asc", ".desc"]),
            st.sampled_from(["", ".nullsfirst", ".nullslast"]),
        ),
    ),
    min_size=1,
    max_size=3,
).map(",".join)


@settings(max_examples=400)
@given(st.one_of(_plain_orders, _mutated(_plain_orders), words_text(_ORDER_WORDS)))
@example("year.desc,id")
@example("asc.desc.nullslast")
@example("a,")
def test_order_fast_path_agrees(text: str) -> None:
    assert outcome(lambda: parse_order(text)) == outcome(lambda: parse_order_full(text))


@settings(max_examples=400)
@given(st.one_of(words_text(_FILTER_WORDS, 6), st.text(max_size=10)))
@example("eq.3")
@example("is.null")
@example("not.eq.1")
@example("eq.\x00")
def test_filter_fast_path_agrees(value: str) -> None:
    fld = Field("col")
    assert outcome(lambda: parse_filter(fld, value)) == outcome(lambda: parse_filter_full(fld, value))


@given(st.text(st.sampled_from('ab_$9 .-"é>'), min_size=1, max_size=8))
def test_plain_key_is_a_plain_field(key: str) -> None:
    if PLAIN_NAME.fullmatch(key):
        assert _filter_key(key) == ((), Field(key))


@given(st.text(st.sampled_from("0123456789a²٣ -+.\x00"), max_size=5))
def test_digits_fast_path_agrees(text: str) -> None:
    """An integer, with optional surrounding whitespace and minus sign, as Haskell reads it."""
    stripped = text.strip()
    body = stripped[1:] if stripped.startswith("-") else stripped
    expected = int(stripped) if body and all("0" <= c <= "9" for c in body) else None
    assert range_number(text) == expected


_QUERY_CHARS = st.sampled_from("ab=&?%2B+é\udc80 x")


@given(st.one_of(st.text(_QUERY_CHARS, max_size=12), st.text(max_size=12)))
@example("id=eq.3&select=a,b")
@example("?a=1&&b")
def test_plain_query_string_decodes_like_the_full_decoder(query: str) -> None:
    raw = query.encode("utf-8", errors="surrogatepass")
    full = api_request.decode_query_full(raw)
    assert api_request.decode_query(query) == full
    assert api_request.decode_query(raw) == full


@given(st.text(st.sampled_from("ab/%2Frpcé\udc80"), max_size=10))
def test_plain_path_decodes_like_the_full_decoder(path: str) -> None:
    def full() -> object:
        segments = [api_request._decode_component(s) for s in path.removeprefix("/").split("/")]
        if path in ("", "/"):
            return "root"
        if len(segments) == 1 and segments[0]:
            return segments[0]
        if len(segments) == 2 and segments[0] == "rpc" and segments[1]:
            return ("rpc", segments[1])
        return "error"

    target = outcome(lambda: api_request.parse_target(path))
    expected = full()
    if expected == "root":
        assert type(target).__name__ == "RootTarget"
    elif expected == "error":
        assert isinstance(target, tuple) and target[0] == "error"
    elif isinstance(expected, tuple):
        assert getattr(target, "name", None) == expected[1] and type(target).__name__ == "RoutineTarget"
    else:
        assert getattr(target, "name", None) == expected and type(target).__name__ == "TableTarget"


@given(st.text(st.sampled_from('a,;"\\ '), max_size=10), st.sampled_from([",", ";"]))
def test_unquoted_split_agrees(text: str, separator: str) -> None:
    """The quote-free fast path gives what the quote-aware character loop gives."""
    expected = list(media._split_quote_aware(text, separator))
    assert list(media._split_unquoted(text, separator)) == expected


# --- SQL fragments ---------------------------------------------------------------------------


@given(st.lists(st.text(st.characters(blacklist_characters="\x00"), max_size=5), min_size=1, max_size=3))
def test_cached_ident_quotes_like_the_rule(names: list[str]) -> None:
    expected = ".".join('"' + name.replace('"', '""') + '"' for name in names)
    assert ident(*names) == Fragment(expected)
    assert ident(*names) == Fragment(expected)  # and again, from the cache
    assert quote_ident(names[0]) == '"' + names[0].replace('"', '""') + '"'


def test_nul_in_an_identifier_is_still_refused() -> None:
    for _ in range(2):
        try:
            ident("a\x00b")
        except ValueError:
            continue
        raise AssertionError("an identifier with NUL was accepted")


@given(st.lists(st.one_of(st.text(max_size=3).map(sql), st.integers().map(param)), max_size=6))
def test_join_and_add_keep_text_and_params_together(parts: list[Fragment]) -> None:
    joined = join(", ", iter(parts))
    assert joined.text == ", ".join(p.text for p in parts)
    assert joined.params == tuple(value for p in parts for value in p.params)
    assert join(", ", parts) == joined
    total = Fragment("")
    for part in parts:
        total = total + part
    assert total == Fragment("".join(p.text for p in parts), joined.params)


@given(st.lists(st.tuples(st.text(max_size=3), st.text(max_size=3)), max_size=3))
def test_cached_prelude_text_matches_the_settings(app: list[tuple[str, str]]) -> None:
    context = RequestContext("api", "anon", {"role": "anon"}, "GET", "/films", app_settings=tuple(app))
    pairs = prelude_settings(context)
    fragment = prelude(context)
    assert fragment.params == tuple(item for pair in pairs for item in pair)
    assert fragment.render("psycopg") == "select " + ", ".join(["set_config(%s, %s, true)"] * len(pairs))


# Text biased towards what JSON and percent-encoding escape: quotes, backslashes, controls,
# non-ASCII, lone surrogates, and the characters `quote` leaves alone.
_ESCAPED_TEXT = st.text(alphabet=st.sampled_from(list('aZ09_.-~"\\\n\x01\x7f é€😀\ud800%&=+/')), max_size=8)


@given(st.dictionaries(_ESCAPED_TEXT, _ESCAPED_TEXT | st.integers() | st.booleans(), max_size=4))
def test_json_text_is_json_dumps(mapping: dict[str, object]) -> None:
    assert json_text(mapping) == json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))


# Decoded query strings hold no lone surrogates (they become U+FFFD), which `quote` refuses.
_QUERY_TEXT = _ESCAPED_TEXT.filter(lambda text: "\ud800" not in text)


@given(st.lists(st.tuples(_QUERY_TEXT, _QUERY_TEXT), max_size=4))
def test_canonical_location_escapes_as_quote_does(pairs: list[tuple[str, str]]) -> None:
    ordered = sorted(pairs, key=lambda pair: pair[0])
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in ordered)
    expected = "/t?" + query if pairs else "/t"
    assert canonical_location("/t", tuple(pairs)) == expected
