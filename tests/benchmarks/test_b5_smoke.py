"""B5's bodies and report section stay consistent with the server's limit (no server started)."""

from __future__ import annotations

import json

from benchmarks import b5_body_memory as b5
from benchmarks import report
from pgrest_core.config import DEFAULT_MAX_BODY_SIZE


def test_bodies_are_valid_json_of_about_the_size_and_under_the_limit() -> None:
    for _, build in b5.SHAPES:
        for size in (64 * 1024, b5.SIZES[-1]):
            body = build(size)
            assert size * 0.95 <= len(body) <= size
            json.loads(body)
    assert max(b5.SIZES) < DEFAULT_MAX_BODY_SIZE < b5.REFUSED_SIZE


def test_the_section_renders_in_results() -> None:
    run = report.Run(command="python -m benchmarks --only B5", started_utc="now")
    run.b5 = [b5.BodyMemory("one large value", b5.MIB, 201, 5 * b5.MIB, 0.1)]
    text = report.render(run)
    assert "## B5 request bodies" in text
    assert "| one large value | 1.0 MiB | 201 | 5.0 MiB | 5.00 | 0.10 s |" in text
