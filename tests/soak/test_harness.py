"""The soak harness itself: it must see state that one request leaves on a pooled connection."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from pgrest_core.config import Settings
from pgrest_server.postgres import TempPostgres
from tests.conftest import module_database
from tests.soak.harness import Request, Soak, normalise

LEAKY_SQL = """
create role soak_leak_anon nologin;
create schema api;
grant usage on schema api to soak_leak_anon;
-- set_config(..., false) outlives the transaction: a session setting left on the connection.
create function api.leave_a_setting() returns text language sql volatile
  as $$ select set_config('soak.leak', 'left behind', false) $$;
create function api.read_the_setting() returns text language sql stable
  as $$ select coalesce(current_setting('soak.leak', true), 'clean') $$;
grant execute on all functions in schema api to soak_leak_anon;
"""


@pytest.fixture(scope="module")
def leaky_uri(pg: TempPostgres) -> Iterator[str]:
    yield from module_database(pg, "soak_harness", LEAKY_SQL, ("soak_leak_anon",))


def test_a_setting_left_on_a_pooled_connection_is_a_mismatch(leaky_uri: str) -> None:
    settings = Settings(db_uri=leaky_uri, db_schemas=("api",), db_anon_role="soak_leak_anon", db_pool=1,
                        log_level="crit")
    leave = Request("POST", "/rpc/leave_a_setting", (("Content-Type", "application/json"),), b"{}")
    read = Request("GET", "/rpc/read_the_setting")

    async def main() -> list[str]:
        soak = Soak(settings)
        await soak.start()
        try:
            report = await soak.run([leave, read], 40, random.Random(1), 1)
        finally:
            await soak.stop()
        return [m.actual.body.decode() for m in report.mismatches if m.request == read]

    leaked = asyncio.run(main())
    assert leaked and set(leaked) == {'"left behind"'}


def test_only_what_legitimately_varies_is_normalised() -> None:
    headers = [("Date", "Sat, 05 Dec 2026 04:00:00 GMT"), ("Server-Timing", "jwt;dur=0.1, plan;dur=2.5"),
               ("Content-Range", "0-1/*")]
    assert normalise(headers) == (("server-timing", "jwt, plan"), ("content-range", "0-1/*"))
