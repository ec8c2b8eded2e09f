"""The fuzzing's own checks (conventions.py) must fail on what they are there to catch."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("schemathesis")

from tests.fuzz.conventions import (  # noqa: E402
    database_5xx_status,
    no_server_error_but_the_databases,
    postgrest_shaped_error,
)

ERROR = b'{"code":"%s","message":"m","details":null,"hint":null}'


def answer(status: int, body: bytes, proxy_status: str | None = "PostgREST; error=X") -> Any:
    headers = {"proxy-status": [proxy_status]} if proxy_status else {}
    return SimpleNamespace(status_code=status, content=body, headers=headers)


GET: Any = SimpleNamespace(method="GET", path="/items")
HEAD: Any = SimpleNamespace(method="HEAD", path="/items")
RPC: Any = SimpleNamespace(method="POST", path="/rpc/f")
NO_CONTEXT: Any = None  # the checks never read the context


@pytest.mark.parametrize(
    ("code", "status"),
    [("08006", 503), ("53300", 503), ("53400", 500), ("40P01", 500), ("57014", 500), ("XX000", 500),
     ("P0002", 500), ("42P17", 500), ("21000", 500),
     ("PT503", 503), ("PGRST121", 500), ("PT402", None), ("PT5XX", 500), ("PT40A", 500), ("PGRST112", 500), ("PGRST111", None), ("P0001", None), ("25006", None), ("23505", None),
     ("22P02", None), ("PGRST001", None), ("PGRSTX00", None), (None, None)],
)
def test_postgrest_status_table_for_5xx(code: str | None, status: int | None) -> None:
    assert database_5xx_status(code) == status


def test_a_database_error_postgrest_answers_with_5xx_passes() -> None:
    assert no_server_error_but_the_databases(NO_CONTEXT, answer(503, ERROR % b"08006"), GET)


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, ERROR % b"PGRST001"), (500, ERROR % b"PGRSTX00"), (500, ERROR % b"08006"), (500, b"<html>"),
     (502, b"")],
)
def test_any_other_5xx_fails(status: int, body: bytes) -> None:
    with pytest.raises(AssertionError):
        no_server_error_but_the_databases(NO_CONTEXT, answer(status, body), GET)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"code":"1","message":"m"}', b'{"code":1,"message":"m","details":null,"hint":null}',
     b'{"code":"1","message":"m","details":null,"hint":null,"extra":1}', b'{"message":"m","details":[],"hint":null,"code":"x"}'],
)
def test_an_error_body_not_shaped_like_postgrests_fails(body: bytes) -> None:
    with pytest.raises(AssertionError):
        postgrest_shaped_error(NO_CONTEXT, answer(400, body), GET)


def test_postgrest_shaped_errors_and_head_pass() -> None:
    assert postgrest_shaped_error(NO_CONTEXT, answer(404, ERROR % b"PGRST205"), GET)
    assert postgrest_shaped_error(NO_CONTEXT, answer(404, b""), HEAD) is None
    assert postgrest_shaped_error(NO_CONTEXT, answer(200, b"[]"), GET) is None


def test_a_status_a_function_chose_is_no_postgrest_error() -> None:
    body = b'{"message" : "invalid user or password"}'
    assert postgrest_shaped_error(NO_CONTEXT, answer(403, body, None), RPC) is None
    with pytest.raises(AssertionError):
        postgrest_shaped_error(NO_CONTEXT, answer(403, body), RPC)
    with pytest.raises(AssertionError):
        postgrest_shaped_error(NO_CONTEXT, answer(403, body, None), GET)
