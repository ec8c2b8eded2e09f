"""The transaction prelude: one `select set_config(...)`, every value a parameter."""

from __future__ import annotations

from pgrest_core.fragment import Fragment
from pgrest_core.sql.prelude import RequestContext, pre_request_call, prelude, search_path

SET = "set_config(\x00, \x00, true)"


def assert_fragment(fragment: Fragment, text: str, params: tuple[object, ...]) -> None:
    assert (fragment.render("dollar"), fragment.params) == (text, params)


def _context(**overrides: object) -> RequestContext:
    base: dict[str, object] = {
        "schema": "api",
        "role": "web_anon",
        "claims": {"role": "web_anon"},
        "method": "GET",
        "path": "/films",
    }
    base.update(overrides)
    return RequestContext(**base)  # type: ignore[arg-type]


def _dollar_text(count: int) -> str:
    slots = ", ".join(f"set_config(${2 * i + 1}, ${2 * i + 2}, true)" for i in range(count))
    return "select " + slots


def test_minimal_context_sets_the_seven_standard_settings() -> None:
    assert_fragment(
        prelude(_context()),
        _dollar_text(7),
        (
            "search_path", '"api"',
            "role", "web_anon",
            "request.jwt.claims", '{"role":"web_anon"}',
            "request.method", "GET",
            "request.path", "/films",
            "request.headers", "{}",
            "request.cookies", "{}",
        ),
    )


def test_headers_cookies_app_settings_and_timezone() -> None:
    context = _context(
        method="POST",
        path="/rpc/hello",
        claims={"role": "author", "sub": "ü"},
        role="author",
        headers=(("accept", "*/*"), ("x-a", "1")),
        cookies=(("sid", "abc"),),
        extra_search_path=("public", "ext"),
        app_settings=(("host", "localhost"),),
        timezone="America/Lima",
    )
    assert_fragment(
        prelude(context),
        _dollar_text(9),
        (
            "search_path", '"api", "public", "ext"',
            "role", "author",
            "request.jwt.claims", '{"role":"author","sub":"ü"}',
            "request.method", "POST",
            "request.path", "/rpc/hello",
            "request.headers", '{"accept":"*/*","x-a":"1"}',
            "request.cookies", '{"sid":"abc"}',
            "app.settings.host", "localhost",
            "timezone", "America/Lima",
        ),
    )


def test_prelude_text_depends_only_on_the_number_of_settings() -> None:
    one = prelude(_context(role="a", path="/x"))
    other = prelude(_context(role="b'; drop table x; --", path="/y"))
    assert one.text == other.text
    assert "drop" not in other.text


def test_search_path_quotes_each_schema_and_skips_repeats() -> None:
    assert search_path('my "schema"', ("public", 'my "schema"')) == '"my ""schema""", "public"'


def test_pre_request_call_quotes_each_part_of_a_qualified_name() -> None:
    assert_fragment(pre_request_call("test.switch_role"), 'select "test"."switch_role"()', ())
    assert_fragment(pre_request_call("check"), 'select "check"()', ())


def test_psycopg_rendering_uses_percent_s() -> None:
    assert prelude(_context()).render("psycopg") == "select " + ", ".join(["set_config(%s, %s, true)"] * 7)
    assert SET in prelude(_context()).text
