"""The OpenAPI 3.1 document: valid, and saying what the 2.0 document cannot."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from pgrest_core.openapi import OpenApiOptions, Visible
from pgrest_core.openapi3 import component_key, json_schema_for, openapi31_document
from pgrest_core.schema.model import (
    Column,
    QualifiedName,
    ReturnType,
    Routine,
    RoutineParam,
    SchemaCache,
    Table,
)
from pgrest_core.schema.snapshot import load_demo

BOOKS = Table(
    "api",
    "books",
    (
        Column("id", "integer", nullable=False, default="nextval('books_id_seq'::regclass)"),
        Column("title", "character varying(80)", nullable=False, max_length=80),
        Column("year", "smallint"),
        Column("genre", "api.genre", enum_values=("fiction", "poetry")),
        Column("meta", "jsonb"),
        Column("tags", "text[]", nullable=False),
    ),
    primary_key=("id",),
    description="Books\n\nWhat the library holds",
)
STATS = Table("api", "stats", (Column("n", "bigint"),), is_view=True, insertable=False, updatable=False,
              deletable=False)
SEARCH = Routine(
    "api",
    "search",
    (RoutineParam("q", "text"), RoutineParam("lim", "integer", required=False)),
    ReturnType("api", "books", set_of=True, composite=True),
    volatility="stable",
)
TOUCH = Routine("api", "touch", (RoutineParam("id", "integer"),), ReturnType("pg_catalog", "void"))
CACHE = SchemaCache(
    schemas=("api", "other"),
    tables={BOOKS.qualified_name: BOOKS, STATS.qualified_name: STATS},
    routines={SEARCH.qualified_name: (SEARCH,), TOUCH.qualified_name: (TOUCH,)},
)


def document(visible: Visible | None = None, **options: Any) -> dict[str, Any]:
    return openapi31_document(CACHE, OpenApiOptions(schema="api", **options), visible)


def test_the_document_is_valid_openapi_31() -> None:
    validate(document())
    demo = load_demo()
    validate(openapi31_document(demo, OpenApiOptions(schema=demo.schemas[0], security_active=True)))


def test_nullable_columns_allow_null_and_not_null_ones_do_not() -> None:
    properties = document()["components"]["schemas"]["books"]["properties"]
    assert properties["id"]["type"] == "integer"
    assert properties["year"]["type"] == ["integer", "null"]
    assert properties["genre"] == {
        "type": ["string", "null"], "enum": ["fiction", "poetry", None], "x-postgresql-type": "api.genre",
    }
    assert properties["title"]["maxLength"] == 80
    assert properties["meta"] == {"x-postgresql-type": "jsonb"}  # any JSON value, null included
    assert properties["tags"]["type"] == "array"


def test_writes_require_the_columns_without_a_default() -> None:
    post = document()["paths"]["/books"]["post"]
    one = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert one["allOf"][1] == {"required": ["title", "tags"]}
    assert "text/csv" in post["requestBody"]["content"]


def test_every_operation_documents_errors_with_the_error_body() -> None:
    doc = document()
    for name, path in doc["paths"].items():
        for operation in path.values():
            if name.startswith("/rpc/"):  # the function's own answer too, see below
                schema = operation["responses"]["default"]["content"]["application/json"]["schema"]
                assert schema["anyOf"][0] == {"$ref": "#/components/schemas/Error"}
            else:
                assert operation["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    error = doc["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "message", "details", "hint"}
    assert error["required"] == ["code", "message"]


def test_reads_describe_headers_media_types_and_content_range() -> None:
    get = document()["paths"]["/books"]["get"]
    names = {ref["$ref"].rsplit("/", 1)[1] for ref in get["parameters"]}
    assert {"range", "rangeUnit", "preferRead", "acceptProfile", "rowFilter.books.year"} <= names
    ok = get["responses"]["200"]
    assert set(ok["content"]) >= {"application/json", "text/csv", "application/vnd.pgrst.object+json"}
    assert ok["headers"]["Content-Range"] == {"$ref": "#/components/headers/Content-Range"}
    profile = document()["components"]["parameters"]["acceptProfile"]
    assert profile["in"] == "header" and profile["schema"]["enum"] == ["api", "other"]


def test_read_only_relations_have_only_get() -> None:
    assert set(document()["paths"]["/stats"]) == {"get"}


def test_function_arguments_are_typed() -> None:
    path = document()["paths"]["/rpc/search"]
    query = {p["name"]: p for p in path["get"]["parameters"] if "name" in p}
    assert query["q"]["required"] is True and query["lim"]["required"] is False
    body = path["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["lim"]["type"] == ["integer", "null"]
    assert body["required"] == ["q"]
    assert path["get"]["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"


def test_volatile_functions_are_post_only_and_void_answers_no_content() -> None:
    path = document()["paths"]["/rpc/touch"]
    assert set(path) == {"post"}
    assert "204" in path["post"]["responses"] and "200" not in path["post"]["responses"]


def test_jwt_bearer_scheme_is_optional() -> None:
    doc = document()
    assert doc["components"]["securitySchemes"]["JWT"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A JWT whose role claim names the database role to switch to",
    }
    assert doc["security"] == [{}, {"JWT": []}]


def test_privileges_decide_what_is_described() -> None:
    doc = document(Visible(frozenset({"stats"}), frozenset({"search"})))
    assert set(doc["paths"]) == {"/", "/stats", "/rpc/search"}
    assert set(doc["components"]["schemas"]) == {"Error", "stats"}


def test_server_url_follows_the_proxy_uri() -> None:
    assert document(proxy_uri="https://api.example.org/v1")["servers"] == [
        {"url": "https://api.example.org/v1"}
    ]
    assert document(server_host="!4", server_port=3000)["servers"] == [{"url": "http://0.0.0.0:3000"}]


@pytest.mark.parametrize(
    ("type_name", "schema"),
    [
        ("bigint", {"type": "integer", "format": "int64"}),
        ("numeric(10,2)", {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}),
        ("timestamp with time zone", {"type": "string"}),
        ("integer[]", {"type": "array", "items": {"anyOf": [
            {"type": ["integer", "null"], "format": "int32"}, {"type": "array"}]}}),
        ("jsonb[]", {"type": "array", "items": {}}),
        ("json", {}),
        ("api.complex", {}),
    ],
)
def test_json_schema_of_postgresql_types(type_name: str, schema: dict[str, Any]) -> None:
    assert json_schema_for(type_name) == schema


def test_descriptions_come_from_comments() -> None:
    doc = document()
    assert doc["paths"]["/books"]["get"]["summary"] == "Books"
    assert doc["paths"]["/books"]["get"]["description"] == "What the library holds"
    assert QualifiedName("api", "books") in CACHE.tables


def _valid(schema: dict[str, Any], value: Any) -> bool:
    return bool(OAS31Validator(schema).is_valid(value))


def test_floats_and_numerics_allow_the_special_values_postgresql_writes_as_strings() -> None:
    # fuzz12: POST /films {"rating": "NaN"} was stored and read back as "rating": "NaN"
    for type_name in ("numeric(3,1)", "real", "double precision"):
        schema = json_schema_for(type_name)
        assert all(_valid(schema, value) for value in (8.5, 0, "NaN", "Infinity", "-Infinity"))
        assert not _valid(schema, "8.5") and not _valid(schema, None)
    rating = openapi31_document(load_demo(), OpenApiOptions(schema="public"))
    rating = rating["components"]["schemas"]["films"]["properties"]["rating"]
    assert _valid(rating, None) and _valid(rating, "NaN") and not _valid(rating, "high")


def test_array_items_may_be_null_or_nested_arrays() -> None:
    tags = document()["components"]["schemas"]["books"]["properties"]["tags"]
    assert _valid(tags, ["a", None]) and _valid(tags, [["a", "b"], ["c", None]])
    assert not _valid(tags, None) and not _valid(tags, [1])


def test_functions_returning_a_tables_rows_describe_its_columns_all_nullable() -> None:
    ok = document()["paths"]["/rpc/search"]["get"]["responses"]["200"]
    row = ok["content"]["application/json"]["schema"]["items"]
    assert set(row["properties"]) == {"id", "title", "year", "genre", "meta", "tags"}
    assert _valid(row, {"id": None, "title": None, "year": 2001})  # a composite has no NOT NULL
    assert not _valid(row, {"id": "one"})
    assert ok["content"]["application/vnd.pgrst.object+json"]["schema"] == row
    assert "Content-Range" in ok["headers"]


def test_functions_returning_rows_of_an_undescribed_type_answer_objects() -> None:
    doc = document(Visible(frozenset({"stats"}), frozenset({"search"})))
    items = doc["paths"]["/rpc/search"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert items == {"type": "array", "items": {"type": "object"}}


def test_component_keys_of_names_openapi_does_not_allow_are_escaped() -> None:
    # fuzz12: the conformance fixture's "Server Today" and "Escap3e;" made the document invalid
    odd = Table("api", "Server Today", (Column("my id;", "integer"),))
    cache = SchemaCache(schemas=("api",), tables={odd.qualified_name: odd})
    doc = openapi31_document(cache, OpenApiOptions(schema="api"))
    validate(doc)
    assert "Server_20Today" in doc["components"]["schemas"]
    assert "rowFilter.Server_20Today.my_20id_3B" in doc["components"]["parameters"]
    assert doc["paths"]["/Server Today"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"]["items"] == {"$ref": "#/components/schemas/Server_20Today"}
    assert [component_key(name) for name in ("films", "film_details", "a_b c", "é")] == [
        "films", "film_details", "a_5Fb_20c", "_C3_A9"]


def test_a_functions_other_answers_are_errors_or_its_own_result() -> None:
    # fuzz12: the conformance fixture's send_body_status_403 answers 403 {"message": "..."}
    returns_int = Routine("api", "score", (), ReturnType("pg_catalog", "integer"))
    cache = SchemaCache(schemas=("api",), routines={returns_int.qualified_name: (returns_int,)})
    doc = openapi31_document(cache, OpenApiOptions(schema="api"))
    validate(doc)
    other = doc["paths"]["/rpc/score"]["post"]["responses"]["default"]["content"]["application/json"]["schema"]
    other = {**other, "components": doc["components"]}  # for the $ref
    assert _valid(other, 3) and _valid(other, None)
    assert _valid(other, {"code": "P0001", "message": "m", "details": None, "hint": None})
    assert not _valid(other, "text") and not _valid(other, {"message": "no code"})


def test_functions_returning_a_media_type_domain_answer_that_media_type() -> None:
    # fuzz12: the conformance fixture's some_trans returns "*/*" and answers application/octet-stream
    def routine(name: str, domain: str) -> Routine:
        return Routine("api", name, (), ReturnType("api", domain))

    routines = (routine("html", "text/html"), routine("blob", "*/*"), routine("txt", "text"))
    cache = SchemaCache(
        schemas=("api",),
        routines={r.qualified_name: (r,) for r in routines},
        media_types={QualifiedName("api", "text/html"): "text", QualifiedName("api", "*/*"): "bytea"},
    )
    doc = openapi31_document(cache, OpenApiOptions(schema="api"))
    validate(doc)

    def content(name: str) -> set[str]:
        return set(doc["paths"][f"/rpc/{name}"]["post"]["responses"]["200"]["content"])

    assert content("html") == {"application/json", "text/html"}
    assert content("blob") == {"application/json", "application/octet-stream"}
    assert content("txt") == {"application/json"}
