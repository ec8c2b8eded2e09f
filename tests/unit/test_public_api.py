"""The public API at the top of pgrest_core, and `prepare` as the whole pipeline (no database)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import pgrest_core
from pgrest_core import (
    Options,
    PgrstError,
    Prepared,
    Response,
    ResultRow,
    error_response,
    load_demo,
    parse_request,
    prepare,
    respond,
    sql_and_params,
    translate,
)
from pgrest_core.openapi import OPENAPI_CONTENT_TYPE
from pgrest_core.schema.model import QualifiedName

DEMO = load_demo()
PUBLIC = Options(schemas=("public",))


def prepared(
    method: str,
    path: str,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    options: Options = PUBLIC,
) -> Prepared:
    request = parse_request(method, path, query, headers or [], body, schemas=options.schemas)
    return prepare(request, DEMO, options)


def row(body: str | None = None, **fields: object) -> ResultRow:
    return ResultRow(total_count=None, page_count=0, body=body, **fields)  # type: ignore[arg-type]


def test_every_public_name_is_importable_and_documented() -> None:
    for name in pgrest_core.__all__:
        value = getattr(pgrest_core, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert value.__doc__, name


def test_importing_the_package_loads_neither_psycopg_nor_the_jwt_crypto_nor_sqlglot() -> None:
    check = "import sys, pgrest_core; print(sorted({m.split('.')[0] for m in sys.modules} & {'psycopg', 'cryptography', 'sqlglot'}))"
    env = {**os.environ, "PYTHONPATH": str(Path(pgrest_core.__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_sql_and_params_in_both_placeholder_styles() -> None:
    statement = translate("GET /films?select=title&year=gt.2000&title=like.*%25*", DEMO)
    text, params = sql_and_params(statement)
    assert params == ("2000", "%%%")
    assert '"films"."year" > %s' in text and '"films"."title" LIKE %s' in text
    dollar, same = sql_and_params(statement, "dollar")
    assert '"films"."year" > $1' in dollar and '"films"."title" LIKE $2' in dollar
    assert same == params


def test_translate_refuses_a_profile_outside_the_exposed_schemas() -> None:
    with pytest.raises(PgrstError) as caught:
        translate("GET /films", None, headers=[("Accept-Profile", "pg_catalog")])
    assert (caught.value.code, caught.value.status) == ("PGRST106", 406)


def test_prepare_refuses_a_request_parsed_for_other_schemas() -> None:
    request = parse_request("GET", "/films", "", [("Accept-Profile", "pg_catalog")], schemas=("pg_catalog",))
    with pytest.raises(PgrstError) as caught:
        prepare(request, None, PUBLIC)
    assert caught.value.code == "PGRST106"


def test_options_need_a_schema_and_a_clean_base_path() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Options(schemas=())
    for bad in ("api", "/api/"):
        with pytest.raises(ValueError, match="base_path"):
            Options(base_path=bad)


def test_error_response_is_the_postgrest_error_body() -> None:
    error = PgrstError("PGRST205", 404, "Could not find the table", hint="Perhaps you meant 'films'")
    response = error_response(error)
    assert response.status == 404
    assert ("Proxy-Status", "PostgREST; error=PGRST205") in response.headers
    assert json.loads(response.body)["hint"] == "Perhaps you meant 'films'"
    assert json.loads(error_response(error, verbose=False).body) == {
        "code": "PGRST205",
        "message": "Could not find the table",
    }


# --- OPTIONS and the root go through prepare ---------------------------------------------------


def test_options_is_answered_without_the_database() -> None:
    options = prepared("OPTIONS", "/films")
    assert options.answer == Response(200, (("Allow", "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"),), b"")
    assert respond(options, row()) == options.answer  # running the empty statement changes nothing


def test_options_of_an_unknown_table_is_pgrst205() -> None:
    with pytest.raises(PgrstError) as caught:
        prepared("OPTIONS", "/nope")
    assert caught.value.code == "PGRST205"


def test_the_document_follows_privileges_through_a_statement_and_its_row() -> None:
    root = prepared("GET", "/", headers=[("Host", "films.test:8443")], options=replace(PUBLIC, base_path="/v1"))
    assert root.answer is None and root.is_metadata and root.read_only
    assert "has_table_privilege" in root.statement.text and root.statement.params == ("public", "public")
    response = respond(root, row(json.dumps({"tables": ["films"], "routines": []})))
    assert (response.status, response.headers) == (200, (("Content-Type", OPENAPI_CONTENT_TYPE),))
    document = json.loads(response.body)
    assert list(document["paths"]) == ["/", "/films"]
    assert (document["host"], document["basePath"]) == ("films.test:8443", "/v1")


def test_the_document_ignoring_privileges_needs_no_database() -> None:
    root = prepared("GET", "/", options=replace(PUBLIC, openapi_mode="ignore-privileges"))
    assert root.answer is not None and not root.is_metadata
    assert "/directors" in json.loads(root.answer.body)["paths"]


def test_the_proxy_uri_wins_over_the_host_header() -> None:
    options = replace(PUBLIC, openapi_mode="ignore-privileges", openapi_server_proxy_uri="https://x.org/api")
    root = prepared("GET", "/", headers=[("Host", "films.test")], options=options)
    assert root.answer is not None
    document = json.loads(root.answer.body)
    assert (document["host"], document["basePath"]) == ("x.org:443", "/api")


def test_a_disabled_root_and_an_unacceptable_document() -> None:
    with pytest.raises(PgrstError) as caught:
        prepared("GET", "/", options=replace(PUBLIC, openapi_mode="disabled"))
    assert caught.value.code == "PGRST126"
    with pytest.raises(PgrstError) as caught:
        prepared("GET", "/", headers=[("Accept", "text/csv")])
    assert caught.value.code == "PGRST107"


def test_db_root_spec_calls_the_function_and_labels_openapi() -> None:
    (search,) = DEMO.routines[QualifiedName("public", "search_films")]
    spec = replace(search, name="spec", params=())
    cache = replace(DEMO, routines={**DEMO.routines, QualifiedName("public", "spec"): (spec,)})
    options = replace(PUBLIC, root_spec="spec")

    def root(headers: list[tuple[str, str]]) -> Prepared:
        return prepare(parse_request("GET", "/", "", headers, schemas=options.schemas), cache, options)

    labelled = root([("Accept", "application/openapi+json")])
    assert '"public"."spec"' in labelled.statement.text
    assert labelled.recipe.content_type == OPENAPI_CONTENT_TYPE
    assert root([]).recipe.content_type.startswith("application/json")


def test_several_schemas_say_which_one_answered() -> None:
    cache = replace(DEMO, schemas=("public", "other"))
    options = Options(schemas=("public", "other"))
    request = parse_request("GET", "/films", "", [], schemas=options.schemas)
    read = prepare(request, cache, options)
    response = respond(read, ResultRow(total_count=None, page_count=0, body="[]"))
    assert ("Content-Profile", "public") in response.headers
    single = respond(prepared("GET", "/films"), ResultRow(total_count=None, page_count=0, body="[]"))
    assert all(name != "Content-Profile" for name, _ in single.headers)


def test_the_base_path_prefixes_content_location_and_location() -> None:
    mounted = replace(PUBLIC, base_path="/api")
    read = prepared("GET", "/films", "select=id", options=mounted)
    assert read.content_location == "/api/films?select=id"
    write = prepared(
        "POST", "/directors", "", [("Prefer", "return=headers-only")], b'{"first_name":"a","last_name":"b"}', mounted
    )
    created = respond(write, ResultRow(total_count=None, page_count=1, body="", location='["7"]'))
    assert ("Location", "/api/directors?id=eq.7") in created.headers


@pytest.mark.parametrize(
    ("host", "expected"),
    [("films.test", "films.test:80"), ("[::1]:8080", "[::1]:8080"), ("127.0.0.1:3000", "127.0.0.1:3000")],
)
def test_the_document_host_comes_from_the_host_header(host: str, expected: str) -> None:
    options = replace(PUBLIC, openapi_mode="ignore-privileges")
    root = prepared("GET", "/", headers=[("Host", host)], options=options)
    assert root.answer is not None
    assert json.loads(root.answer.body)["host"] == expected
    without = prepared("GET", "/", options=options)
    assert without.answer is not None and json.loads(without.answer.body)["host"] == "0.0.0.0:3000"


def test_the_root_answers_openapi_31_when_asked_or_configured() -> None:
    from pgrest_core.openapi3 import OPENAPI31_CONTENT_TYPE

    options = replace(PUBLIC, openapi_mode="ignore-privileges")
    asked = prepared("GET", "/", headers=[("Accept", "application/openapi+json;version=3.1")], options=options)
    assert asked.answer is not None
    assert dict(asked.answer.headers)["Content-Type"] == OPENAPI31_CONTENT_TYPE
    assert json.loads(asked.answer.body)["openapi"] == "3.1.0"
    configured = prepared("GET", "/", options=replace(PUBLIC, openapi_default_version="3.1"))
    document = respond(configured, row(json.dumps({"tables": ["films"], "routines": []})))
    assert json.loads(document.body)["openapi"] == "3.1.0"
    assert "/films" in json.loads(document.body)["paths"]
