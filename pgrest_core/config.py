"""The stable entry point for configuration: re-exports `pgrest_core.settings` and `pgrest_core.configfile`.

`pgrest_core.settings` holds the typed `Settings`, PostgREST's defaults and the key table;
`pgrest_core.configfile` reads PostgREST's config-file format, `PGRST_*` variables, `@file`
values and the in-database configuration, and dumps settings back in that format. Import from
here (or from either module); the names below are the promised ones.
"""

from __future__ import annotations

from pgrest_core.configfile import (
    dump_config,
    load_settings,
    parse_config_file,
    resolve_file_references,
    settings_from_db,
    settings_from_env,
)
from pgrest_core.settings import (
    APP_SETTINGS_PREFIX,
    DB_KEYS,
    DEFAULT_HOISTED_TX_SETTINGS,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_ROLE_CLAIM_KEY,
    KEYS,
    LOG_LEVELS,
    OPENAPI_MODES,
    OPENAPI_VERSIONS,
    TX_END_VALUES,
    VERBOSITIES,
    ConfigError,
    LogLevel,
    OpenApiMode,
    OpenApiVersion,
    Settings,
    TxEnd,
    Verbosity,
    config_keys,
    db_setting_name,
    env_var_name,
    parse_role_claim_key,
)

__all__ = [
    "APP_SETTINGS_PREFIX",
    "DB_KEYS",
    "DEFAULT_HOISTED_TX_SETTINGS",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_ROLE_CLAIM_KEY",
    "KEYS",
    "LOG_LEVELS",
    "OPENAPI_MODES",
    "OPENAPI_VERSIONS",
    "TX_END_VALUES",
    "VERBOSITIES",
    "ConfigError",
    "LogLevel",
    "OpenApiMode",
    "OpenApiVersion",
    "Settings",
    "TxEnd",
    "Verbosity",
    "config_keys",
    "db_setting_name",
    "dump_config",
    "env_var_name",
    "load_settings",
    "parse_config_file",
    "parse_role_claim_key",
    "resolve_file_references",
    "settings_from_db",
    "settings_from_env",
]
