"""Open bugs the fuzzing has found and that are fixed elsewhere: a finding that matches one is
reported but does not fail the fuzz run. Each entry is also sent as its exact repro by
test_known_bug_still_reproduces, an xfail(strict) test: when the fix lands it XPASSes, and the
entry must be deleted so that the fuzzer guards the fix from then on.
"""

from __future__ import annotations

from typing import Any

import pytest


class KnownBug:
    """A finding the fuzzer excuses, and the request that shows the bug on one of the servers."""

    def __init__(self, reason: str, finding: tuple[str, ...], server: str, method: str, path: str,
                 body: bytes | None, repro: tuple[str, ...]) -> None:
        self.reason = reason
        self.finding = finding  # all of these in a finding's text
        self.server = server  # "demo" or "conformance": a fixture of test_openapi_fuzz.py
        self.method, self.path, self.body = method, path, body
        self.repro = repro  # all of these in "STATUS BODY" of the answer while the bug is there

    def matches(self, finding: str) -> bool:
        return all(marker in finding for marker in self.finding)

    def reproduced(self, answer: str) -> bool:
        return all(marker in answer for marker in self.repro)


def _known(bug: KnownBug) -> Any:
    return pytest.param(bug, marks=pytest.mark.xfail(strict=True, reason=bug.reason))


# Empty: issue 8 items 5 (a NUL in an RPC argument answered 503 PGRST001) and 7 (functions with
# unnamed arguments in the document, `"required": ["", ""]`), which the fuzzer found, are fixed
# on main; the fuzzer now guards them. Add an entry only for a bug being fixed elsewhere, e.g.
#   KnownBug("issue N item M: ...", ("503", "PGRST001"), "demo", "POST", "/rpc/f", b"{...}",
#            ("503", "PGRST001"))
KNOWN_BUGS: list[KnownBug] = []
KNOWN_BUG_PARAMS = [_known(bug) for bug in KNOWN_BUGS]
