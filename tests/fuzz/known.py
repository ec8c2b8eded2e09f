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


NUL_IN_RPC_ARGUMENT = KnownBug(
    "issue 8 item 5: a NUL character in an RPC argument answers 503 PGRST001 instead of 400 22P05",
    ("503", "PGRST001", "NUL (0x00)"),
    "demo", "POST", "/rpc/search_films", b'{"q":"a\\u0000b"}',
    ("503", "PGRST001", "NUL (0x00)"),
)

# test.ret_setof_integers(int, int): PostgREST does not expose it; its entry is invalid Swagger.
UNNAMED_ARGUMENTS_DOCUMENTED = KnownBug(
    "issue 8 item 7: the OpenAPI document lists functions with unnamed arguments "
    '(two of them give "required": ["", ""], invalid Swagger 2.0)',
    ("/rpc/ret_setof_integers: invalid document", "non-unique elements"),
    "conformance", "GET", "/", None,
    ("/rpc/ret_setof_integers",),
)

KNOWN_BUGS = [NUL_IN_RPC_ARGUMENT, UNNAMED_ARGUMENTS_DOCUMENTED]
KNOWN_BUG_PARAMS = [_known(bug) for bug in KNOWN_BUGS]
