"""The conformance suite's pieces, reused for the soak: its fixture database (`pgfixture`),
its config groups (configs.json) and the requests of its cases (corpus.jsonl).

The suite lives outside this repository: at `$PGREST_CONFORMANCE_DIR`, else `../shared/conformance`
next to the repository root (where CI puts it), else `../../shared/conformance` (a git worktree
one level deeper). The runner script `run` is loaded as a module, so a case becomes exactly
the request the suite sends (its path encoding, header list and minted JWT).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from pgrest_core.config import Settings, load_settings
from tests.soak.harness import Request

ROOT = Path(__file__).resolve().parents[2]
# What PostgREST's spec suite sets for its server (the conformance runner does the same).
SUITE_ENV = {"PGTZ": "utc", "PGOPTIONS": "-c search_path=public,test"}


def conformance_dir() -> Path | None:
    candidates = [os.environ.get("PGREST_CONFORMANCE_DIR"), ROOT.parent / "shared/conformance",
                  ROOT.parent.parent / "shared/conformance"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "corpus.jsonl").is_file() and (Path(candidate) / "pgfixture").is_file():
            return Path(candidate)
    return None


def load_runner(directory: Path) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("conformance_run", str(directory / "run"))
    spec = importlib.util.spec_from_loader("conformance_run", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance_run"] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


@contextmanager
def fixture_database(directory: Path, cluster_dir: Path, name: str) -> Iterator[str]:
    """A fresh copy of the loaded fixture database in a cluster of our own; the URI."""

    def pgfixture(*args: str) -> str:
        completed = subprocess.run(
            [str(directory / "pgfixture"), "--dir", str(cluster_dir), *args],
            check=True, capture_output=True, text=True, timeout=600,
        )
        lines = completed.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    pgfixture("start")
    try:
        yield pgfixture("fresh", name)
    finally:
        pgfixture("stop")


def group_settings(directory: Path, runner: ModuleType, group: str, uri: str) -> Settings:
    """The config group as the suite writes it for a server, read by our own config parser."""
    configs = json.loads((directory / "configs.json").read_text(encoding="utf-8"))
    text = runner.render_config(group, configs[group], {"db-uri": uri})
    settings, _warnings = load_settings(text, {})
    return settings


def group_requests(runner: ModuleType, directory: Path, group: str) -> list[Request]:
    """The distinct requests of the group's cases, minus those that commit (`Prefer: tx=commit`
    would change what every later request sees). JWTs are minted once, here."""
    cases, _problems = runner.load_corpus([directory / "corpus.jsonl"])
    found: dict[Request, None] = {}
    for case in cases:
        if case.config != group:
            continue
        method, target, headers, body = runner.build_request(case)
        if any(name.lower() == "prefer" and "tx=commit" in value for name, value in headers):
            continue
        found[Request(method, target, tuple(headers), body, case.id)] = None
    return list(found)


def soak_settings(settings: Settings) -> Settings:
    return replace(settings, db_pool=2, db_prepared_statements=True, log_level="crit")
