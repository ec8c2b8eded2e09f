"""Assembling `ApiRequest`: method, path, query string decoding, headers, profiles, cookies."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgrest_core import errors
from pgrest_core.ast import (
    ApiRequest,
    MediaType,
    Preferences,
    QueryParams,
    RangeHeader,
    RootTarget,
    RoutineTarget,
    TableTarget,
)
from pgrest_core.request import api_request
from pgrest_core.request.api_request import decode_query, parse_cookies, parse_request, parse_target

Headers = Sequence[tuple[str, str]]


def get(
    path: str = "/items", query: str | bytes = "", headers: Headers = (), *, schemas: Sequence[str] = ("public",)
) -> ApiRequest:
    return parse_request("GET", path, query, headers, schemas=schemas)


def error_of(call: object, *args: object, **kwargs: object) -> errors.PgrstError:
    with pytest.raises(errors.PgrstError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


# --- method ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])
def test_known_methods(method: str) -> None:
    assert parse_request(method, "/items", "", []).method == method


def test_method_is_upper_cased() -> None:
    assert parse_request("patch", "/items", "", []).method == "PATCH"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO", "", "GET "])
def test_unknown_method_is_405(method: str) -> None:
    error = error_of(parse_request, method, "/items", "", [])
    assert (error.code, error.status) == ("PGRST117", 405)
    assert error.message == f"Unsupported HTTP method: {method.upper()}"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_functions_cannot_be_written_to(method: str) -> None:
    error = error_of(parse_request, method, "/rpc/sayhello", "", [])
    assert (error.code, error.status) == ("PGRST101", 405)
    assert error.message == f"Cannot use the {method} method on RPC"


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "OPTIONS"])
def test_functions_can_be_called(method: str) -> None:
    assert parse_request(method, "/rpc/sayhello", "", []).target == RoutineTarget("sayhello")


# --- path ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/", RootTarget()),
        ("", RootTarget()),
        ("/items", TableTarget("items")),
        ("/rpc/getitemrange", RoutineTarget("getitemrange")),
        ("/rpc", TableTarget("rpc")),  # PostgREST: a table that happens to be called rpc
        ("/%D9%85%D9%88%D8%A7%D8%B1%D8%AF", TableTarget("موارد")),
        ("/موارد", TableTarget("موارد")),
        ("/my%20table", TableTarget("my table")),
        ("/my table", TableTarget("my table")),
        ("/a+b", TableTarget("a+b")),  # `+` is a space only in the query string
        ("/a%2Fb", TableTarget("a/b")),  # an encoded slash belongs to the name
        ("/rpc/%C3%A9t%C3%A9", RoutineTarget("été")),
        ("/RPC/fn", None),
        ("/%FF", TableTarget("\ufffd")),  # not UTF-8: replaced, not a crash
    ],
)
def test_targets(path: str, target: object) -> None:
    if target is None:
        assert error_of(parse_target, path).code == "PGRST125"
    else:
        assert parse_target(path) == target


@pytest.mark.parametrize(
    "path", ["/a/b", "/rpc/a/b", "/items/", "/rpc/", "/rpc/fn/", "//", "//items", "/a/b/c", "/%2F/x"]
)
def test_invalid_paths_are_404(path: str) -> None:
    error = error_of(parse_request, "GET", path, "", [])
    assert (error.code, error.status, error.message) == (
        "PGRST125",
        404,
        "Invalid path specified in request URL",
    )


# --- query string ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "pairs"),
    [
        ("", ()),
        ("a=1", (("a", "1"),)),
        ("?a=1", (("a", "1"),)),
        ("a=1&b=2", (("a", "1"), ("b", "2"))),
        ("a=x+y", (("a", "x y"),)),
        ("a=x%2By", (("a", "x+y"),)),
        ("a+b=c", (("a b", "c"),)),
        ("a=b=c", (("a", "b=c"),)),
        ("select", (("select", ""),)),
        ("a=", (("a", ""),)),
        ("a=1&&b=2&", (("a", "1"), ("b", "2"))),
        ("&&&", ()),
        ("name=eq.Jos%C3%A9", (("name", "eq.José"),)),
        ("%D9%87%D9%88=1", (("هو", "1"),)),
        ("a=%26%3D", (("a", "&="),)),
        ("a=%zz%", (("a", "%zz%"),)),  # malformed escapes stay as written
        ("a=%FF%FE", (("a", "\ufffd\ufffd"),)),  # not UTF-8: replaced, not a crash
        ("a=1;b=2", (("a", "1;b=2"),)),
    ],
)
def test_decode_query(query: str, pairs: tuple[tuple[str, str], ...]) -> None:
    assert decode_query(query) == pairs
    assert decode_query(query.encode()) == pairs


def test_decode_query_raw_utf8_bytes() -> None:
    assert decode_query("name=José".encode()) == (("name", "José"),)
    assert decode_query(b"name=\xff") == (("name", "\ufffd"),)


def test_query_pairs_reach_the_query_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[tuple[str, str], ...], bool]] = []

    def fake_parse(pairs: Sequence[tuple[str, str]], *, routine: bool = False) -> QueryParams:
        calls.append((tuple(pairs), routine))
        return QueryParams(params=tuple(pairs))

    monkeypatch.setattr(api_request, "parse_query_params", fake_parse)
    table = parse_request("GET", "/items", "id=eq.1&name=a+b", [])
    routine = parse_request("GET", "/rpc/fn", "x=%2B1", [])
    assert calls == [((("id", "eq.1"), ("name", "a b")), False), ((("x", "+1"),), True)]
    assert table.query == QueryParams(params=(("id", "eq.1"), ("name", "a b")))
    assert routine.query == QueryParams(params=(("x", "+1"),))


def test_query_string_is_parsed() -> None:
    request = get("/items", "select=id&id=eq.5&order=id.desc&limit=2&offset=1")
    assert request.query.select is not None
    assert len(request.query.conditions) == 1
    assert len(request.query.orders) == 1
    assert request.query.ranges  # limit/offset are carried, combining with Range is the planner's job


# --- headers ---------------------------------------------------------------------------------


def test_defaults_without_headers() -> None:
    request = get()
    assert request.preferences == Preferences()
    assert request.accept == (MediaType("*", "*"),)
    assert (request.content_type, request.range, request.schema) == (None, None, "public")
    assert (request.headers, request.cookies, request.body) == ((), (), None)


def test_header_names_are_case_insensitive() -> None:
    request = get(
        headers=[
            ("PREFER", "count=exact"),
            ("accept", "text/csv"),
            ("Content-TYPE", "application/json"),
            ("RANGE", "0-4"),
            ("range-UNIT", "items"),
        ]
    )
    assert request.preferences == Preferences(count="exact")
    assert request.accept == (MediaType("text", "csv"),)
    assert request.content_type == MediaType("application", "json")
    assert request.range == RangeHeader(0, 5)


def test_every_prefer_header_counts() -> None:
    request = get(headers=[("Prefer", "return=representation"), ("Prefer", "tx=rollback, anything")])
    assert request.preferences == Preferences(return_="representation", tx="rollback", invalid=("anything",))


def test_strict_handling_fails_the_request() -> None:
    error = error_of(parse_request, "POST", "/rpc/fn", "", [("Prefer", "handling=strict, anything")])
    assert (error.code, error.details) == ("PGRST122", "Invalid preferences: anything")


def test_several_accept_headers_are_one_list() -> None:
    request = get(headers=[("Accept", "text/csv;q=0.5"), ("Accept", "application/json")])
    assert [m.essence for m in request.accept] == ["application/json", "text/csv"]


def test_accept_plan_media_type() -> None:
    request = get(
        headers=[("Accept", 'application/vnd.pgrst.plan+json; for="application/json"; options=analyze;')]
    )
    assert request.accept == (
        MediaType(
            "application", "vnd.pgrst.plan+json", (("for", "application/json"), ("options", "analyze"))
        ),
    )


def test_range_is_read_for_get_only() -> None:
    headers = [("Range-Unit", "items"), ("Range", "1-1")]
    assert get(headers=headers).range == RangeHeader(1, 1)
    for method in ("HEAD", "POST", "PUT", "PATCH", "DELETE"):
        assert parse_request(method, "/items", "", headers).range is None


def test_reversed_range_is_416_on_get() -> None:
    error = error_of(get, headers=[("Range", "1-0")])
    assert (error.code, error.status) == ("PGRST103", 416)
    assert parse_request("POST", "/rpc/fn", "", [("Range", "1-0")]).range is None


def test_range_in_another_unit_is_ignored() -> None:
    assert get(headers=[("Range", "0-9"), ("Range-Unit", "bytes")]).range is None


def test_headers_keep_order_with_lower_case_names_and_without_cookies() -> None:
    request = get(
        headers=[("X-Custom", "a"), ("Cookie", "k=v"), ("Authorization", "Bearer t"), ("x-custom", "b")]
    )
    assert request.headers == (("x-custom", "a"), ("authorization", "Bearer t"), ("x-custom", "b"))


def test_body_is_carried() -> None:
    assert parse_request("POST", "/items", "", [], b'{"id":1}').body == b'{"id":1}'


# --- cookies ---------------------------------------------------------------------------------


def test_cookies_from_one_and_several_headers() -> None:
    assert get(headers=[("Cookie", "acookie=cookievalue")]).cookies == (("acookie", "cookievalue"),)
    request = get(headers=[("Cookie", "acookie=cookievalue;secondcookie=anothervalue"), ("cookie", "c=3")])
    assert request.cookies == (("acookie", "cookievalue"), ("secondcookie", "anothervalue"), ("c", "3"))


@pytest.mark.parametrize(
    ("value", "cookies"),
    [
        ("a=1; b=2", (("a", "1"), ("b", "2"))),
        ("a=", (("a", ""),)),
        ("a", (("a", ""),)),
        ("a=b=c", (("a", "b=c"),)),
        ("; =x; ;", ()),
        ("", ()),
    ],
)
def test_parse_cookies(value: str, cookies: tuple[tuple[str, str], ...]) -> None:
    assert parse_cookies([value]) == cookies


# --- schema profiles -------------------------------------------------------------------------

SCHEMAS = ("v1", "v2", 'SPECIAL "@/\\#~_-')


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reads_use_accept_profile(method: str) -> None:
    headers = [("Accept-Profile", "v2"), ("Content-Profile", "v1")]
    assert parse_request(method, "/items", "", headers, schemas=SCHEMAS).schema == "v2"


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_writes_use_content_profile(method: str) -> None:
    headers = [("Accept-Profile", "v2"), ("Content-Profile", "v1")]
    assert parse_request(method, "/items", "", headers, schemas=SCHEMAS).schema == "v1"


def test_profile_defaults_to_the_first_schema() -> None:
    assert get(schemas=SCHEMAS).schema == "v1"
    # the other direction's header does not count
    assert get(headers=[("Content-Profile", "v2")], schemas=SCHEMAS).schema == "v1"


def test_special_schema_names_are_accepted() -> None:
    assert get(headers=[("Accept-Profile", SCHEMAS[2])], schemas=SCHEMAS).schema == SCHEMAS[2]


@pytest.mark.parametrize("path", ["/parents", "/"])
def test_unknown_profile_is_406(path: str) -> None:
    error = error_of(get, path, headers=[("Accept-Profile", "unknown")], schemas=SCHEMAS)
    assert (error.code, error.status, error.message, error.details) == (
        "PGRST106",
        406,
        "Invalid schema: unknown",
        None,
    )
    assert error.hint == 'Only the following schemas are exposed: v1, v2, SPECIAL "@/\\#~_-'


def test_unknown_content_profile_is_406() -> None:
    error = error_of(parse_request, "POST", "/items", "", [("Content-Profile", "nope")], schemas=["v1"])
    assert error.code == "PGRST106"


def test_the_default_exposed_schema_is_public_and_no_other_profile_is_accepted() -> None:
    assert get().schema == "public"
    error = error_of(get, headers=[("Accept-Profile", "pg_catalog")])
    assert (error.code, error.status) == ("PGRST106", 406)


def test_no_exposed_schema_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one exposed schema"):
        get(headers=[("Accept-Profile", "anything")], schemas=())


# --- robustness ------------------------------------------------------------------------------

_methods = st.sampled_from(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "get", "TRACE"])
_header_names = st.sampled_from(
    [
        "Prefer",
        "Accept",
        "Content-Type",
        "Range",
        "Range-Unit",
        "Accept-Profile",
        "Content-Profile",
        "Cookie",
        "X-A",
    ]
)
_headers = st.lists(st.tuples(_header_names, st.text(max_size=40)), max_size=8)


@settings(max_examples=400, deadline=None)
@given(method=_methods, path=st.text(max_size=30), headers=_headers)
def test_arbitrary_paths_and_headers_only_raise_pgrst_errors(
    method: str, path: str, headers: Headers
) -> None:
    try:
        parse_request(method, "/" + path, "", headers, schemas=("v1", "v2"))
    except errors.PgrstError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(["/items", "/rpc/fn", "/"]),
    query=st.one_of(st.text(max_size=40), st.binary(max_size=40)),
)
def test_arbitrary_query_strings_only_raise_pgrst_errors(path: str, query: str | bytes) -> None:
    try:
        parse_request("GET", path, query, [])
    except errors.PgrstError:
        pass
