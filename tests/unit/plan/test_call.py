"""The call compiler: `/rpc/fn` request -> SQL text and parameters, asserted together; overload errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import Options, prepare
from pgrest_core.plan.call import array_literal, cast_type
from pgrest_core.request.api_request import parse_request
from pgrest_core.schema.model import QualifiedName, ReturnType, Routine, RoutineParam, SchemaCache
from tests.unit.plan.films import FILMS, films_cache


def _routine(
    name: str,
    params: tuple[RoutineParam, ...],
    returns: ReturnType,
    volatility: str = "volatile",
) -> Routine:
    assert volatility in ("immutable", "stable", "volatile")
    return Routine("public", name, params, returns, volatility)  # type: ignore[arg-type]


INT = ReturnType("pg_catalog", "int4")
TEXT = ReturnType("pg_catalog", "text")
FILM_ROWS = ReturnType("public", "films", set_of=True, composite=True)
ROUTINES = (
    _routine("add", (RoutineParam("a", "integer"), RoutineParam("b", "integer")), INT, "immutable"),
    _routine("films_after", (RoutineParam("year", "integer"),), FILM_ROWS, "stable"),
    _routine("film", (RoutineParam("id", "integer"),), replace(FILM_ROWS, set_of=False)),
    _routine("numbers", (), replace(INT, set_of=True)),
    _routine("touch", (), ReturnType("pg_catalog", "void")),
    _routine("greet", (RoutineParam("name", "text"), RoutineParam("v", "text[]", variadic=True)), TEXT),
    _routine("pad", (RoutineParam("c", "character"),), TEXT),
    _routine("echo", (RoutineParam("", "json"),), ReturnType("pg_catalog", "json")),
    _routine("echo", (RoutineParam("", "text"),), TEXT),
    _routine("echo", (RoutineParam("x", "integer"),), INT),
    _routine("same", (RoutineParam("arg", "integer"),), INT),
    _routine("same", (RoutineParam("arg", "text"), RoutineParam("n", "integer", required=False)), INT),
    _routine("defaults", (RoutineParam("a", "integer", required=False), RoutineParam("b", "integer")), INT),
)


def rpc_cache() -> SchemaCache:
    by_name: dict[QualifiedName, tuple[Routine, ...]] = {}
    for routine in ROUTINES:
        by_name[routine.qualified_name] = by_name.get(routine.qualified_name, ()) + (routine,)
    return replace(films_cache(), routines=by_name)


CACHE = rpc_cache()
OPTIONS = Options(schemas=("public",))


def compile_call(
    line: str, body: str | None = None, headers: list[tuple[str, str]] | None = None
) -> tuple[str, tuple[object, ...], bool]:
    method, _, target = line.partition(" ")
    path, _, query = target.partition("?")
    request = parse_request(method, path, query, headers or [], body.encode() if body is not None else None)
    prepared = prepare(request, CACHE, OPTIONS)
    return prepared.statement.render("dollar"), prepared.statement.params, prepared.read_only


def call_error(
    line: str, body: str | None = None, headers: list[tuple[str, str]] | None = None
) -> PgrstError:
    with pytest.raises(PgrstError) as caught:
        compile_call(line, body, headers)
    return caught.value


GUCS = (
    "nullif(current_setting('response.headers', true), '') AS response_headers, "
    "nullif(current_setting('response.status', true), '') AS response_status"
)


def wrapper(ctes: str, body: str, total: str = "NULL") -> str:
    return (
        f"WITH {ctes} SELECT {total}::bigint AS total_count, pg_catalog.count(_pgrst_t) AS page_count, "
        f"{body} AS body, {GUCS} FROM pgrst_source AS _pgrst_t"
    )


SCALAR_BODY = "coalesce((json_agg(_pgrst_t.pgrst_scalar)->0)::text, 'null')"
SCALAR_SOURCE = 'pgrst_source AS (SELECT "pgrst_call"."pgrst_scalar" FROM "pgrst_call")'


def test_scalar_function_with_query_arguments_is_read_only_and_typed_from_the_cache() -> None:
    assert compile_call("GET /rpc/add?a=1&b=2") == (
        wrapper(
            'pgrst_call AS (SELECT "public"."add"("a" := $1::integer, "b" := $2::integer) AS "pgrst_scalar"), '
            + SCALAR_SOURCE,
            SCALAR_BODY,
        ),
        ("1", "2"),
        True,
    )


def test_post_takes_json_values_and_immutable_functions_stay_read_only() -> None:
    sql_text, params, read_only = compile_call("POST /rpc/add", '{"a": 1, "b": 2.5}')
    assert (params, read_only) == (("1", "2.5"), True)
    assert '"public"."add"("a" := $1::integer, "b" := $2::integer)' in sql_text


def test_table_returning_function_reads_like_a_table_with_filters_order_and_page() -> None:
    sql_text, params, _ = compile_call(
        "GET /rpc/films_after?year=2000&select=id,title&id=gt.3&order=id&limit=2"
    )
    assert (sql_text, params) == (
        wrapper(
            'pgrst_source AS (SELECT "films"."id" AS "id", "films"."title" AS "title" '
            'FROM "public"."films_after"("year" := $1::integer) AS "films" '
            'WHERE "films"."id" > $2 ORDER BY "films"."id" LIMIT $3)',
            "coalesce(json_agg(_pgrst_t), '[]')::text",
        ),
        ("2000", "3", 2),
    )


def test_count_puts_the_call_in_a_cte_so_it_runs_once() -> None:
    sql_text, params, _ = compile_call(
        "GET /rpc/films_after?year=2000&select=id", headers=[("Prefer", "count=exact")]
    )
    assert (sql_text, params) == (
        wrapper(
            'pgrst_call AS (SELECT "pgrst_call".* FROM "public"."films_after"("year" := $1::integer) AS "pgrst_call"), '
            'pgrst_source AS (SELECT "films"."id" AS "id" FROM "pgrst_call" AS "films")',
            "coalesce(json_agg(_pgrst_t), '[]')::text",
            total='(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM "pgrst_call" AS "films") AS pgrst_count)',
        ),
        ("2000",),
    )


def test_single_composite_is_an_object_and_volatile_post_is_read_write() -> None:
    sql_text, params, read_only = compile_call("POST /rpc/film", '{"id": 7}')
    assert "coalesce((json_agg(_pgrst_t)->0)::text, 'null') AS body" in sql_text
    assert (params, read_only) == (("7",), False)


def test_set_of_scalars_is_an_array_and_pages() -> None:
    sql_text, params, _ = compile_call("GET /rpc/numbers?limit=2&offset=1")
    assert 'SELECT "pgrst_call"."pgrst_scalar" FROM "pgrst_call" LIMIT $1 OFFSET $2' in sql_text
    assert "coalesce(json_agg(_pgrst_t.pgrst_scalar), '[]')::text AS body" in sql_text
    assert params == (2, 1)


def test_variadic_from_repeated_query_params_and_from_a_json_array() -> None:
    expected = '"public"."greet"("name" := $1::text, VARIADIC "v" := $2::text[])'
    sql_text, params, _ = compile_call("GET /rpc/greet?name=x&name=world&v=a&v=b%2Cc")
    assert expected in sql_text
    assert params == ("world", '{"a","b,c"}')
    sql_text, params, _ = compile_call("POST /rpc/greet", '{"name": "w", "v": ["a", null, 1]}')
    assert params == ("w", '{"a",NULL,"1"}')


def test_get_values_that_read_as_filters_filter_the_result() -> None:
    sql_text, params, _ = compile_call("GET /rpc/films_after?year=2000&year=gt.2010&select=id")
    assert (
        'FROM "public"."films_after"("year" := $1::integer) AS "films" WHERE "films"."year" > $2' in sql_text
    )
    assert params == ("2000", "2010")


def test_post_query_params_must_be_filters() -> None:
    error = call_error("POST /rpc/add?a=1", '{"a": 1, "b": 2}')
    assert (error.code, error.status) == ("PGRST100", 400)


def test_unbounded_character_types_and_array_literals() -> None:
    assert cast_type("character") == "bpchar"
    assert cast_type("bit[]") == "varbit[]"
    assert cast_type("character varying") == "character varying"
    assert array_literal(['a"b', ["c"], None, True]) == '{"a\\"b",{"c"},NULL,"true"}'
    assert compile_call("GET /rpc/pad?c=abcdef")[0].count("$1::bpchar") == 1


def test_single_unnamed_param_takes_the_whole_body_by_content_type() -> None:
    _, params, _ = compile_call("POST /rpc/echo", '{"A": 1}')
    assert params == ('{"A": 1}',)
    sql_text, params, _ = compile_call("POST /rpc/echo", "some text", [("Content-Type", "text/plain")])
    assert '"public"."echo"($1::text)' in sql_text
    assert params == ("some text",)
    _, params, _ = compile_call("POST /rpc/echo", '{"x": 4}')
    assert params == ("4",)


def test_void_function_answers_204() -> None:
    request = parse_request("POST", "/rpc/touch", "", [], b"")
    prepared = prepare(request, CACHE, OPTIONS)
    assert prepared.recipe.no_content
    assert not prepared.read_only


def test_optional_parameters_may_be_left_out() -> None:
    sql_text, params, _ = compile_call("GET /rpc/defaults?b=4")
    assert '"public"."defaults"("b" := $1::integer)' in sql_text
    assert params == ("4",)


def test_unknown_function_suggests_a_similar_name() -> None:
    error = call_error("GET /rpc/film_after")
    assert (error.code, error.status, error.message, error.details, error.hint) == (
        "PGRST202",
        404,
        "Could not find the function public.film_after without parameters in the schema cache",
        "Searched for the function public.film_after without parameters, but no matches were found "
        "in the schema cache.",
        "Perhaps you meant to call the function public.films_after",
    )


def test_wrong_arguments_suggest_an_overload_and_mention_the_json_fallback_on_post() -> None:
    error = call_error("POST /rpc/add", '{"a": 1, "c": 2}')
    assert (error.message, error.details, error.hint) == (
        "Could not find the function public.add(a, c) in the schema cache",
        "Searched for the function public.add with parameters a, c or with a single unnamed json/jsonb "
        "parameter, but no matches were found in the schema cache.",
        "Perhaps you meant to call the function public.add(a, b)",
    )


def test_raw_body_without_a_matching_function() -> None:
    error = call_error("POST /rpc/add", "x", [("Content-Type", "text/xml")])
    assert (error.message, error.details, error.hint) == (
        "Could not find the function public.add in the schema cache",
        "Searched for the function public.add with a single unnamed xml parameter, "
        "but no matches were found in the schema cache.",
        None,
    )


def test_ambiguous_overloads_are_300() -> None:
    error = call_error("GET /rpc/same?arg=1")
    assert (error.code, error.status, error.message) == (
        "PGRST203",
        300,
        "Could not choose the best candidate function between: "
        "public.same(arg => integer), public.same(arg => text, n => integer)",
    )


def test_malformed_json_body_is_pgrst102() -> None:
    assert call_error("POST /rpc/add", "nope").code == "PGRST102"


def test_embeds_on_table_returning_functions() -> None:
    sql_text, _, _ = compile_call("GET /rpc/films_after?year=1&select=title,directors(last_name)")
    assert 'FROM "public"."films_after"("year" := $1::integer) AS "films" LEFT JOIN LATERAL' in sql_text
    assert FILMS.name in sql_text


# --- issue 8: the body decoder shared with writes ------------------------------------------------

CSV_HEADERS = [("Content-Type", "text/csv")]


@pytest.mark.parametrize("line_end", ["\r", "\n", "\r\n"])
def test_a_csv_body_s_first_row_is_the_arguments_whatever_its_line_ends(line_end: str) -> None:
    _, params, _ = compile_call("POST /rpc/add", f"a,b{line_end}1,2{line_end}", CSV_HEADERS)
    assert params[:2] == ("1", "2")


def test_a_csv_null_cell_is_a_null_argument() -> None:
    _, params, _ = compile_call("POST /rpc/add", "a,b\n1,NULL\n", CSV_HEADERS)
    assert params[:2] == ("1", None)


def test_malformed_csv_arguments_are_pgrst102() -> None:
    error = call_error("POST /rpc/add", 'a,b\n"1', CSV_HEADERS)
    assert (error.code, error.status) == ("PGRST102", 400)


def test_json_rows_of_a_call_must_have_the_same_keys() -> None:
    error = call_error("POST /rpc/add", '[{"a": 1, "b": 2}, {"a": 1}]')
    assert (error.code, error.message) == ("PGRST102", "All object keys must match")


def test_a_nul_in_a_json_text_argument_is_22p05_like_a_table_insert() -> None:
    error = call_error("POST /rpc/greet", '{"name": "a\\u0000b", "v": []}')
    assert (error.code, error.status, error.message, error.details) == (
        "22P05",
        400,
        "unsupported Unicode escape sequence",
        "\\u0000 cannot be converted to text.",
    )


def test_a_nul_in_a_json_argument_stays_an_escape() -> None:
    _, params, _ = compile_call("POST /rpc/echo", '{"x": 1}')
    assert params[0] == "1"
    _, params, _ = compile_call("POST /rpc/echo", '{"y": "a\\u0000b"}')
    assert params[0] == '{"y": "a\\u0000b"}'


def test_an_argument_nested_too_deep_for_python_reaches_postgresql_as_json_text() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    _, params, _ = compile_call("POST /rpc/add", '{"a": ' + deep + ', "b": 1}')
    assert params[:2] == (deep, "1")
