"""server-max-body-size: pgrest's own config key for the request-body limit (see README)."""

from __future__ import annotations

import pytest

from pgrest_core.config import DEFAULT_MAX_BODY_SIZE, ConfigError, load_settings


def test_default_is_10_mib() -> None:
    settings, warnings = load_settings("", {})
    assert (settings.server_max_body_size, DEFAULT_MAX_BODY_SIZE, warnings) == (10_485_760, 10_485_760, [])


def test_from_the_file_and_from_the_environment() -> None:
    settings, warnings = load_settings("server-max-body-size = 2048\n", {})
    assert (settings.server_max_body_size, warnings) == (2048, [])
    settings, _ = load_settings("server-max-body-size = 2048\n", {"PGRST_SERVER_MAX_BODY_SIZE": "4096"})
    assert settings.server_max_body_size == 4096


@pytest.mark.parametrize("value", ["0", "-1", '"ten"'])
def test_a_limit_must_be_a_positive_number_of_bytes(value: str) -> None:
    with pytest.raises(ConfigError, match="server-max-body-size"):
        load_settings(f"server-max-body-size = {value}\n", {})
