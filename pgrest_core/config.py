"""PostgREST's configuration: the config-file format, `PGRST_*` environment variables, `Settings`.

Pure: the caller reads the file and passes its text and the environment. Values that name a file
(`db-uri = "@path"`, `jwt-secret = "@path"`) stay as written here; `resolve_file_references` reads
them through a function the caller supplies.

The file format is configurator-pg's, as PostgREST reads it:

    # a comment
    db-uri = "postgres://$(PGUSER)@localhost/db"    # $(VAR) interpolates, $$ is a literal $
    db-pool = 10                                    # numbers and true/false may be bare
    db-plan-enabled = "true"                        # or quoted
    app.settings.jwt_exp = "3600"                   # app.settings.* is free-form
    app.settings { other = "x" }                    # a group prefixes its keys

Precedence, as in PostgREST: an environment variable wins over the file; an empty string means
"not set" (the default applies), except for `db-extra-search-path`, where "" is the empty list.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias, cast
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
OpenApiVersion = Literal["2.0", "3.1"]
OPENAPI_VERSIONS: tuple[OpenApiVersion, ...] = ("2.0", "3.1")
LOG_LEVELS: tuple[LogLevel, ...] = ("crit", "error", "warn", "info", "debug")
VERBOSITIES: tuple[Verbosity, ...] = ("minimal", "verbose")

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
# pgrest-specific (server-max-body-size): 10 MiB, see README "Request size limits".
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024


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
    server_max_body_size: int = DEFAULT_MAX_BODY_SIZE  # pgrest's own key: 413 above it
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
    server_stream_responses: bool = False  # stream large reads (pgrest_core/stream.py)
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


def _as_text(key: str, raw: RawValue) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _coerce_str(key: str, raw: RawValue) -> object:
    text = _as_text(key, raw)
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
    text = _as_text(key, raw)
    return _UNSET if text == "" else _split_on_commas(text)


def _coerce_emptyable_list(key: str, raw: RawValue) -> object:
    text = _as_text(key, raw)
    return () if text == "" else _split_on_commas(text)


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
        text = _as_text(key, raw)
        if text == "":
            return _UNSET
        if text not in allowed:
            raise _bad(key, raw, "one of " + ", ".join(allowed))
        return text

    return coerce


def _coerce_role_claim_key(key: str, raw: RawValue) -> object:
    text = _as_text(key, raw)
    return _UNSET if text == "" else parse_role_claim_key(text)


def _coerce_socket_mode(key: str, raw: RawValue) -> object:
    """An octal file mode between 600 and 777, written as digits (`660`)."""
    text = _as_text(key, raw).strip()
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
    text = _as_text(key, raw)
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
    text = _as_text(key, raw)
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
_KEYS: Mapping[str, _Key] = {
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
    "server-max-body-size": _Key("server_max_body_size", _coerce_byte_count),
    "admin-server-host": _Key("admin_server_host", _coerce_str),
    "admin-server-port": _Key("admin_server_port", _coerce_port),
    "openapi-mode": _Key("openapi_mode", _choice(OPENAPI_MODES)),
    "openapi-security-active": _Key("openapi_security_active", _coerce_bool),
    "openapi-server-proxy-uri": _Key("openapi_server_proxy_uri", _coerce_proxy_uri),
    "log-level": _Key("log_level", _choice(LOG_LEVELS)),
    "log-query": _Key("log_query", _coerce_bool),
    "client-error-verbosity": _Key("client_error_verbosity", _choice(VERBOSITIES)),
    "url-use-legacy-target-names": _Key("url_use_legacy_target_names", _coerce_bool),
    "server-stream-responses": _Key("server_stream_responses", _coerce_bool),
    "openapi-docs-path": _Key("openapi_docs_path", _coerce_str),
    "openapi-default-version": _Key("openapi_default_version", _choice(OPENAPI_VERSIONS)),
}

# Older names PostgREST still reads; the current name wins when both are given.
_ALIASES: Mapping[str, str] = {
    "db-schema": "db-schemas",
    "max-rows": "db-max-rows",
    "pre-request": "db-pre-request",
    "root-spec": "db-root-spec",
    "db-pool-timeout": "db-pool-max-idletime",
    "role-claim-key": "jwt-role-claim-key",
    "secret-is-base64": "jwt-secret-is-base64",
}

# Keys PostgREST knows that change nothing in pgrest: accepted silently.
_IGNORED_KEYS = frozenset(
    {
        "internal-schema-cache-query-sleep",
        "internal-schema-cache-load-sleep",
        "internal-schema-cache-relationship-load-sleep",
        "server-proxy-uri",
    }
)

APP_SETTINGS_PREFIX = "app.settings."
_ENV_APP_SETTINGS_PREFIX = "PGRST_APP_SETTINGS_"


def config_keys() -> tuple[str, ...]:
    """Every key `parse_config_file` stores, sorted (for `--help` and dumps)."""
    return tuple(sorted(_KEYS))


def env_var_name(key: str) -> str:
    """`db-pool` -> `PGRST_DB_POOL`."""
    return "PGRST_" + key.upper().replace("-", "_").replace(".", "_")


def _apply_values(base: Settings, values: Mapping[str, RawValue]) -> Settings:
    """Coerce canonical-key values onto `base`, then check what spans several keys."""
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        spec = _KEYS[key]
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


def _canonical_values(pairs: Mapping[str, RawValue]) -> dict[str, RawValue]:
    """Fold aliases into their current names; a current name given directly wins."""
    values = {key: raw for key, raw in pairs.items() if key in _KEYS}
    for alias, key in _ALIASES.items():
        if alias in pairs and key not in values:
            values[key] = pairs[alias]
    return values


def _merge_app_settings(
    base: tuple[tuple[str, str], ...], new: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    merged = dict(base)
    merged.update(new)
    return tuple(sorted(merged.items()))


# =============================================================================================
# The config file
# =============================================================================================


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["name", "string", "number", "bool", "=", "{", "}", "[", "]", ","]
    text: str
    value: RawValue
    line: int


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_BOOLEANS = {"true": True, "false": False, "on": True, "off": False}


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], bound: Mapping[str, RawValue]) -> None:
        self.text = text
        self.env = env
        self.bound = bound  # keys bound so far, for $(name) interpolation
        self.pos = 0
        self.line = 1

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"Config file line {self.line}: {message}")

    def skip_blank(self) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\n":
                self.line += 1
                self.pos += 1
            elif char in " \t\r":
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end == -1 else end
            else:
                return

    def next(self) -> _Token | None:
        self.skip_blank()
        if self.pos >= len(self.text):
            return None
        char = self.text[self.pos]
        if char in "={}[],":
            self.pos += 1
            return _Token(cast(Any, char), char, char, self.line)
        if char == '"':
            return _Token("string", "string", self.string(), self.line)
        number = _NUMBER.match(self.text, self.pos)
        if number is not None and (char.isdigit() or char in "+-."):
            self.pos = number.end()
            literal = number.group()
            value: RawValue = int(literal) if re.fullmatch(r"[-+]?\d+", literal) else float(literal)
            return _Token("number", literal, value, self.line)
        name = _NAME.match(self.text, self.pos)
        if name is None:
            raise self.error(f"unexpected character {char!r}")
        self.pos = name.end()
        word = name.group()
        if word in _BOOLEANS:
            return _Token("bool", word, _BOOLEANS[word], self.line)
        return _Token("name", word, word, self.line)

    def string(self) -> str:
        """A double-quoted string: escapes, `$(VAR)` interpolation, `$$` for a literal `$`."""
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated string")
            char = self.text[self.pos]
            self.pos += 1
            if char == '"':
                return "".join(out)
            if char == "\n":
                self.line += 1
                out.append(char)
            elif char == "\\":
                out.append(self.escape())
            elif char == "$":
                out.append(self.interpolation())
            else:
                out.append(char)

    def escape(self) -> str:
        if self.pos >= len(self.text):
            raise self.error("unterminated string")
        char = self.text[self.pos]
        self.pos += 1
        simple = {
            "n": "\n",
            "t": "\t",
            "r": "\r",
            '"': '"',
            "\\": "\\",
            "$": "$",
            "b": "\b",
            "f": "\f",
            "/": "/",
        }
        if char in simple:
            return simple[char]
        if char == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", self.text[self.pos : self.pos + 4]):
            self.pos += 4
            return chr(int(self.text[self.pos - 4 : self.pos], 16))
        raise self.error(f"invalid escape '\\{char}' in string")

    def interpolation(self) -> str:
        if self.text.startswith("$", self.pos):
            self.pos += 1
            return "$"
        if not self.text.startswith("(", self.pos):
            return "$"  # a lone `$` is kept as written
        end = self.text.find(")", self.pos)
        if end == -1:
            raise self.error("unterminated $( in string")
        name = self.text[self.pos + 1 : end]
        self.pos = end + 1
        if name in self.bound:
            return _as_text(name, self.bound[name])
        if name in self.env:
            return self.env[name]
        raise self.error(f"no such variable '$({name})': not set in the file nor in the environment")


class _FileParser:
    """`key = value` bindings and `group { ... }` blocks over the lexer's tokens."""

    def __init__(self, text: str, env: Mapping[str, str]) -> None:
        self.bindings: dict[str, RawValue] = {}
        self.lines: dict[str, int] = {}
        self.lexer = _Lexer(text, env, self.bindings)
        self.lookahead: _Token | None = self.lexer.next()

    def take(self) -> _Token | None:
        token = self.lookahead
        self.lookahead = self.lexer.next()
        return token

    def parse(self) -> None:
        self.block(prefix="", closing=False)

    def block(self, prefix: str, closing: bool) -> None:
        while True:
            token = self.take()
            if token is None:
                if closing:
                    raise self.lexer.error("missing '}'")
                return
            if token.kind == "}" and closing:
                return
            if token.kind != "name":
                raise ConfigError(f"Config file line {token.line}: expected a key, found {token.text!r}")
            self.binding(prefix + token.text, token.line)

    def binding(self, key: str, line: int) -> None:
        token = self.take()
        if token is not None and token.kind == "{":
            self.block(prefix=key + ".", closing=True)
            return
        if token is None or token.kind != "=":
            raise ConfigError(f"Config file line {line}: expected '=' after '{key}'")
        value = self.take()
        if value is None or value.kind not in ("string", "number", "bool"):
            found = "the end of the file" if value is None else repr(value.text)
            raise ConfigError(
                f"Config file line {line}: the value of '{key}' must be a quoted string, "
                f"a number or a boolean; found {found}"
            )
        self.bindings[key] = value.value
        self.lines[key] = line


