"""db-uri-read-replicas and db-read-replicas-max-lag as parsed from PGRST_* and the file."""

from __future__ import annotations

import pytest

from pgrest_core.settings import ConfigError, Settings
from pgrest_server.app import _reads_from_primary
from pgrest_server.run import load_config


def test_replica_uris_are_comma_separated_and_default_to_none() -> None:
    settings, _ = load_config(None, {"PGRST_DB_URI_READ_REPLICAS": "postgresql://a/x, postgresql://b/x,"})
    assert settings.db_uri_read_replicas == ("postgresql://a/x", "postgresql://b/x")
    assert (Settings().db_uri_read_replicas, Settings().db_read_replicas_max_lag) == ((), 10)


def test_the_lag_bound_is_a_non_negative_number_of_seconds() -> None:
    assert load_config(None, {"PGRST_DB_READ_REPLICAS_MAX_LAG": "3"})[0].db_read_replicas_max_lag == 3
    with pytest.raises(ConfigError):
        load_config(None, {"PGRST_DB_READ_REPLICAS_MAX_LAG": "-1"})


def test_only_pgrest_read_from_primary_asks_for_the_primary() -> None:
    assert _reads_from_primary([("pgrest-read-from", " Primary ")])
    assert not _reads_from_primary([("pgrest-read-from", "replica")])
    assert not _reads_from_primary([])
