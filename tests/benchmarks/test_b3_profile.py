"""B3's profile charges each py-spy sample to the right pipeline stage."""

from __future__ import annotations

import pytest

from benchmarks.b3_profile import HTTP_STAGE, STAGES, attribute, stage_of


@pytest.mark.parametrize(
    ("leaf_frames", "stage"),
    [
        (["dumps (json/__init__.py:231)"], HTTP_STAGE),  # nothing of pgrest on the stack
        (["PgrestApp.handle (pgrest_server/app.py:1)", "prelude (pgrest_core/sql/prelude.py:70)",
          "dumps (json/__init__.py:231)"], "transaction settings (prelude)"),
        (["PgrestApp.handle (pgrest_server/app.py:1)", "raw_shape (pgrest_core/request/raw_shape.py:9)"],
         "parse (or raw shape)"),
        (["PgrestApp.handle (pgrest_server/app.py:1)", "Runner.run (pgrest_core/runner/execute.py:3)",
          "wait_async (psycopg/waiting.py:262)", "select (selectors.py:1)"],
         "runner + psycopg + libpq (incl. socket I/O)"),
        (["PgrestApp.handle (pgrest_server/app.py:1)", "Responder.final (pgrest_core/runner/host.py:191)",
          "respond_read (pgrest_core/response.py:94)"], "response"),
        (["run_asgi (uvicorn/protocols/http/httptools_impl.py:1)", "PgrestApp._http (pgrest_server/app.py:2)"],
         "server app (pgrest_server)"),
        (["run_server (pgrest_server/run.py:134)"], "HTTP server and event loop (uvicorn, httptools, uvloop; incl. socket I/O)"),
        (["PgrestApp._http (pgrest_server/app.py:2)", "send (uvicorn/protocols/http/httptools_impl.py:522)"],
         "HTTP server and event loop (uvicorn, httptools, uvloop; incl. socket I/O)"),
    ],
)
def test_a_sample_goes_to_its_deepest_known_frame(leaf_frames: list[str], stage: str) -> None:
    assert stage_of(["<module> (run.py:1)", *leaf_frames]) == stage


def test_samples_become_cpu_microseconds_per_request() -> None:
    raw = (
        "a (asyncio/events.py:1);b (pgrest_core/shape_cache.py:2) 30\n"
        "a (asyncio/events.py:1);c (psycopg/waiting.py:3) 50\n"
        "a (asyncio/events.py:1) 20\n"
    )
    cpu = attribute(raw, requests=10, rate_hz=1000)  # 1 sample = 1000 µs
    assert set(cpu) == set(STAGES)
    assert cpu["plan + compile (or compiled-shape cache)"] == 3000
    assert cpu["runner + psycopg + libpq (incl. socket I/O)"] == 5000
    assert cpu[HTTP_STAGE] == 2000
