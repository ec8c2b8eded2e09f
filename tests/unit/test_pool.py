"""runner.pool: the db-pool-* settings as psycopg_pool arguments, and the pool's figures."""

from __future__ import annotations

from pgrest_core.runner.pool import PoolOptions, PoolStats, pool_args
from pgrest_core.settings import Settings


def test_pool_args_from_settings() -> None:
    settings = Settings(
        db_pool=7, db_pool_acquisition_timeout=3, db_pool_max_lifetime=600, db_pool_max_idletime=12
    )
    args = pool_args("postgresql://x", PoolOptions.from_settings(settings))
    assert args["max_size"] == 7
    assert args["timeout"] == 3.0
    assert args["max_lifetime"] == 600.0
    assert args["max_idle"] == 12.0
    assert args["min_size"] == 0  # idle connections all close, as in PostgREST
    assert args["open"] is False and args["kwargs"] == {"autocommit": True}


def test_pool_args_defaults_are_postgrests() -> None:
    args = pool_args("postgresql://", PoolOptions.from_settings(Settings()))
    assert (args["max_size"], args["timeout"], args["max_lifetime"], args["max_idle"]) == (10, 10.0, 1800.0, 30.0)


def test_zero_durations_become_the_smallest_psycopg_can_keep() -> None:
    args = pool_args("postgresql://", PoolOptions(max_lifetime=0, max_idle=0))
    assert (args["max_lifetime"], args["max_idle"]) == (1.0, 1.0)


def test_pool_stats_from_psycopg() -> None:
    stats = PoolStats.from_psycopg({"pool_available": 2, "requests_waiting": 1, "requests_errors": 4}, 10)
    assert stats == PoolStats(max_size=10, available=2, waiting=1, timeouts_total=4)
    assert PoolStats.from_psycopg({}, 3) == PoolStats(3, 0, 0, 0)
