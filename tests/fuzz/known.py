"""Open bugs the fuzzing has found and that are fixed elsewhere: a finding that matches one is
reported but does not fail the fuzz run. Each entry is also sent as its exact repro by
test_known_bug_still_reproduces, an xfail(strict) test: when the fix lands it XPASSes, and the
entry must be deleted so that the fuzzer guards the fix from then on.
"""

from __future__ import annotations

from typing import Any

import pytest


class KnownBug:
    def __init__(self, reason: str, markers: tuple[str, ...], method: str, path: str, body: bytes) -> None:
        self.reason = reason
        self.markers = markers  # all of these in a finding's text
        self.method, self.path, self.body = method, path, body

    def matches(self, finding: str) -> bool:
        return all(marker in finding for marker in self.markers)


def _known(bug: KnownBug) -> Any:
    return pytest.param(bug, marks=pytest.mark.xfail(strict=True, reason=bug.reason))


NUL_IN_RPC_ARGUMENT = KnownBug(
    "issue 8 item 5: a NUL character in an RPC argument answers 503 PGRST001 instead of 400 22P05",
    ("503", "PGRST001", "NUL (0x00)"),
    "POST", "/rpc/search_films", b'{"q":"a\\u0000b"}',
)

KNOWN_BUGS = [NUL_IN_RPC_ARGUMENT]
KNOWN_BUG_PARAMS = [_known(bug) for bug in KNOWN_BUGS]
