"""`pgrest serve` runs on uvloop and httptools when the `server` extra installed them."""

from __future__ import annotations

import importlib.util

import pytest

from pgrest_server import run


def test_fast_stack_when_installed() -> None:
    pytest.importorskip("uvloop")
    pytest.importorskip("httptools")
    assert run.fast_stack() == ("uvloop", "httptools")


def test_fast_stack_falls_back_to_asyncio_and_h11(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    assert run.fast_stack() == ("asyncio", "h11")
