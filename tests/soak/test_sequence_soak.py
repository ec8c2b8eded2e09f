"""Sequence soak: a long-lived server with a small pool answers a long random interleaving of
requests, each of which must get the answer a fresh server gives it (see harness.py).

Bounded by default (well under a minute); `PGREST_SOAK_REQUESTS=5000` runs a longer soak (as
.ci/run does) and `PGREST_SOAK_SEED=N` another seed. A failure prints the seed, the request,
both answers, the requests the soak server had answered just before, and a curl repro.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from pgrest_core import demo
from pgrest_core.config import Settings
from tests.soak import conformance as conformance_suite
from tests.soak.demo_requests import demo_requests
from tests.soak.harness import Report, Request, Soak

SEED = int(os.environ.get("PGREST_SOAK_SEED", "8"))
REQUESTS = int(os.environ.get("PGREST_SOAK_REQUESTS", "400"))


def soak(settings: Settings, requests: list[Request], seed: int) -> Report:
    async def main() -> Report:
        runner = Soak(settings)
        await runner.start()
        try:
            return await runner.run(requests, REQUESTS, random.Random(seed), seed)
        finally:
            await runner.stop()

    report = asyncio.run(main())
    print(report.describe())
    return report


def assert_like_fresh(report: Report, requests: list[Request]) -> None:
    """Every answer was a fresh server's, few requests were too volatile to compare, and the
    soak really ran (volatile requests leave the pool)."""
    assert report.sent >= REQUESTS * 0.9, report.describe()
    assert len(report.volatile) <= len(requests) // 10, report.describe()
    assert not report.mismatches, report.describe()


def demo_settings(uri: str) -> Settings:
    """`pgrest serve --demo`'s settings (see run.start_demo) on a pool of 2 with prepared
    statements on; db-tx-end allows `Prefer: tx=rollback`, so writes leave no trace."""
    return replace(
        Settings(),
        db_uri=uri,
        db_schemas=demo.DEMO_SCHEMAS,
        db_anon_role=demo.ANONYMOUS_ROLE,
        db_pool=2,
        db_prepared_statements=True,
        db_tx_end="commit-allow-override",
    )


def test_demo_server_answers_every_sequence_like_a_fresh_server(demo_db_uri: str) -> None:
    requests = demo_requests(random.Random(SEED), max(40, min(REQUESTS // 3, 400)))
    report = soak(demo_settings(demo_db_uri), requests, SEED)
    assert_like_fresh(report, requests)


# -- a conformance config: PostgREST's fixture database and its `base` config group ------------

CONFORMANCE_GROUP = "base"
# Roles the fixture's authenticator may become; `GET /` follows privileges, so each sees its own
# document, and a role left behind on a connection would show in the next request.
FIXTURE_ROLES = ("postgrest_test_anonymous", "postgrest_test_author", "postgrest_test_default_role",
                 "postgrest_test_superuser")


@pytest.fixture(scope="module")
def conformance() -> Iterator[tuple[Settings, list[Request], list[Request]]]:
    """The group's settings, its corpus requests and the generated ones."""
    directory = conformance_suite.conformance_dir()
    if directory is None:
        message = "the conformance suite (../shared/conformance, or $PGREST_CONFORMANCE_DIR) is absent"
        print("SKIPPED:", message)
        pytest.skip(message)
    runner = conformance_suite.load_runner(directory)
    # pgfixture's unix socket path must stay short: a directory right under /tmp.
    cluster = Path(tempfile.mkdtemp(prefix="pgfx-soak-", dir="/tmp"))
    with pytest.MonkeyPatch.context() as env:
        for name, value in conformance_suite.SUITE_ENV.items():
            env.setenv(name, value)
        with conformance_suite.fixture_database(directory, cluster, "soak") as uri:
            settings = conformance_suite.group_settings(directory, runner, CONFORMANCE_GROUP, uri)
            requests = conformance_suite.group_requests(runner, directory, CONFORMANCE_GROUP)
            yield conformance_suite.soak_settings(settings), requests, _role_requests(runner, settings)
    shutil.rmtree(cluster, ignore_errors=True)


def _role_requests(runner: ModuleType, settings: Settings) -> list[Request]:
    """Generated: the root document, a read and an RPC as each fixture role (a signed JWT)."""
    requests = []
    for role in FIXTURE_ROLES:
        token = runner.mint_jwt({"claims": {"role": role}, "secret": settings.jwt_secret, "alg": "HS256"})
        auth = (("Authorization", f"Bearer {token}"),)
        requests += [
            Request("GET", "/", auth, label=f"root as {role}"),
            Request("GET", "/authors_only?select=*", auth, label=f"read as {role}"),
            Request("GET", "/rpc/get_current_user", auth, label=f"rpc as {role}"),
            Request("GET", "/items?select=id&order=id.desc&limit=3", auth, label=f"read as {role}"),
        ]
    return requests


def _sample(corpus: list[Request], generated: list[Request], seed: int) -> list[Request]:
    """The generated requests plus the corpus's: all in a long run, a seeded sample by default."""
    wanted = max(60, min(len(corpus), REQUESTS // 3))
    return generated + random.Random(seed).sample(corpus, wanted)


@pytest.mark.postgres
def test_conformance_server_answers_every_sequence_like_a_fresh_server(
    conformance: tuple[Settings, list[Request], list[Request]],
) -> None:
    """Issue 8 item 1 does not show here: with db-tx-end=rollback-allow-override every request
    runs in an explicit transaction, and `GET /` only poisons implicit ones (see the demo test)."""
    settings, corpus, generated = conformance
    requests = _sample(corpus, generated, SEED)
    report = soak(settings, requests, SEED)
    assert_like_fresh(report, requests)
