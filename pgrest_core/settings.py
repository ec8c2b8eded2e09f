"""PostgREST's settings: the typed, frozen `Settings`, PostgREST's defaults, and the key table.

Pure. Each config key (`db-pool`) maps to a `Settings` field (`db_pool`) and a coercion from
the raw value (a string, number or boolean, as the config file, a `PGRST_*` variable or the
in-database configuration give it). `pgrest_core.configfile` reads those sources; this module
only knows what the values mean.

An empty string means "not set" (the default applies), except for `db-extra-search-path`,
where "" is the empty list.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit

from pgrest_core.jspath import JSPath, JSPathError, parse_jspath


class ConfigError(Exception):
    """A configuration value PostgREST would refuse; the message names the key."""


TxEnd = Literal["commit", "commit-allow-override", "rollback", "rollback-allow-override"]
OpenApiMode = Literal["follow-privileges", "ignore-privileges", "disabled"]
LogLevel = Literal["crit", "error", "warn", "info", "debug"]
Verbosity = Literal["minimal", "verbose"]

TX_END_VALUES: tuple[TxEnd, ...] = ("commit", "commit-allow-override", "rollback", "rollback-allow-override")
OPENAPI_MODES: tuple[OpenApiMode, ...] = ("follow-privileges", "ignore-privileges", "disabled")
LOG_LEVELS: tuple[LogLevel, ...] = ("crit", "error", "warn", "info", "debug")
VERBOSITIES: tuple[Verbosity, ...] = ("minimal", "verbose")
OpenApiVersion = Literal["2.0", "3.1"]
OPENAPI_VERSIONS: tuple[OpenApiVersion, ...] = ("2.0", "3.1")
# pgrest-specific (server-max-body-size): 10 MiB, see README "Request size limits".
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024

DEFAULT_HOISTED_TX_SETTINGS = (
    "statement_timeout",
    "plan_filter.statement_cost_limit",
    "default_transaction_isolation",
)


# =============================================================================================
# The role claim key (its JSONPath language lives in pgrest_core.jspath)
# =============================================================================================


def parse_role_claim_key(text: str) -> JSPath:
    """Parse a `jwt-role-claim-key` value; raises `ConfigError` naming the key."""
    try:
        return parse_jspath(text)
    except JSPathError as error:
        raise ConfigError(f"Invalid value for 'jwt-role-claim-key': {error}") from None


DEFAULT_ROLE_CLAIM_KEY = parse_role_claim_key("$.role")


# =============================================================================================
# Settings
# =============================================================================================


@dataclass(frozen=True, slots=True)
class Settings:
    """Every PostgREST setting pgrest uses, typed, with PostgREST's defaults."""

    db_uri: str = "postgresql://"
    db_schemas: tuple[str, ...] = ("public",)
    db_anon_role: str | None = None
    db_pool: int = 10
    db_pool_acquisition_timeout: int = 10
    db_pool_max_lifetime: int = 1800
    db_pool_max_idletime: int = 30
    db_pool_automatic_recovery: bool = True
    db_extra_search_path: tuple[str, ...] = ("public",)
    db_max_rows: int | None = None
    db_pre_request: str | None = None
    db_pre_config: str | None = None
    db_root_spec: str | None = None
    db_tx_end: TxEnd = "commit"
    db_prepared_statements: bool = True
    db_plan_enabled: bool = False
    db_aggregates_enabled: bool = False
    db_channel: str = "pgrst"
    db_channel_enabled: bool = True
    db_config: bool = True
    db_timezone_enabled: bool = True
    db_hoisted_tx_settings: tuple[str, ...] = DEFAULT_HOISTED_TX_SETTINGS
    db_uri_read_replicas: tuple[str, ...] = ()  # standbys that answer read-only requests
    db_read_replicas_max_lag: int = 10  # seconds of replay lag before a standby is skipped
    jwt_secret: str | None = None
    jwt_secret_is_base64: bool = False
    jwt_aud: str | None = None
    jwt_role_claim_key: JSPath = DEFAULT_ROLE_CLAIM_KEY
    jwt_cache_max_entries: int = 1000
    server_host: str = "!4"
    server_port: int = 3000
    server_unix_socket: str | None = None
    server_unix_socket_mode: int = 0o660
    server_timing_enabled: bool = False
    server_cors_allowed_origins: tuple[str, ...] | None = None
    server_trace_header: str | None = None
    server_otel_enabled: bool = False
    admin_server_host: str | None = None  # None: the same as server-host
    admin_server_port: int | None = None
    openapi_mode: OpenApiMode = "follow-privileges"
    openapi_security_active: bool = False
    openapi_server_proxy_uri: str | None = None
    log_level: LogLevel = "error"
    log_query: bool = False
    client_error_verbosity: Verbosity = "verbose"
    url_use_legacy_target_names: bool = True
    # pgrest's own settings (PostgREST has none of these):
    server_max_body_size: int = DEFAULT_MAX_BODY_SIZE  # 413 above it
    server_stream_responses: bool = False  # stream large reads (pgrest_core/stream.py)
    server_workers: int = 1  # processes serving the port (pgrest_server/workers.py)
    openapi_docs_path: str | None = None  # serve Swagger UI there (off by default)
    openapi_default_version: OpenApiVersion = "2.0"  # the root's document without a version asked
    app_settings: tuple[tuple[str, str], ...] = field(default=())

    @property
    def tx_rollback_all(self) -> bool:
        """Whether transactions end in ROLLBACK unless a request may and does override it."""
        return self.db_tx_end.startswith("rollback")

    @property
    def tx_allow_override(self) -> bool:
        """Whether `Prefer: tx=commit|rollback` may change how a transaction ends."""
        return self.db_tx_end.endswith("allow-override")

    @property
    def effective_admin_server_host(self) -> str:
        return self.admin_server_host if self.admin_server_host is not None else self.server_host


