""" "Did you mean …?": fuzzy matching of names, scored as PostgREST's hints score them.

Names are compared by their character n-grams (trigrams first, bigrams if no trigram
matches), the best candidates then re-scored by edit distance: 1 - distance / longer length.
PostgREST suggests a table or function only at a score of 0.75 or more, and other names
(relationship targets, parameters) from 0.33.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable

TABLE_MIN_SCORE = 0.75
DEFAULT_MIN_SCORE = 0.33
_NON_WORD = re.compile(r"[^a-z0-9\u00c0-\u00ff\u0556\u0561\u0587, ]+")


@functools.lru_cache(maxsize=16384)
def _normalize(text: str) -> str:
    return _NON_WORD.sub("", text.lower())


@functools.lru_cache(maxsize=16384)  # candidates repeat across requests: the schema's names
def _grams(text: str, size: int) -> Counter[str]:
    padded = "-" + _normalize(text) + "-"
    if len(padded) < size:
        padded += "-" * (size - len(padded))
    return Counter(padded[i : i + size] for i in range(len(padded) - size + 1))


@functools.lru_cache(maxsize=16384)
def _norm(text: str, size: int) -> float:
    return math.sqrt(sum(c * c for c in _grams(text, size).values()))


@functools.lru_cache(maxsize=64)
def _index(pool: tuple[str, ...], size: int) -> dict[str, list[tuple[str, int]]]:
    """gram -> [(candidate, count)]: only candidates sharing a gram with the name get scored."""
    index: dict[str, list[tuple[str, int]]] = {}
    for candidate in pool:
        for gram, count in _grams(candidate, size).items():
            index.setdefault(gram, []).append((candidate, count))
    return index


def _cosines(name: str, pool: tuple[str, ...], size: int) -> dict[str, float]:
    """Cosine similarity of `name`'s grams with every candidate that shares one."""
    index = _index(pool, size)
    dots: dict[str, int] = {}
    for gram, count in _grams(name, size).items():
        for candidate, other in index.get(gram, ()):
            dots[candidate] = dots.get(candidate, 0) + count * other
    norm = _norm(name, size)
    return {c: dot / (norm * _norm(c, size)) for c, dot in dots.items()}


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def ranked(
    name: str, candidates: Iterable[str], min_score: float = DEFAULT_MIN_SCORE
) -> list[tuple[float, str]]:
    """(score, candidate) pairs at or above `min_score`, best first."""
    pool = tuple(dict.fromkeys(candidates))
    target = _normalize(name)
    exact = [c for c in pool if _normalize(c) == target]
    if exact:  # an exact match hides every near one
        return [(1.0, exact[0])]
    for size in (3, 2):
        matched = list(_cosines(name, pool, size).items())
        if not matched:
            continue
        matched.sort(key=lambda pair: -pair[1])
        scored = []
        for candidate, _ in matched[:50]:
            other = _normalize(candidate)
            longest = max(len(target), len(other)) or 1
            scored.append((1 - levenshtein(target, other) / longest, candidate))
        scored.sort(key=lambda pair: -pair[0])
        return [(score, c) for score, c in scored if score >= min_score]
    return []


def best_match(name: str, candidates: Iterable[str], min_score: float = DEFAULT_MIN_SCORE) -> str | None:
    found = ranked(name, candidates, min_score)
    return found[0][1] if found else None
