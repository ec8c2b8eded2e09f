"""PostgREST's config sources: the config-file format, `PGRST_*` variables, `@file` values.

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

Precedence, as in PostgREST: the file, then `PGRST_*` variables over it, then the in-database
configuration over both (`settings_from_db`, fed by the runner's query of the role's settings).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from pgrest_core.settings import (
    ALIASES,
    APP_SETTINGS_PREFIX,
    DB_KEYS,
    ENV_APP_SETTINGS_PREFIX,
    KEYS,
    ConfigError,
    RawValue,
    Settings,
    apply_values,
    as_text,
    canonical_values,
    db_setting_name,
    env_var_name,
    merge_app_settings,
)

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
            return as_text(name, self.bound[name])
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
            app_settings[key] = as_text(key, raw)
        elif key not in KEYS and key not in ALIASES:
            warnings.append(f"Config file line {parser.lines[key]}: unknown key '{key}' ignored")
    settings = apply_values(Settings(), canonical_values(parser.bindings))
    return replace(settings, app_settings=merge_app_settings((), app_settings)), warnings


def settings_from_env(env: Mapping[str, str], base: Settings | None = None) -> Settings:
    """Apply `PGRST_*` environment variables over `base` (the file's settings, or defaults).

    `PGRST_DB_POOL` sets `db-pool`; `PGRST_APP_SETTINGS_name` sets `app.settings.name`, keeping
    the case of `name` as written, as PostgREST does.
    """
    base = base if base is not None else Settings()
    pairs: dict[str, RawValue] = {}
    for key in (*KEYS, *ALIASES):
        name = env_var_name(key)
        if name in env:
            pairs[key] = env[name]
    app_settings = {
        APP_SETTINGS_PREFIX + name[len(ENV_APP_SETTINGS_PREFIX) :]: value
        for name, value in env.items()
        if name.startswith(ENV_APP_SETTINGS_PREFIX) and len(name) > len(ENV_APP_SETTINGS_PREFIX)
    }
    settings = apply_values(base, canonical_values(pairs))
    return replace(settings, app_settings=merge_app_settings(settings.app_settings, app_settings))


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


# =============================================================================================
# The in-database configuration
# =============================================================================================


def settings_from_db(pairs: Mapping[str, str], base: Settings) -> Settings:
    """Apply the in-database configuration over `base` (the file's settings with `PGRST_*` on top).

    `pairs` maps role-setting names (`pgrst.db_schemas`) to their values, as the runner's query
    of `pg_db_role_setting` and the db-pre-config function returns them. Only PostgREST's
    in-database keys are read (`DB_KEYS`); anything else under `pgrst.` is left alone.
    """
    values: dict[str, RawValue] = {}
    for key in DB_KEYS:
        name = db_setting_name(key)
        if name in pairs:
            values[key] = pairs[name]
    return apply_values(base, values) if values else base


# =============================================================================================
# Dumping: `pgrest serve --dump-config` and the admin server's /config
# =============================================================================================


def _quoted(text: str) -> str:
    """A config-file string that reads back as `text` (`$` doubled against interpolation)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$") + '"'


def _dump_value(value: object) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return _quoted(",".join(str(item) for item in value))
    return _quoted(str(value))


def _dump_field(key: str, settings: Settings) -> str:
    if key == "admin-server-host":
        return _quoted(settings.effective_admin_server_host)
    if key == "server-unix-socket-mode":
        return _quoted(format(settings.server_unix_socket_mode, "o"))
    if key == "jwt-role-claim-key":
        return _quoted(settings.jwt_role_claim_key.text)
    return _dump_value(getattr(settings, KEYS[key].field))


def dump_config(settings: Settings) -> str:
    """The effective configuration in PostgREST's format: one `key = value` line per key, sorted
    (app.settings.* among them), as `postgrest --dump-config` prints it; it reads back the same."""
    lines = [f"{key} = {_dump_field(key, settings)}" for key in KEYS]
    lines += [f"{name} = {_quoted(value)}" for name, value in settings.app_settings]
    return "".join(line + "\n" for line in sorted(lines))


# =============================================================================================
# `pgrest serve --example`: an annotated config file
# =============================================================================================

# (comment, line) per key, in the order the example shows them; a line starting with "# " is
# an optional setting shown commented out. Every key in KEYS appears exactly once (tested).
_EXAMPLE: tuple[tuple[str, str], ...] = (
    ("Connection string (libpq URI or key=value); \"@path\" reads it from a file", 'db-uri = "postgresql://"'),
    ("Schemas exposed over HTTP, comma-separated; the first is the default", 'db-schemas = "public"'),
    ("Role for requests without a JWT", '# db-anon-role = "anon"'),
    ("Maximum number of pooled connections", "db-pool = 10"),
    ("Seconds a request waits for a pooled connection before a 504", "# db-pool-acquisition-timeout = 10"),
    ("Seconds after which a pooled connection is replaced", "# db-pool-max-lifetime = 1800"),
    ("Seconds after which an unused pooled connection is closed", "# db-pool-max-idletime = 30"),
    ("Reconnect when the database goes away (false: exit instead)", "# db-pool-automatic-recovery = true"),
    ("Schemas appended to every request's search_path", 'db-extra-search-path = "public"'),
    ("Hard limit on the rows any read returns", "# db-max-rows = 1000"),
    ("Function called after the request's settings are set", '# db-pre-request = "api.check"'),
    ("Function whose set_config calls configure pgrest", '# db-pre-config = "postgrest.pre_config"'),
    ("Read settings from the database (ALTER ROLE ... SET pgrst.db_schemas = ...)", "db-config = true"),
    ("Function answering GET / instead of the OpenAPI document", '# db-root-spec = "root"'),
    ("commit | commit-allow-override | rollback | rollback-allow-override", 'db-tx-end = "commit"'),
    ("Prepare statements; turn off behind a transaction-pooling proxy", "db-prepared-statements = true"),
    ("Standbys for read-only requests: comma-separated URIs", '# db-uri-read-replicas = ""'),
    ("Seconds of replay lag after which a standby gets no reads", "# db-read-replicas-max-lag = 10"),
    ("Allow Accept: application/vnd.pgrst.plan (EXPLAIN output)", "# db-plan-enabled = false"),
    ("Allow aggregate functions in select", "# db-aggregates-enabled = false"),
    ("NOTIFY channel for 'reload schema' and 'reload config'", 'db-channel = "pgrst"'),
    ("Listen on db-channel", "db-channel-enabled = true"),
    ("Honour Prefer: timezone=...", "# db-timezone-enabled = true"),
    (
        "Function SET options applied to the whole transaction when the function is called",
        "# db-hoisted-tx-settings = "
        '"statement_timeout,plan_filter.statement_cost_limit,default_transaction_isolation"',
    ),
    ("JWT secret, JWK or JWKS (\"@path\": a file)", '# jwt-secret = "at_least_32_characters..."'),
    ("The secret is base64-encoded", "jwt-secret-is-base64 = false"),
    ("Required aud claim", '# jwt-aud = "your_audience"'),
    ("JSONPath of the role claim", 'jwt-role-claim-key = "$$.role"'),
    ("Verified JWTs kept in memory (0 disables the cache)", "# jwt-cache-max-entries = 1000"),
    ("Address to listen on (!4 any IPv4, !6 any IPv6, * any)", 'server-host = "!4"'),
    ("Port to listen on", "server-port = 3000"),
    ("Listen on a unix socket instead of host and port", '# server-unix-socket = "/tmp/pgrst.sock"'),
    ("File mode of the unix socket (octal, 600 to 777)", '# server-unix-socket-mode = "660"'),
    ("Add a Server-Timing header to responses", "server-timing-enabled = false"),
    ("Origins allowed by CORS, comma-separated (unset: any)", '# server-cors-allowed-origins = "https://example.com"'),
    ("Request header echoed back on the response, for tracing", '# server-trace-header = "X-Request-Id"'),
    ("OpenTelemetry traces: not supported by pgrest, true is refused", "# server-otel-enabled = false"),
    ("Admin server (/live /ready /config /schema_cache /metrics)", "# admin-server-port = 3001"),
    ("Admin server address (default: server-host)", '# admin-server-host = "127.0.0.1"'),
    ("follow-privileges | ignore-privileges | disabled", 'openapi-mode = "follow-privileges"'),
    ("Describe JWT security in the OpenAPI document", "# openapi-security-active = false"),
    ("Public base URL for the OpenAPI document", '# openapi-server-proxy-uri = "https://example.com/api"'),
    ("pgrest: the root's document when no version is asked (2.0 | 3.1)", 'openapi-default-version = "2.0"'),
    ("pgrest: serve Swagger UI for the API at this path (off when unset)", '# openapi-docs-path = "/docs"'),
    ("pgrest: largest request body in bytes; 413 above it", "server-max-body-size = 10485760"),
    ("pgrest: processes serving the port, each with its own db-pool", "server-workers = 1"),
    ("pgrest: stream large JSON/GeoJSON reads (no Content-Range)", "server-stream-responses = false"),
    ("crit | error | warn | info | debug", 'log-level = "error"'),
    ("Log each request's SQL at the current log-level", "log-query = false"),
    ("verbose | minimal (code and message only) error bodies", '# client-error-verbosity = "verbose"'),
    ("Let filters name an aliased embed by its table name", "url-use-legacy-target-names = true"),
    ("Free-form values, readable as current_setting('app.settings.name')", '# app.settings.jwt_exp = "3600"'),
)


def example_config() -> str:
    """An annotated config file naming every key, for `pgrest serve --example`."""
    return "\n".join(f"## {comment}\n{line}\n" for comment, line in _EXAMPLE)


def example_keys() -> tuple[str, ...]:
    """The keys `example_config` shows, in order (app.settings.* excluded)."""
    keys = (line.removeprefix("# ").split(" = ")[0] for _, line in _EXAMPLE)
    return tuple(key for key in keys if not key.startswith(APP_SETTINGS_PREFIX))
