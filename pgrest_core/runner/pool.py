"""The connection pool, configured from PostgREST's db-pool-* settings, and its statistics.

    db-pool                      -> max_size (the pool grows on demand up to it)
    db-pool-acquisition-timeout  -> timeout: a request waiting longer gets 504 PGRST003
    db-pool-max-lifetime         -> max_lifetime: a connection older than this is replaced
    db-pool-max-idletime         -> max_idle: an unused connection is closed after this
    db-pool-automatic-recovery   -> whether a lost database is retried (see `PgrestApp`)

Like PostgREST's pool, this one keeps no connection open while idle (min_size 0): after
db-pool-max-idletime without requests, every connection is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgrest_core.settings import Settings


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """The pool's limits, in seconds where they are durations."""

    max_size: int = 10
    acquisition_timeout: float = 10.0
    max_lifetime: float = 1800.0
    max_idle: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolOptions:
        return cls(
            max_size=settings.db_pool,
            acquisition_timeout=float(settings.db_pool_acquisition_timeout),
            max_lifetime=float(settings.db_pool_max_lifetime),
            max_idle=float(settings.db_pool_max_idletime),
        )


# psycopg_pool checks connections no more often than every few seconds; a lifetime or idle
# time of 0 would mean "replace at once", which it cannot express, so 1 s is the floor.
_MIN_SECONDS = 1.0


def pool_args(conninfo: str, options: PoolOptions) -> dict[str, Any]:
    """Keyword arguments for `psycopg_pool.AsyncConnectionPool` (kept apart so tests can check them)."""
    return {
        "conninfo": conninfo,
        "min_size": 0,
        "max_size": max(1, options.max_size),
        "timeout": options.acquisition_timeout,
        "max_lifetime": max(_MIN_SECONDS, options.max_lifetime),
        "max_idle": max(_MIN_SECONDS, options.max_idle),
        "kwargs": {"autocommit": True},
        "open": False,
    }


@dataclass(frozen=True, slots=True)
class PoolStats:
    """What the admin server's /metrics reports about the pool (PostgREST's pgrst_db_pool_*)."""

    max_size: int
    available: int  # open connections not lent to a request
    waiting: int  # requests waiting for a connection
    timeouts_total: int  # requests that gave up waiting (acquisition timeouts)

    @classmethod
    def from_psycopg(cls, stats: dict[str, int], max_size: int) -> PoolStats:
        return cls(
            max_size=max_size,
            available=stats.get("pool_available", 0),
            waiting=stats.get("requests_waiting", 0),
            timeouts_total=stats.get("requests_errors", 0),
        )
