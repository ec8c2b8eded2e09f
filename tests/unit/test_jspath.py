"""pgrest_core.jspath: the JSONPath dialect of `jwt-role-claim-key`."""

from __future__ import annotations

from typing import Any

import pytest

from pgrest_core.jspath import (
    Comparison,
    FilterSelector,
    IndexSelector,
    JSPath,
    JSPathError,
    LiteralOperand,
    NameSelector,
    QueryOperand,
    Segment,
    SliceSelector,
    WildcardSelector,
    parse_jspath,
)

# --- selection -----------------------------------------------------------------------------------

CLAIMS = {
    "role": "author",
    "https://x.com/claims": {"roles": ["admin", "user"]},
    "realm": {"roles": ["viewer", "editor"], "level": 3},
    "nums": [1, 2, 3, 4],
    "people": [{"name": "ann", "role": "a"}, {"name": "bob", "role": "b", "admin": True}],
    "weird-key": "w",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.role", ["author"]),
        (".role", ["author"]),
        ('."https://x.com/claims".roles[0]', ["admin"]),
        ("$['https://x.com/claims'].roles[1]", ["user"]),
        ('$["https://x.com/claims"]["roles"][-1]', ["user"]),
        (".realm.roles[1]", ["editor"]),
        ("$.realm.roles[*]", ["viewer", "editor"]),
        ("$.realm.*", [["viewer", "editor"], 3]),
        ("$.nums[1:3]", [2, 3]),
        ("$.nums[::2]", [1, 3]),
        ("$.nums[0,2]", [1, 3]),
        ("$.missing", []),
        ("$.role[0]", []),
        ("$.nums[9]", []),
        ('$.realm.roles[?@ == "editor"]', ["editor"]),
        ('.realm.roles[?(@ == "editor")]', ["editor"]),
        ('.realm.roles[?(@ != "editor")]', ["viewer"]),
        ('.realm.roles[?(@ ^== "view")]', ["viewer"]),
        ('.realm.roles[?(@ ==^ "itor")]', ["editor"]),
        ('.realm.roles[?(@ *== "dit")]', ["editor"]),
        ("$.nums[?@ > 2]", [3, 4]),
        ("$.nums[?@ >= 2 && @ < 4]", [2, 3]),
        ("$.nums[?@ == 1 || @ == 4]", [1, 4]),
        ("$.nums[?!(@ == 1)]", [2, 3, 4]),
        ("$.people[?@.admin].name", ["bob"]),
        ('$.people[?@.name == "ann"].role', ["a"]),
        ("$.people[?@.level == $.realm.level]", []),
        ("$..role", ["author", "a", "b"]),
        ("$.weird-key", ["w"]),
    ],
)
def test_jspath_selects(path: str, expected: list[Any]) -> None:
    assert parse_jspath(path).select(CLAIMS) == expected


def test_jspath_first() -> None:
    assert parse_jspath("$.realm.roles").first(CLAIMS) == (True, ["viewer", "editor"])
    assert parse_jspath("$.nope").first(CLAIMS) == (False, None)


def test_jspath_on_non_objects() -> None:
    assert parse_jspath("$.a.b").select([1, 2]) == []
    assert parse_jspath("$[0]").select(["x"]) == ["x"]


@pytest.mark.parametrize(
    "path", ["role", "$.", "$.a[", "$.a[?]", '$."open', "$.a[?@ == ]", "$.a junk", "$.a[?5]"]
)
def test_jspath_rejects(path: str) -> None:
    with pytest.raises(JSPathError, match="at position"):
        parse_jspath(path)


def test_error_says_what_and_where() -> None:
    with pytest.raises(JSPathError) as info:
        parse_jspath("$.a junk")
    assert str(info.value) == "unexpected character at position 4 in '$.a junk'"
    assert isinstance(info.value, ValueError)


# --- the parsed model ------------------------------------------------------------------------


def test_old_and_new_spellings_parse_alike() -> None:
    old, new = (
        parse_jspath('."https://x.com/claims".roles[0]'),
        parse_jspath("$['https://x.com/claims'].roles[0]"),
    )
    assert old.segments == new.segments
    assert (old.text, new.text) == ('."https://x.com/claims".roles[0]', "$['https://x.com/claims'].roles[0]")


def test_parsed_segments() -> None:
    path = parse_jspath(' $.a[*][1:2, -1]..b[?@.c == "x"] ')
    assert path == JSPath(
        ' $.a[*][1:2, -1]..b[?@.c == "x"] ',
        (
            Segment((NameSelector("a"),)),
            Segment((WildcardSelector(),)),
            Segment((SliceSelector(1, 2, None), IndexSelector(-1))),
            Segment((NameSelector("b"),), descendant=True),
            Segment(
                (
                    FilterSelector(
                        Comparison(
                            QueryOperand(relative=True, segments=(Segment((NameSelector("c"),)),)),
                            "==",
                            LiteralOperand("x"),
                        )
                    ),
                )
            ),
        ),
    )


@pytest.mark.parametrize(
    ("path", "document", "expected"),
    [
        ('$[?@ == "1"]', [1, "1"], ["1"]),  # no coercion between strings and numbers
        ("$[?@ == 1]", [1, 1.0, True], [1, 1.0]),  # a boolean is not a number
        ("$[?@ == true]", [1, True], [True]),
        ("$[?@ == null]", [None, 0, ""], [None]),
        ("$[?@ < 2]", [1, "1", None], [1]),
        ('$[?@ < "b"]', ["a", "c", 1], ["a"]),
        ("$[?@.x == @.y]", [{"x": 1, "y": 1}, {"x": 1}, {}], [{"x": 1, "y": 1}, {}]),  # nothing == nothing
        ("$[?@.x <= @.y]", [{}], [{}]),
        ("$[?@.x < @.y]", [{}], []),
        ('$[?@ *== "b"]', ["abc", ["b"], 5], ["abc"]),
        ("$.a[?@]", {"a": {"k": 0}}, [0]),
        ("$.a[::-1]", {"a": [1, 2, 3]}, [3, 2, 1]),
        ("$.a[::0]", {"a": [1, 2, 3]}, []),
    ],
)
def test_filter_semantics(path: str, document: Any, expected: list[Any]) -> None:
    assert parse_jspath(path).select(document) == expected


def test_escapes_in_quoted_names() -> None:
    assert parse_jspath(r'$["a\"b\u00e9"]').select({'a"bé': 1}) == [1]
    assert parse_jspath("$['it\\'s']").select({"it's": 2}) == [2]
