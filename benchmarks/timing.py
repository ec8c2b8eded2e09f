"""Interleaved timing: contenders take turns inside every repeat, so drift hits them all alike.

A "contender" is a zero-argument callable doing one request's worth of work. Each repeat runs
every contender `iterations` times (the order rotates between repeats), timing each call on its
own. A contender's figure is the median of its per-repeat medians; p99 is over all calls.
"""

from __future__ import annotations

import gc
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Stats:
    """Timings of one contender, in microseconds."""

    median_us: float  # median of the per-repeat medians
    p99_us: float  # over every timed call of every repeat
    repeat_medians_us: tuple[float, ...]
    calls: int


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of unsorted values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def summarize(per_repeat: list[list[float]]) -> Stats:
    medians = tuple(statistics.median(samples) for samples in per_repeat)
    everything = [sample for samples in per_repeat for sample in samples]
    return Stats(statistics.median(medians), percentile(everything, 0.99), medians, len(everything))


def _rotated(names: list[str], repeat: int) -> list[str]:
    shift = repeat % len(names)
    return names[shift:] + names[:shift]


def interleaved(
    contenders: Mapping[str, Callable[[], object]], *, repeats: int, iterations: int, warmup: int = 20
) -> dict[str, Stats]:
    """Time synchronous contenders, interleaved; garbage collection is paused while timing."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    samples: dict[str, list[list[float]]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for repeat in range(repeats):
        for name in _rotated(names, repeat):
            work = contenders[name]
            timings: list[float] = []
            gc.collect()
            gc.disable()
            try:
                for _ in range(iterations):
                    started = clock()
                    work()
                    timings.append((clock() - started) / 1000)
            finally:
                gc.enable()
            samples[name].append(timings)
    return {name: summarize(samples[name]) for name in names}


async def interleaved_async(
    contenders: Mapping[str, Callable[[], Awaitable[object]]],
    *,
    repeats: int,
    iterations: int,
    warmup: int = 20,
) -> dict[str, Stats]:
    """`interleaved` for coroutine functions (garbage collection stays on: I/O is involved)."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            await contenders[name]()
    samples: dict[str, list[list[float]]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for repeat in range(repeats):
        for name in _rotated(names, repeat):
            work = contenders[name]
            timings: list[float] = []
            for _ in range(iterations):
                started = clock()
                await work()
                timings.append((clock() - started) / 1000)
            samples[name].append(timings)
    return {name: summarize(samples[name]) for name in names}


def count_calls(work: Callable[[], object]) -> int:
    """Python function calls made by one call of `work` (deterministic, unlike time).

    Counts the interpreter's "call" profile events: Python-level functions and generators
    entered, including re-entries of generators; calls into C functions are not counted.
    """
    work()  # warm caches (regex compilation, lazy imports) so the count is the steady state
    calls = 0

    def profiler(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(profiler)
    try:
        work()
    finally:
        sys.setprofile(None)
    return max(0, calls - 1)  # the call of `work` itself is not the request's


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("inf")
