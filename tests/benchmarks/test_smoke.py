"""The benchmark harness keeps working: --quick's smallest case, in-process, in well under a second.

Benchmarks are not pass/fail on speed; these tests only check that the harness still runs
against the current pipeline and that its baselines still produce pgrest's exact statement.
"""

from __future__ import annotations

import math

from benchmarks import b1_translation, b4_scale, baselines, report
from benchmarks.b3_http import parse_wrk
from benchmarks.timing import count_calls, interleaved, percentile


def _case(key: str) -> b1_translation.Case:
    return next(case for case in b1_translation.CORPUS if case.key == key)


def test_smallest_b1_case_runs_against_both_baselines() -> None:
    caches = b1_translation.catalogs()
    case = _case("single_row")
    result = b1_translation.run_case(
        case, caches[case.catalog], repeats=1, iterations=3, alchemy=baselines.SqlAlchemyFilms()
    )
    assert result.status == "measured"
    assert result.pgrest is not None and result.pgrest.median_us > 0
    assert result.floor is not None and result.alchemy is not None
    assert result.floor_same_sql, "baselines.floor_films no longer emits pgrest's statement for id=eq.3"
    assert result.pgrest_calls is not None and result.pgrest_calls > result.floor_calls  # type: ignore[operator]
    text = report.render(report.Run(command="test", started_utc="now", b1=[result]))
    assert "## B1 translation" in text and "single-row filter" in text


def test_every_simple_case_matches_the_floor_statement() -> None:
    caches = b1_translation.catalogs()
    for case in b1_translation.CORPUS:
        if case.baseline:
            pgrest = b1_translation.pgrest_translator(case, caches[case.catalog])
            assert baselines.floor_films(case.query) == pgrest(), case.key


def test_unimplemented_cases_are_reported_not_faked() -> None:
    caches = b1_translation.catalogs()
    result = b1_translation.run_case(_case("rpc"), caches["demo"], repeats=1, iterations=2, alchemy=None)
    assert result.status in ("measured", "not implemented yet")
    assert (result.pgrest is None) == (result.status == "not implemented yet")


def test_error_path_times_the_did_you_mean_answer() -> None:
    caches = b1_translation.catalogs()
    case = _case("did_you_mean")
    body, params = b1_translation.pgrest_translator(case, caches[case.catalog])()
    assert "PGRST205" in body and params == ()


def test_b4_fits_a_small_series() -> None:
    series = b4_scale.run(repeats=1, iterations=2, depths=(0, 1, 2), widths=(1, 2))
    assert [s.name for s in series] == ["depth", "width"]
    depth = series[0]
    lengths = [point.sql_length for _, point in depth.points]
    assert lengths == sorted(lengths) and len(set(lengths)) == 3
    assert math.isfinite(depth.time_exponent)


def test_fit_exponent_recovers_a_power_law() -> None:
    xs = [1.0, 2.0, 4.0, 8.0]
    assert abs(b4_scale.fit_exponent(xs, [3 * x**1.5 for x in xs]) - 1.5) < 1e-9


def test_timing_helpers() -> None:
    stats = interleaved({"a": lambda: None, "b": lambda: sum(range(10))}, repeats=2, iterations=5, warmup=1)
    assert set(stats) == {"a", "b"} and stats["a"].calls == 10
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0

    def two_calls() -> None:
        def inner() -> None:
            pass

        inner()
        inner()

    assert count_calls(two_calls) == 2


WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000/films?id=eq.3
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.36ms    1.02ms  20.05ms   93.21%
    Req/Sec     4.31k   312.88     4.60k    85.00%
  Latency Distribution
     50%    2.15ms
     75%    2.45ms
     90%    2.90ms
     99%    7.10ms
  8590 requests in 2.00s, 2.10MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:   4294.51
Transfer/sec:      1.05MB
"""


def test_parse_wrk_output() -> None:
    run = parse_wrk(WRK_OUTPUT)
    assert run.requests_per_s == 4294.51
    assert run.p50_us == 2150.0 and run.p99_us == 7100.0
    assert run.failures == 7