# --- how each key's raw value becomes a field value -------------------------------------------

RawValue: TypeAlias = str | int | float | bool
_UNSET = object()  # a coercer's answer for "" : leave the default


def _describe(raw: RawValue) -> str:
    return (
        json.dumps(raw) if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
    )


def _bad(key: str, raw: RawValue, expected: str) -> ConfigError:
    return ConfigError(f"Invalid value for '{key}': {_describe(raw)} (expected {expected})")


def as_text(key: str, raw: RawValue) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _coerce_str(key: str, raw: RawValue) -> object:
    text = as_text(key, raw)
    return _UNSET if text == "" else text


def _coerce_int(key: str, raw: RawValue) -> object:
    if isinstance(raw, bool):
        raise _bad(key, raw, "an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if math.isfinite(raw) and raw.is_integer():
            return int(raw)
        raise _bad(key, raw, "an integer")
    text = raw.strip()
    if text == "":
        return _UNSET
    if re.fullmatch(r"[-+]?\d+", text) is None:
        raise _bad(key, raw, "an integer")
    return int(text)


def _coerce_bool(key: str, raw: RawValue) -> object:
    """true/false in any case (also quoted, also "on"/"off"), or an integer: > 0 is true."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return raw > 0
    letters = "".join(ch for ch in raw if ch.isalpha()).lower()
    if raw.strip() == "":
        return _UNSET
    if letters in ("true", "on", "yes"):
        return True
    if letters in ("false", "off", "no"):
        return False
    if re.fullmatch(r"[-+]?\d+", raw.strip()):
        return int(raw.strip()) > 0
    raise _bad(key, raw, "true or false")


def _split_on_commas(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


def _coerce_list(key: str, raw: RawValue) -> object:
    text = as_text(key, raw)
    return _UNSET if text == "" else _split_on_commas(text)


def _coerce_emptyable_list(key: str, raw: RawValue) -> object:
    text = as_text(key, raw)
    return () if text == "" else _split_on_commas(text)


def _coerce_uri_list(key: str, raw: RawValue) -> object:
    """Comma-separated URIs; empty entries (a trailing comma) are dropped."""
    return tuple(part for part in _split_on_commas(as_text(key, raw)) if part)


def _coerce_schemas(key: str, raw: RawValue) -> object:
    schemas = _coerce_list(key, raw)
    if isinstance(schemas, tuple):
        for forbidden in ("pg_catalog", "information_schema"):
            if forbidden in schemas:
                raise ConfigError(
                    f"Invalid value for '{key}': db-schemas does not allow schema: '{forbidden}'"
                )
    return schemas


def _choice(allowed: tuple[str, ...]) -> Callable[[str, RawValue], object]:
    def coerce(key: str, raw: RawValue) -> object:
        text = as_text(key, raw)
        if text == "":
            return _UNSET
        if text not in allowed:
            raise _bad(key, raw, "one of " + ", ".join(allowed))
        return text

    return coerce


def _coerce_role_claim_key(key: str, raw: RawValue) -> object:
    text = as_text(key, raw)
    return _UNSET if text == "" else parse_role_claim_key(text)


def _coerce_socket_mode(key: str, raw: RawValue) -> object:
    """An octal file mode between 600 and 777, written as digits (`660`)."""
    text = as_text(key, raw).strip()
    if text == "":
        return _UNSET
    if re.fullmatch(r"[0-7]+", text) is None:
        raise _bad(key, raw, "an octal file mode")
    mode = int(text, 8)
    if not 0o600 <= mode <= 0o777:
        raise _bad(key, raw, "a file mode between 600 and 777")
    return mode


def _coerce_port(key: str, raw: RawValue) -> object:
    port = _coerce_int(key, raw)
    if isinstance(port, int) and not 0 <= port <= 65535:
        raise _bad(key, raw, "a port number between 0 and 65535")
    return port


def _coerce_positive(key: str, raw: RawValue) -> object:
    number = _coerce_int(key, raw)
    if isinstance(number, int) and number < 1:
        raise _bad(key, raw, "a positive integer")
    return number


def _coerce_non_negative(key: str, raw: RawValue) -> object:
    number = _coerce_int(key, raw)
    if isinstance(number, int) and number < 0:
        raise _bad(key, raw, "a non-negative integer")
    return number


def _coerce_byte_count(key: str, raw: RawValue) -> object:
    number = _coerce_int(key, raw)
    if isinstance(number, int) and number < 1:
        raise _bad(key, raw, "a positive number of bytes")
    return number


def _coerce_proxy_uri(key: str, raw: RawValue) -> object:
    """An absolute http(s) URI with a host, like https://example.com:8443/basePath."""
    text = as_text(key, raw)
    if text == "":
        return _UNSET
    try:
        parts = urlsplit(text)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        valid = False
    if not valid or parts.query or parts.fragment:
        raise _bad(key, raw, "a proxy URI like https://example.com:8443/basePath")
    return text


def _coerce_audience(key: str, raw: RawValue) -> object:
    """A string; one with ':' must be a URI (scheme ':' rest)."""
    text = as_text(key, raw)
    if text == "":
        return _UNSET
    if ":" in text and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\S+$", text) is None:
        raise _bad(key, raw, "a string or a valid URI")
    return text


Coercer = Callable[[str, RawValue], object]


@dataclass(frozen=True, slots=True)
class _Key:
    field: str
    coerce: Coercer


# PostgREST's keys, by their config-file names. Aliases (older names) are listed separately.
KEYS: Mapping[str, _Key] = {
    "db-uri": _Key("db_uri", _coerce_str),
    "db-schemas": _Key("db_schemas", _coerce_schemas),
    "db-anon-role": _Key("db_anon_role", _coerce_str),
    "db-pool": _Key("db_pool", _coerce_non_negative),
    "db-pool-acquisition-timeout": _Key("db_pool_acquisition_timeout", _coerce_non_negative),
    "db-pool-max-lifetime": _Key("db_pool_max_lifetime", _coerce_non_negative),
    "db-pool-max-idletime": _Key("db_pool_max_idletime", _coerce_non_negative),
    "db-pool-automatic-recovery": _Key("db_pool_automatic_recovery", _coerce_bool),
    "db-extra-search-path": _Key("db_extra_search_path", _coerce_emptyable_list),
    "db-max-rows": _Key("db_max_rows", _coerce_non_negative),
    "db-pre-request": _Key("db_pre_request", _coerce_str),
    "db-pre-config": _Key("db_pre_config", _coerce_str),
    "db-root-spec": _Key("db_root_spec", _coerce_str),
    "db-tx-end": _Key("db_tx_end", _choice(TX_END_VALUES)),
    "db-prepared-statements": _Key("db_prepared_statements", _coerce_bool),
    "db-plan-enabled": _Key("db_plan_enabled", _coerce_bool),
    "db-aggregates-enabled": _Key("db_aggregates_enabled", _coerce_bool),
    "db-channel": _Key("db_channel", _coerce_str),
    "db-channel-enabled": _Key("db_channel_enabled", _coerce_bool),
    "db-config": _Key("db_config", _coerce_bool),
    "db-timezone-enabled": _Key("db_timezone_enabled", _coerce_bool),
    "db-hoisted-tx-settings": _Key("db_hoisted_tx_settings", _coerce_list),
    "db-uri-read-replicas": _Key("db_uri_read_replicas", _coerce_uri_list),
    "db-read-replicas-max-lag": _Key("db_read_replicas_max_lag", _coerce_non_negative),
    "jwt-secret": _Key("jwt_secret", _coerce_str),
    "jwt-secret-is-base64": _Key("jwt_secret_is_base64", _coerce_bool),
    "jwt-aud": _Key("jwt_aud", _coerce_audience),
    "jwt-role-claim-key": _Key("jwt_role_claim_key", _coerce_role_claim_key),
    "jwt-cache-max-entries": _Key("jwt_cache_max_entries", _coerce_int),
    "server-host": _Key("server_host", _coerce_str),
    "server-port": _Key("server_port", _coerce_port),
    "server-unix-socket": _Key("server_unix_socket", _coerce_str),
    "server-unix-socket-mode": _Key("server_unix_socket_mode", _coerce_socket_mode),
    "server-timing-enabled": _Key("server_timing_enabled", _coerce_bool),
    "server-cors-allowed-origins": _Key("server_cors_allowed_origins", _coerce_list),
    "server-trace-header": _Key("server_trace_header", _coerce_str),
    "server-otel-enabled": _Key("server_otel_enabled", _coerce_bool),
    "admin-server-host": _Key("admin_server_host", _coerce_str),
    "admin-server-port": _Key("admin_server_port", _coerce_port),
    "openapi-mode": _Key("openapi_mode", _choice(OPENAPI_MODES)),
    "openapi-security-active": _Key("openapi_security_active", _coerce_bool),
    "openapi-server-proxy-uri": _Key("openapi_server_proxy_uri", _coerce_proxy_uri),
    "log-level": _Key("log_level", _choice(LOG_LEVELS)),
    "log-query": _Key("log_query", _coerce_bool),
    "client-error-verbosity": _Key("client_error_verbosity", _choice(VERBOSITIES)),
    "url-use-legacy-target-names": _Key("url_use_legacy_target_names", _coerce_bool),
    "server-max-body-size": _Key("server_max_body_size", _coerce_byte_count),
    "server-stream-responses": _Key("server_stream_responses", _coerce_bool),
    "server-workers": _Key("server_workers", _coerce_positive),
    "openapi-docs-path": _Key("openapi_docs_path", _coerce_str),
    "openapi-default-version": _Key("openapi_default_version", _choice(OPENAPI_VERSIONS)),
}

# Older names PostgREST still reads; the current name wins when both are given.
ALIASES: Mapping[str, str] = {
    "db-schema": "db-schemas",
    "max-rows": "db-max-rows",
    "pre-request": "db-pre-request",
    "root-spec": "db-root-spec",
    "db-pool-timeout": "db-pool-max-idletime",
    "role-claim-key": "jwt-role-claim-key",
    "secret-is-base64": "jwt-secret-is-base64",
}

# The keys the in-database configuration may set (as `pgrst.db_schemas` role settings or from
# the db-pre-config function), by their config-file names: the ones PostgREST documents as
# "In-Database". Pool, server and logging keys are fixed at startup and are not among them.
DB_KEYS: tuple[str, ...] = (
    "client-error-verbosity",
    "db-aggregates-enabled",
    "db-anon-role",
    "db-extra-search-path",
    "db-hoisted-tx-settings",
    "db-max-rows",
    "db-plan-enabled",
    "db-pre-config",
    "db-pre-request",
    "db-prepared-statements",
    "db-root-spec",
    "db-schemas",
    "db-timezone-enabled",
    "db-tx-end",
    "jwt-aud",
    "jwt-cache-max-entries",
    "jwt-role-claim-key",
    "jwt-secret",
    "jwt-secret-is-base64",
    "openapi-mode",
    "openapi-security-active",
    "openapi-server-proxy-uri",
    "server-cors-allowed-origins",
    "server-timing-enabled",
    "server-trace-header",
    "url-use-legacy-target-names",
)

APP_SETTINGS_PREFIX = "app.settings."
ENV_APP_SETTINGS_PREFIX = "PGRST_APP_SETTINGS_"


def config_keys() -> tuple[str, ...]:
    """Every key `parse_config_file` stores, sorted (for `--help` and dumps)."""
    return tuple(sorted(KEYS))


def db_setting_name(key: str) -> str:
    """`db-schemas` -> `pgrst.db_schemas`: the role setting the in-database configuration reads."""
    return "pgrst." + key.replace("-", "_")


def env_var_name(key: str) -> str:
    """`db-pool` -> `PGRST_DB_POOL`."""
    return "PGRST_" + key.upper().replace("-", "_").replace(".", "_")


def apply_values(base: Settings, values: Mapping[str, RawValue]) -> Settings:
    """Coerce canonical-key values onto `base`, then check what spans several keys."""
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        spec = KEYS[key]
        value = spec.coerce(key, raw)
        changes[spec.field] = getattr(Settings(), spec.field) if value is _UNSET else value
    settings = replace(base, **changes) if changes else base
    _check_across_keys(settings)
    return settings


def _check_across_keys(settings: Settings) -> None:
    if settings.admin_server_port is not None and settings.admin_server_port == settings.server_port:
        raise ConfigError(
            "Invalid value for 'admin-server-port': admin-server-port cannot be the same as server-port"
        )
    if settings.server_otel_enabled:
        # Refused rather than accepted: pgrest has no OpenTelemetry exporter, and a setting
        # that is accepted but does nothing would hide that from the operator.
        raise ConfigError(
            "Invalid value for 'server-otel-enabled': true is not supported; "
            "pgrest does not produce OpenTelemetry traces (set it to false or remove it)"
        )


def canonical_values(pairs: Mapping[str, RawValue]) -> dict[str, RawValue]:
    """Fold aliases into their current names; a current name given directly wins."""
    values = {key: raw for key, raw in pairs.items() if key in KEYS}
    for alias, key in ALIASES.items():
        if alias in pairs and key not in values:
            values[key] = pairs[alias]
    return values


def merge_app_settings(
    base: tuple[tuple[str, str], ...], new: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    merged = dict(base)
    merged.update(new)
    return tuple(sorted(merged.items()))
