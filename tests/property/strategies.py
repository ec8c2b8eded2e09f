"""Hypothesis strategies for the request AST (`pgrest_core.ast`), reusable by any test.

They draw ASTs the URL language can express: names may hold any character but NUL (the
unparser quotes them), casts and languages are identifiers, and the few shapes with no text
form are left out (an `in` list holding one empty string is the empty list; a spread has no
alias; an aggregate cast needs a cast or an aggregate before it).
"""

from __future__ import annotations

from hypothesis import strategies as st

from pgrest_core import ast
from pgrest_core.ast import FTS_OPERATORS, QUANTIFIABLE, Operator

_SPECIALS = " \t\"\\,.:()[]{}!*->=&%+#;'$_é字\n"
_ALPHABET = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_IDENT_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_é字"

# Text without NUL, biased towards the characters the grammar treats specially.
text = st.one_of(
    st.text(_ALPHABET, max_size=8),
    st.text(st.sampled_from(_SPECIALS + "abc01"), max_size=8),
)
plain_names = st.text(st.sampled_from("abcxyz_$019"), min_size=1, max_size=6)
names = st.one_of(plain_names, text)
identifiers = st.builds(
    lambda first, rest: (first + rest).strip() or first,
    st.sampled_from(_IDENT_START),
    st.text(st.sampled_from("abcz09_ $"), max_size=8),
)

json_steps = st.builds(
    ast.JsonStep,
    st.sampled_from(("->", "->>")),
    st.one_of(st.integers(min_value=-(2**40), max_value=2**40), text),
)
fields = st.builds(ast.Field, names, st.lists(json_steps, max_size=3).map(tuple))


def _select_field() -> st.SearchStrategy[ast.SelectField]:
    star = st.just(ast.SelectField(ast.Field("*")))
    count = st.builds(
        lambda alias, cast: ast.SelectField(ast.Field("*"), alias, None, ast.Aggregate.COUNT, cast),
        st.none() | names,
        st.none() | identifiers,
    )

    def build(
        fld: ast.Field, alias: str | None, cast: str | None, agg: ast.Aggregate | None, agg_cast: str | None
    ) -> ast.SelectField:
        if cast is None and agg is None:
            agg_cast = None
        return ast.SelectField(fld, alias, cast, agg, agg_cast)

    general = st.builds(
        build,
        fields,
        st.none() | names,
        st.none() | identifiers,
        st.none() | st.sampled_from(list(ast.Aggregate)),
        st.none() | identifiers,
    )
    return st.one_of(star, count, general)


def select_items(max_depth: int = 2) -> st.SearchStrategy[ast.SelectItem]:
    """A select item: field, `*`, `count()`, or an embed/spread nesting further items."""
    leaf = _select_field()
    if max_depth == 0:
        return leaf

    def embed(
        relation: str,
        items: list[ast.SelectItem],
        alias: str | None,
        hint: str | None,
        join: ast.JoinType | None,
        spread: bool,
    ) -> ast.SelectEmbed:
        return ast.SelectEmbed(relation, tuple(items), None if spread else alias, hint, join, spread)

    embeds = st.builds(
        embed,
        names,
        st.lists(select_items(max_depth - 1), max_size=3),
        st.none() | names,
        st.none() | names,
        st.none() | st.sampled_from(("inner", "left")),
        st.booleans(),
    )
    return st.one_of(leaf, embeds)


def operations() -> st.SearchStrategy[ast.Operation]:
    simple_ops = [op for op in Operator if op not in FTS_OPERATORS and op not in (Operator.IN, Operator.IS)]
    in_values = st.lists(text, max_size=4).map(tuple).filter(lambda values: values != ("",))
    return st.one_of(
        st.builds(ast.Compare, st.sampled_from(simple_ops), text),
        st.builds(
            ast.Quantified,
            st.sampled_from(sorted(QUANTIFIABLE)),
            st.sampled_from(("any", "all")),
            st.lists(text, max_size=4).map(tuple),
        ),
        st.builds(ast.In, in_values),
        st.builds(ast.Is, st.sampled_from(("null", "not_null", "true", "false", "unknown"))),
        st.builds(ast.FullText, st.sampled_from(sorted(FTS_OPERATORS)), text, st.none() | identifiers),
    )


filters = st.builds(ast.Filter, fields, operations(), st.booleans())


def conditions(max_depth: int = 2) -> st.SearchStrategy[ast.Logic]:
    """A logic tree (`or=(…)`), nesting filters and further trees."""
    child = filters if max_depth == 0 else st.one_of(filters, conditions(max_depth - 1))
    return st.builds(
        ast.Logic,
        st.sampled_from(("and", "or")),
        st.lists(child, min_size=1, max_size=3).map(tuple),
        st.booleans(),
    )


order_terms = st.builds(
    ast.OrderTerm,
    fields,
    st.none() | st.sampled_from(("asc", "desc")),
    st.none() | st.sampled_from(("first", "last")),
    st.none() | names,
)

embed_paths = st.lists(names, max_size=2).map(tuple)


def query_params(*, routine: bool = False) -> st.SearchStrategy[ast.QueryParams]:
    """A whole query; with `routine`, raw `params` instead of filters (as on `/rpc/fn`)."""
    scoped = st.builds(
        ast.ScopedCondition, embed_paths, conditions(1) if routine else filters | conditions(1)
    )
    ranges = st.lists(
        st.builds(
            ast.ScopedRange,
            embed_paths,
            st.none() | st.integers(0, 10**6),
            st.integers(0, 10**6),
        ),
        max_size=3,
        unique_by=lambda r: r.path,
    ).map(tuple)
    reserved = {"select", "columns", "on_conflict"}
    param_keys = st.text(st.sampled_from("abc_1.x"), min_size=1, max_size=6).filter(
        lambda k: k not in reserved and k.rsplit(".", 1)[-1] not in {"order", "limit", "offset", "and", "or"}
    )
    params = st.lists(st.tuples(param_keys, text), max_size=3).map(tuple) if routine else st.just(())
    name_lists = st.lists(names, min_size=1, max_size=3).map(tuple)
    return st.builds(
        ast.QueryParams,
        select=st.none() | st.lists(select_items(1), max_size=3).map(tuple),
        conditions=st.lists(scoped, max_size=3).map(tuple),
        orders=st.lists(
            st.builds(ast.ScopedOrder, embed_paths, st.lists(order_terms, min_size=1, max_size=3).map(tuple)),
            max_size=2,
        ).map(tuple),
        ranges=ranges,
        on_conflict=st.none() | name_lists,
        columns=st.none() | name_lists,
        params=params,
    )
