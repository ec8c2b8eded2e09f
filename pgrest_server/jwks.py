"""`jwt-secret` as the URL of a JSON Web Key Set: fetched, cached, refreshed, never blocking.

    keys = RemoteKeySet("https://issuer.example/.well-known/jwks.json")
    await keys.refresh()                  # at startup, in the background
    keys.current                          # the key set in use (None until a fetch succeeded)
    await keys.refresh_for_unknown_kid()  # a token names a key we do not have: fetch once more

The set is kept for the `max-age` of the response's Cache-Control (a default when absent) and
fetched again when it is stale; until a fetch succeeds the old keys stay in use. A token whose
`kid` is unknown triggers at most one extra fetch per `min_refresh_interval`, so key rotation
works without a restart, while a flood of tokens with made-up kids cannot hammer the issuer.

A fetch that fails (down, slow past `timeout`, not a key set) is logged and changes nothing:
requests carry on with the keys there are, and tokens no key verifies get PostgREST's 401.
The HTTP request runs in a worker thread, so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from pgrest_core.auth import Jwk, parse_jwk_set

log = logging.getLogger("pgrest.jwks")

DEFAULT_MAX_AGE = 300.0  # seconds a key set is kept when the response says nothing
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)
_MAX_BYTES = 1 << 20  # a key set is small; anything bigger is not one


def max_age(cache_control: str | None) -> float:
    """How long a response may be kept, from its Cache-Control header."""
    if not cache_control:
        return DEFAULT_MAX_AGE
    if _NO_CACHE.search(cache_control):
        return 0.0
    found = _MAX_AGE.search(cache_control)
    return float(found.group(1)) if found else DEFAULT_MAX_AGE


@dataclass(frozen=True, slots=True)
class Fetched:
    keys: tuple[Jwk, ...]
    expires: float  # time.monotonic() after which the set is stale


def fetch_key_set(url: str, timeout: float) -> tuple[str, str | None]:
    """GET the key set: (body, Cache-Control). Blocking; run it in a thread."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the URL is config)
        body = response.read(_MAX_BYTES + 1)
        if len(body) > _MAX_BYTES:
            raise ValueError("the key set is larger than 1 MiB")
        return body.decode("utf-8"), response.headers.get("Cache-Control")


class RemoteKeySet:
    """The keys at a JWKS URL, as of the last successful fetch."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        min_refresh_interval: float = 30.0,
        on_change: Callable[[tuple[Jwk, ...]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.min_refresh_interval = min_refresh_interval
        self.on_change = on_change
        self._clock = clock
        self._fetched: Fetched | None = None
        self._last_attempt = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def current(self) -> tuple[Jwk, ...] | None:
        return self._fetched.keys if self._fetched else None

    @property
    def stale(self) -> bool:
        return self._fetched is None or self._clock() >= self._fetched.expires

    async def refresh(self) -> bool:
        """Fetch the set now (one fetch at a time); whether the keys in use changed."""
        async with self._lock:
            self._last_attempt = self._clock()
            try:
                body, cache_control = await asyncio.wait_for(
                    asyncio.to_thread(fetch_key_set, self.url, self.timeout), self.timeout + 1.0
                )
                keys = parse_jwk_set(body)
            except Exception as error:  # down, slow, garbage: keep what we have
                log.error("could not fetch the JWKS at %s: %s", self.url, error)
                return False
            previous = self.current
            self._fetched = Fetched(keys, self._clock() + max_age(cache_control))
            if keys != previous and self.on_change is not None:
                self.on_change(keys)
            return keys != previous

    async def refresh_if_stale(self) -> None:
        if self.stale and self._may_fetch_again():
            await self.refresh()

    async def refresh_for_unknown_kid(self) -> bool:
        """A token names a key not in the set: fetch again, at most once per interval."""
        if not self._may_fetch_again():
            return False
        return await self.refresh()

    def _may_fetch_again(self) -> bool:
        return self._clock() - self._last_attempt >= self.min_refresh_interval
