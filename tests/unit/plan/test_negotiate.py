"""Content negotiation for reads."""

from __future__ import annotations

import pytest

from pgrest_core.ast import MediaType
from pgrest_core.errors import PgrstError
from pgrest_core.plan.negotiate import negotiate


def media(essence: str, *params: tuple[str, str], q: float = 1.0) -> MediaType:
    kind, _, sub = essence.partition("/")
    return MediaType(kind, sub, params, q)


@pytest.mark.parametrize(
    ("accept", "body_format", "content_type"),
    [
        ((), "json", "application/json; charset=utf-8"),
        ((media("*/*"),), "json", "application/json; charset=utf-8"),
        (
            (media("application/vnd.pgrst.object+json"),),
            "object",
            "application/vnd.pgrst.object+json; charset=utf-8",
        ),
        (
            (media("application/vnd.pgrst.array+json", ("nulls", "stripped")),),
            "json",
            "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8",
        ),
        ((media("text/csv"),), "csv", "text/csv; charset=utf-8"),
        ((media("text/xml"), media("application/json", q=0.5)), "json", "application/json; charset=utf-8"),
    ],
)
def test_picks_the_first_producible(
    accept: tuple[MediaType, ...], body_format: str, content_type: str
) -> None:
    chosen = negotiate(accept)
    assert (chosen.body_format, chosen.content_type) == (body_format, content_type)


@pytest.mark.parametrize("attempt", [1, 2])  # answers are cached; a refusal must not be
def test_nothing_producible_is_pgrst107(attempt: int) -> None:
    with pytest.raises(PgrstError) as raised:
        negotiate((media("text/xml"),))
    assert (raised.value.code, raised.value.status, raised.value.message) == (
        "PGRST107",
        406,
        "None of these media types are available: text/xml",
    )


def test_plan_only_when_enabled() -> None:
    plan = media(
        "application/vnd.pgrst.plan+json", ("for", "application/json"), ("options", "analyze|verbose")
    )
    with pytest.raises(PgrstError):
        negotiate((plan,))
    chosen = negotiate((plan,), plan_enabled=True)
    assert chosen.body_format == "plan"
    assert (
        chosen.content_type
        == 'application/vnd.pgrst.plan+json; for="application/json"; options=analyze|verbose; charset=utf-8'
    )


def test_geojson_when_asked() -> None:
    chosen = negotiate((media("application/geo+json"),))
    assert (chosen.body_format, chosen.content_type) == ("geojson", "application/geo+json; charset=utf-8")


def test_the_answer_for_one_accept_list_does_not_leak_into_another_setting() -> None:
    plan = media("application/vnd.pgrst.plan+json")
    assert negotiate((plan,), plan_enabled=True).body_format == "plan"
    with pytest.raises(PgrstError):
        negotiate((plan,), plan_enabled=False)