def parse_config_file(text: str, env: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Read a PostgREST config file into `Settings` and a list of warnings.

    `env` serves `$(VAR)` interpolation only; apply `settings_from_env` afterwards for the
    `PGRST_*` overrides. Raises `ConfigError` for a syntax error or a value PostgREST refuses.
    """
    parser = _FileParser(text, env or {})
    parser.parse()
    warnings: list[str] = []
    app_settings: dict[str, str] = {}
    for key, raw in parser.bindings.items():
        if key.startswith(APP_SETTINGS_PREFIX):
            app_settings[key] = _as_text(key, raw)
        elif key not in _KEYS and key not in _ALIASES and key not in _IGNORED_KEYS:
            warnings.append(f"Config file line {parser.lines[key]}: unknown key '{key}' ignored")
    settings = _apply_values(Settings(), _canonical_values(parser.bindings))
    return replace(settings, app_settings=_merge_app_settings((), app_settings)), warnings


def settings_from_env(env: Mapping[str, str], base: Settings | None = None) -> Settings:
    """Apply `PGRST_*` environment variables over `base` (the file's settings, or defaults).

    `PGRST_DB_POOL` sets `db-pool`; `PGRST_APP_SETTINGS_name` sets `app.settings.name`, keeping
    the case of `name` as written, as PostgREST does.
    """
    base = base if base is not None else Settings()
    pairs: dict[str, RawValue] = {}
    for key in (*_KEYS, *_ALIASES):
        name = env_var_name(key)
        if name in env:
            pairs[key] = env[name]
    app_settings = {
        APP_SETTINGS_PREFIX + name[len(_ENV_APP_SETTINGS_PREFIX) :]: value
        for name, value in env.items()
        if name.startswith(_ENV_APP_SETTINGS_PREFIX) and len(name) > len(_ENV_APP_SETTINGS_PREFIX)
    }
    settings = _apply_values(base, _canonical_values(pairs))
    return replace(settings, app_settings=_merge_app_settings(settings.app_settings, app_settings))


def load_settings(text: str | None, env: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """The file (if any) with the environment over it: what the CLI starts from."""
    settings, warnings = parse_config_file(text, env) if text is not None else (Settings(), [])
    return settings_from_env(env, settings), warnings


def resolve_file_references(settings: Settings, read_text: Callable[[str], str]) -> Settings:
    """Replace `db-uri = "@path"` and `jwt-secret = "@path"` by the files' contents.

    As PostgREST does: the URI is stripped of surrounding whitespace, the secret loses one
    trailing newline. `read_text(path)` does the I/O (and may raise OSError).
    """
    changes: dict[str, Any] = {}
    if settings.db_uri.startswith("@"):
        changes["db_uri"] = read_text(settings.db_uri[1:]).strip()
    if settings.jwt_secret is not None and settings.jwt_secret.startswith("@"):
        secret = read_text(settings.jwt_secret[1:])
        changes["jwt_secret"] = secret[:-1] if secret.endswith("\n") else secret
    return replace(settings, **changes) if changes else settings
