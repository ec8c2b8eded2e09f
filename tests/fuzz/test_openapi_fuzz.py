"""OpenAPI-driven fuzzing: schemathesis generates requests from pgrest's own `GET /` document
and sends them to a live `pgrest serve`; conventions.py says what every response must satisfy
(and which built-in checks PostgREST's OpenAPI 2.0 conventions rule out, and why).

Seeded and bounded: hypothesis runs derandomized with `PGREST_FUZZ_EXAMPLES` examples (default 3)
per operation and generation mode (valid and invalid data), over at most
`PGREST_FUZZ_OPERATIONS` operations (default 25, a seeded sample) of a schema. .ci/run raises both.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import Case, GenerationMode  # noqa: E402

from tests.fuzz.conventions import CHECKS  # noqa: E402
from tests.fuzz.known import KNOWN_BUG_PARAMS, KNOWN_BUGS, KnownBug  # noqa: E402
from tests.fuzz.live import free_port, pgrest_serve  # noqa: E402
from tests.soak import conformance as conformance_suite  # noqa: E402

EXAMPLES = int(os.environ.get("PGREST_FUZZ_EXAMPLES", "3"))
OPERATIONS = int(os.environ.get("PGREST_FUZZ_OPERATIONS", "25"))
SEED = int(os.environ.get("PGREST_FUZZ_SEED", "8"))


def fuzz(base: str, checks: list[Any] | None = None, *, sample: bool = True) -> tuple[int, list[str]]:
    """Fuzz every (sampled) operation of the document at `base` with `checks` (default:
    conventions.CHECKS); `sample=False` takes every operation. (requests sent, problems)."""
    schema = schemathesis.openapi.from_url(base + "/")
    operations = [result.ok() for result in schema.get_all_operations()]
    rng = random.Random(SEED)
    if sample and len(operations) > OPERATIONS:
        operations = sorted(rng.sample(operations, OPERATIONS), key=lambda op: op.label)
    problems: dict[str, str] = {}
    sent = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: Case[Any]) -> None:
                nonlocal sent
                sent += 1
                try:
                    response = case.call(base_url=base, timeout=30)
                    case.validate_response(response, checks=CHECKS if checks is None else checks)
                except (Exception, BaseExceptionGroup) as error:  # every finding is collected, the run goes on
                    key = f"{case.operation.label}: {_summary(error)}"
                    problems.setdefault(key, f"{key}\n{str(error)[:1500]}\n    repro: {case.as_curl_command()}")

            try:
                send()
            except Unsatisfiable:
                # Nothing to generate: e.g. no parameter of the operation can be made invalid.
                print(f"{operation.label}: no {mode.value} data can be generated")
            except Exception as error:  # the document itself is wrong for this operation
                key = f"{operation.label}: invalid document: {type(error).__name__}"
                problems.setdefault(key, f"{key}\n{str(error)[:1500]}\n    repro: curl {base}/")
    return sent, list(problems.values())


def _summary(error: BaseException) -> str:
    """One line that tells findings apart: the failed checks' titles and the first message line."""
    failures = error.exceptions if isinstance(error, BaseExceptionGroup) else (error,)
    parts = []
    for failure in failures:
        title = getattr(failure, "title", type(failure).__name__)
        message = str(getattr(failure, "message", failure)).strip().splitlines()
        parts.append(f"{title}: {message[0][:120] if message else ''}")
    return "; ".join(parts)


def report(name: str, sent: int, problems: list[str]) -> str:
    return f"{name}: {sent} requests, {len(problems)} distinct problems\n" + "\n\n".join(problems)


def new_problems(name: str, sent: int, problems: list[str]) -> list[str]:
    """Print every finding; return those that are not a known open bug (see KNOWN_BUGS)."""
    print(report(name, sent, problems))
    unknown = [problem for problem in problems if not any(bug.matches(problem) for bug in KNOWN_BUGS)]
    for bug in KNOWN_BUGS:
        if any(bug.matches(problem) for problem in problems):
            print(f"{name}: seen again, known: {bug.reason}")
    return unknown


@pytest.fixture(scope="module")
def demo_server() -> Iterator[str]:
    port = free_port()
    with pgrest_serve(["--demo", "--host", "127.0.0.1", "--port", str(port)], port) as base:
        yield base


@pytest.mark.postgres
def test_fuzz_the_demo(demo_server: str) -> None:
    sent, problems = fuzz(demo_server)
    assert sent > 0
    unknown = new_problems("demo", sent, problems)
    assert not unknown, report("demo", sent, unknown)


@pytest.mark.postgres
@pytest.mark.parametrize("bug", KNOWN_BUG_PARAMS, ids=lambda bug: bug.reason.split(":")[0])
def test_known_bug_still_reproduces(request: pytest.FixtureRequest, bug: KnownBug) -> None:
    """Each known bug the fuzzer excuses must still reproduce: once it is fixed this test
    XPASSes (strict), and the entry must leave KNOWN_BUGS so the fuzzer catches it again."""
    base = request.getfixturevalue(f"{bug.server}_server")
    http = urllib.request.Request(base + bug.path, data=bug.body, method=bug.method,
                                  headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    assert not bug.reproduced(f"{status} {body.decode('utf-8', 'replace')}"), "the bug is still there"

@pytest.fixture(scope="module")
def conformance_config() -> Iterator[tuple[Path, dict[str, str]]]:
    """The conformance fixture's `test` schema under its `base` config: a config file to serve."""
    directory = conformance_suite.conformance_dir()
    if directory is None:
        message = "the conformance suite (../shared/conformance, or $PGREST_CONFORMANCE_DIR) is absent"
        print("SKIPPED:", message)
        pytest.skip(message)
    runner = conformance_suite.load_runner(directory)
    cluster = Path(tempfile.mkdtemp(prefix="pgfx-fuzz-", dir="/tmp"))
    with conformance_suite.fixture_database(directory, cluster, "fuzz") as uri:
        configs = json.loads((directory / "configs.json").read_text(encoding="utf-8"))
        port = free_port()
        text = runner.render_config("base", configs["base"], {
            "db-uri": uri, "server-host": "127.0.0.1", "server-port": port, "log-level": "crit"})
        config = cluster / "pgrest.conf"
        config.write_text(text, encoding="utf-8")
        yield config, {**conformance_suite.SUITE_ENV, "FUZZ_PORT": str(port)}
    shutil.rmtree(cluster, ignore_errors=True)


@pytest.fixture(scope="module")
def conformance_server(conformance_config: tuple[Path, dict[str, str]]) -> Iterator[str]:
    config, env = conformance_config
    port = int(env["FUZZ_PORT"])
    with pgrest_serve(["--config", str(config)], port, env=env) as base:
        yield base


@pytest.mark.postgres
def test_fuzz_the_conformance_schema(conformance_server: str) -> None:
    sent, problems = fuzz(conformance_server)
    assert sent > 0
    unknown = new_problems("conformance", sent, problems)
    assert not unknown, report("conformance", sent, unknown)
