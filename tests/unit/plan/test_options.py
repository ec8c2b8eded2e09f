"""OPTIONS: the Allow header from the schema cache."""

from __future__ import annotations

import dataclasses

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.plan.options import options_response, table_methods
from pgrest_core.request.api_request import parse_request
from pgrest_core.schema.model import QualifiedName, ReturnType, Routine
from tests.unit.plan.films import FILMS, films_cache


def allow(path: str) -> str:
    cache = films_cache()
    search = Routine("public", "search", (), ReturnType("public", "films", set_of=True), "stable")
    reset = Routine("public", "reset", (), ReturnType("pg_catalog", "void"), "volatile")
    routines = {QualifiedName("public", "search"): (search,), QualifiedName("public", "reset"): (reset,)}
    cache = dataclasses.replace(cache, routines=routines)
    response = options_response(parse_request("OPTIONS", path, "", []), cache, ("public",))
    assert (response.status, response.body) == (200, b"")
    return dict(response.headers)["Allow"]


def test_a_table_allows_everything() -> None:
    assert allow("/films") == "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"


@pytest.mark.parametrize(
    ("flags", "methods"),
    [
        ({"insertable": False, "updatable": False, "deletable": False}, ("OPTIONS", "GET", "HEAD")),
        ({"primary_key": ()}, ("OPTIONS", "GET", "HEAD", "POST", "PATCH", "DELETE")),
        ({"updatable": False, "deletable": False}, ("OPTIONS", "GET", "HEAD", "POST")),
    ],
)
def test_views_allow_what_they_can_do(flags: dict[str, object], methods: tuple[str, ...]) -> None:
    view = dataclasses.replace(films_cache().tables[FILMS], is_view=True, **flags)  # type: ignore[arg-type]
    assert table_methods(view) == methods


def test_functions_and_root() -> None:
    assert allow("/rpc/search") == "OPTIONS,GET,HEAD,POST"
    assert allow("/rpc/reset") == "OPTIONS,POST"
    assert allow("/") == "OPTIONS,GET,HEAD"


@pytest.mark.parametrize(("path", "code"), [("/nope", "PGRST205"), ("/rpc/nope", "PGRST202")])
def test_unknown_targets_are_404(path: str, code: str) -> None:
    with pytest.raises(PgrstError) as raised:
        allow(path)
    assert (raised.value.code, raised.value.status) == (code, 404)
