"""OpenAPI 3.1 fuzzing (issue 12 part 1): schemathesis generates requests from the 3.1 document
that a live `pgrest serve --demo` answers at `/` (with `openapi-default-version = "3.1"`), and
every response must agree with that document: status code, content type, body schema (errors
included) and headers. Unlike the 2.0 run (test_openapi_fuzz.py, conventions.py), no built-in
response check is filtered out: the 3.1 document claims to describe every answer.

Bounded and seeded like the 2.0 run: `PGREST_FUZZ_EXAMPLES` examples (default 3) per operation
and generation mode, over every operation of the demo. .ci/run raises the examples.

The conformance fixture's `test` schema (larger, richer types) gets its 3.1 document checked
with openapi-spec-validator, and a seeded sample of `PGREST_FUZZ_OPERATIONS` of its operations
(default 25) fuzzed the same way; both skip with a printed reason without the fixture.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from schemathesis import CheckContext, Response  # noqa: E402
from schemathesis.generation.case import Case  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conventions import no_server_error_but_the_databases, postgrest_shaped_error  # noqa: E402
from tests.fuzz.live import free_port, pgrest_serve  # noqa: E402
from tests.fuzz.test_openapi_fuzz import (  # noqa: E402, F401
    _summary,
    conformance_config,
    fuzz,
    new_problems,
    report,
)

OPENAPI31 = {"PGRST_OPENAPI_DEFAULT_VERSION": "3.1"}

Check = Callable[[CheckContext, Response, Case[Any]], "bool | None"]


def _prefer(case: Case[Any]) -> str:
    return ",".join(str(value) for key, value in (case.headers or {}).items() if key.lower() == "prefer")


def _prefers_representation(case: Case[Any]) -> bool:
    return "return=representation" in _prefer(case).replace(" ", "")


def created_without_body(response: Response, case: Case[Any]) -> bool:
    """A POST's 201 without `Prefer: return=representation`: PostgREST's default (return=minimal)
    answers no body and no Content-Type. OpenAPI cannot mark a response's `content` optional (it
    lists the *potential* payloads), so the document's 201 describes the rows of
    return=representation, and a body-less 201 is right exactly when they were not asked for.
    An upsert (`Prefer: resolution=…`) that inserted no row (all were updated, or there were
    none) answers 200 instead of 201, with no body either."""
    upsert = "resolution=" in _prefer(case)
    return (
        case.method.upper() == "POST"
        and (response.status_code == 201 or (response.status_code == 200 and upsert))
        and not response.content
        and "content-type" not in {key.lower() for key in response.headers}
        and not _prefers_representation(case)
    )


def about_the_body(check: Check) -> Check:
    """`check`, for every response but a body-less 201 that return=minimal explains."""

    @wraps(check)
    def checked(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        if created_without_body(response, case):
            return None
        return check(ctx, response, case)

    return checked


CHECKS31: list[Check] = [
    # not_a_server_error, narrowed to the database errors PostgREST answers with 5xx by design
    no_server_error_but_the_databases,
    postgrest_shaped_error,
    status_code_conformance,
    about_the_body(content_type_conformance),
    about_the_body(response_schema_conformance),
    response_headers_conformance,
    missing_required_header,
]


@pytest.fixture(scope="module")
def demo31_server() -> Iterator[str]:
    port = free_port()
    with pgrest_serve(["--demo", "--host", "127.0.0.1", "--port", str(port)], port, env=OPENAPI31) as base:
        yield base


def _document(base: str) -> dict[str, object]:
    with urllib.request.urlopen(base + "/", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/openapi+json")
        document: dict[str, object] = json.loads(response.read())
    return document


@pytest.mark.postgres
def test_the_root_serves_openapi31(demo31_server: str) -> None:
    assert _document(demo31_server)["openapi"] == "3.1.0"


@pytest.mark.postgres
def test_fuzz_the_demo_against_its_openapi31_document(demo31_server: str) -> None:
    sent, problems = fuzz(demo31_server, CHECKS31, sample=False)
    assert sent > 0
    unknown = new_problems("demo 3.1", sent, problems)
    assert not unknown, report("demo 3.1", sent, unknown)


def negotiated(base: str) -> tuple[int, list[str]]:
    """Every operation once per media type its document answers and per documented `Prefer`
    value: OpenAPI ignores an `Accept` parameter, so schemathesis never asks for CSV or a single
    object by itself, and it rarely writes a `Prefer` value that PostgREST understands."""
    schema = schemathesis.openapi.from_url(base + "/")
    problems: dict[str, str] = {}
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        media_types = sorted({media for answer in operation.definition.raw["responses"].values()
                              for media in _resolved(schema, answer).get("content", {})})
        prefer = _prefer_values(schema, operation.definition.raw)
        variants = [{"Accept": media} for media in media_types] + [{"Prefer": value} for value in prefer]
        for headers in variants[:MAX_VARIANTS]:
            case = operation.Case(headers=headers)
            sent += 1
            try:
                response = case.call(base_url=base, timeout=30)
                case.validate_response(response, checks=CHECKS31)
            except (Exception, BaseExceptionGroup) as error:
                key = f"{operation.label} {headers}: {_summary(error)}"
                problems.setdefault(key, f"{key}\n{str(error)[:1500]}\n    repro: {case.as_curl_command()}")
    return sent, list(problems.values())


MAX_VARIANTS = 30


def _resolved(schema: Any, item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = schema.raw_schema
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def _prefer_values(schema: Any, operation: dict[str, Any]) -> list[str]:
    for parameter in operation.get("parameters", []):
        parameter = _resolved(schema, parameter)
        if parameter["in"] == "header" and parameter["name"] == "Prefer":
            return [str(value) for value in parameter["schema"].get("examples", [])]
    return []


@pytest.mark.postgres
def test_every_documented_media_type_and_preference(demo31_server: str) -> None:
    sent, problems = negotiated(demo31_server)
    assert sent > 0
    unknown = new_problems("demo 3.1, negotiated", sent, problems)
    assert not unknown, report("demo 3.1, negotiated", sent, unknown)


# Requests the generators cannot make but whose answers the document must describe: values that
# PostgreSQL accepts as text and writes back in another JSON type than the column's usual one.
# Self-contained: the fuzzing before may have written or deleted any row of the demo.
@pytest.mark.postgres
def test_odd_values_are_answered_as_documented(demo31_server: str) -> None:
    schema = schemathesis.openapi.from_url(demo31_server + "/")
    operations = {result.ok().label: result.ok() for result in schema.get_all_operations()}
    representation = {"Prefer": "return=representation"}

    def answer(case: Case[Any]) -> Any:
        response = case.call(base_url=demo31_server, timeout=30)
        assert response.status_code < 300, response.content
        case.validate_response(response, checks=CHECKS31)
        media_type = response.headers.get("content-type", [""])[0]
        return json.loads(response.content) if "json" in media_type else response.content

    film = answer(operations["POST /films"].Case(
        body={"title": "Unrated", "year": 1999, "rating": "NaN"}, media_type="application/json",
        headers=representation))[0]
    assert film["rating"] == "NaN"
    same = {"id": f"eq.{film['id']}"}
    answer(operations["PATCH /films"].Case(body={"rating": "NaN"}, media_type="application/json",
                                           headers=representation, query=same))
    answer(operations["POST /film_details"].Case(
        body={"film_id": film["id"], "budget_usd": None, "tagline": None}, media_type="application/json",
        headers=representation))
    for headers in ({}, {"Accept": "text/csv"}, {"Accept": "application/vnd.pgrst.object+json"}):
        answer(operations["GET /films"].Case(headers=headers, query=same))
    answer(operations["GET /rpc/search_films"].Case(query={"q": "Unrated"}))


@pytest.fixture(scope="module")
def conformance31_server(request: pytest.FixtureRequest) -> Iterator[str]:
    # test_openapi_fuzz's fixture (imported above), which skips with a printed reason without the suite
    config, env = request.getfixturevalue("conformance_config")
    port = int(env["FUZZ_PORT"])
    with pgrest_serve(["--config", str(config)], port, env={**env, **OPENAPI31}) as base:
        yield base


@pytest.mark.postgres
def test_the_conformance_schemas_openapi31_document_validates(conformance31_server: str) -> None:
    from openapi_spec_validator import validate

    document = _document(conformance31_server)
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises with the first violation



@pytest.mark.postgres
def test_fuzz_the_conformance_schema_against_its_openapi31_document(conformance31_server: str) -> None:
    """The richer fixture (arrays, ranges, media type domains, functions choosing their status),
    over a seeded sample of `PGREST_FUZZ_OPERATIONS` operations."""
    sent, problems = fuzz(conformance31_server, CHECKS31)
    assert sent > 0
    unknown = new_problems("conformance 3.1", sent, problems)
    assert not unknown, report("conformance 3.1", sent, unknown)
