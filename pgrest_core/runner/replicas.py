"""Read replicas (`db-uri-read-replicas`): requests that only read go to a healthy standby.

    replicas = ReplicaSet(("postgresql://…standby1", "postgresql://…standby2"), pool_size=10)
    await replicas.open()             # pools, plus a health check every `check_interval` seconds
    pool = replicas.choose()          # the next healthy replica's pool (round robin), or None
    replicas.mark_down(pool)          # a request could not use it: skip it until it is healthy

A replica is healthy when its health query answers within `timeout` and its replay lag is at
most `max_lag` seconds. The lag is measured on the standby itself: zero when it has replayed
everything it received, else the age of the last replayed transaction. A standby that is
down, lagging or not reachable is skipped, and the caller falls back to the primary, so an
unhealthy replica never turns into an error. It rejoins at the first health check it passes.

Consistency: a replica may lag, so a read right after a write may not see the write. Writes and
volatile functions always run on the primary; a client that must read its own writes sends
`Pgrest-Read-From: primary` with the read, and the server sends that read to the primary too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("pgrest.replicas")

LAG_QUERY = (
    "SELECT pg_catalog.pg_is_in_recovery(), CASE "
    "WHEN pg_catalog.pg_last_wal_receive_lsn() IS NULL "
    "  OR pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0 "
    "ELSE extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp()) END"
)


@dataclass(eq=False, slots=True)
class Replica:
    uri: str
    pool: AsyncConnectionPool[Any]
    healthy: bool = False  # until the first health check passes
    lag: float | None = None
    failures: int = field(default=0)


class ReplicaSet:
    """Standby pools, their health, and the round-robin choice among the healthy ones."""

    def __init__(
        self,
        uris: tuple[str, ...],
        *,
        pool_size: int = 10,
        acquisition_timeout: float = 1.0,
        max_lag: float = 10.0,
        check_interval: float = 1.0,
        timeout: float = 2.0,
        pool_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.max_lag = max_lag
        self.check_interval = check_interval
        self.timeout = timeout
        # `pool_kwargs` (e.g. the primary's connection_class, lifetimes) are applied over these,
        # so replica connections are built like the primary's.
        base: dict[str, Any] = {"min_size": 0, "max_size": max(1, pool_size), "open": False,
                                "timeout": acquisition_timeout, "kwargs": {"autocommit": True}}
        base.update(pool_kwargs or {})
        self.replicas = tuple(
            Replica(uri, AsyncConnectionPool(**{**base, "conninfo": uri})) for uri in uris
        )  # fmt: skip
        self._next = 0
        self._checker: asyncio.Task[None] | None = None

    async def open(self) -> None:
        for replica in self.replicas:
            await replica.pool.open(wait=False)
        await self.check_all()
        self._checker = asyncio.get_running_loop().create_task(self._check_forever())

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            try:
                await self._checker
            except asyncio.CancelledError:
                pass
        for replica in self.replicas:
            await replica.pool.close()

    def choose(self) -> Replica | None:
        """The next healthy replica in turn, or None (then the primary answers)."""
        count = len(self.replicas)
        for step in range(count):
            replica = self.replicas[(self._next + step) % count]
            if replica.healthy:
                self._next = (self._next + step + 1) % count
                return replica
        return None

    def mark_down(self, replica: Replica) -> None:
        """A request failed to reach it: skip it until a health check passes again."""
        if replica.healthy:
            log.warning("read replica %s is unreachable; reads fall back to the primary", _safe(replica.uri))
        replica.healthy = False

    async def check_all(self) -> None:
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            await self.check_all()

    async def _check(self, replica: Replica) -> None:
        """One health check on a connection of its own, so a full pool cannot fail it."""
        try:
            async with asyncio.timeout(self.timeout):
                connection = await psycopg.AsyncConnection.connect(replica.uri, autocommit=True)
                async with connection as conn:
                    row = await (await conn.execute(LAG_QUERY)).fetchone()
        except (psycopg.Error, OSError, TimeoutError) as error:
            if replica.healthy:
                log.warning("read replica %s failed its health check: %s", _safe(replica.uri), error)
            replica.healthy, replica.lag = False, None
            return
        lag = float(row[1]) if row is not None and row[1] is not None else 0.0
        healthy = lag <= self.max_lag
        if healthy != replica.healthy:
            state = "is healthy again" if healthy else f"lags {lag:.1f} s (more than {self.max_lag:g} s)"
            log.warning("read replica %s %s", _safe(replica.uri), state)
        replica.healthy, replica.lag = healthy, lag


def _safe(uri: str) -> str:
    """The URI without its password, for logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(uri)
    except psycopg.ProgrammingError:
        return "<unparsable uri>"
    return f"{info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}"
