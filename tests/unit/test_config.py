"""pgrest_core.config: the config-file format, PGRST_* variables and Settings."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pgrest_core.config import (
    DEFAULT_HOISTED_TX_SETTINGS,
    ConfigError,
    Settings,
    config_keys,
    env_var_name,
    load_settings,
    parse_config_file,
    parse_role_claim_key,
    resolve_file_references,
    settings_from_env,
)

CONFIGS_JSON = Path("/work/shared/conformance/configs.json")


def load(text: str, env: dict[str, str] | None = None) -> Settings:
    settings, warnings = parse_config_file(text, env)
    assert warnings == []
    return settings


# --- defaults --------------------------------------------------------------------------------


def test_defaults_are_postgrests() -> None:
    s = Settings()
    assert s.db_uri == "postgresql://"
    assert s.db_schemas == ("public",)
    assert s.db_anon_role is None
    assert (s.db_pool, s.db_pool_acquisition_timeout, s.db_pool_max_lifetime, s.db_pool_max_idletime) == (
        10,
        10,
        1800,
        30,
    )
    assert s.db_extra_search_path == ("public",)
    assert s.db_tx_end == "commit"
    assert s.db_prepared_statements and not s.db_plan_enabled and not s.db_aggregates_enabled
    assert s.db_hoisted_tx_settings == DEFAULT_HOISTED_TX_SETTINGS
    assert s.jwt_role_claim_key.text == "$.role"
    assert s.jwt_cache_max_entries == 1000
    assert (s.server_host, s.server_port) == ("!4", 3000)
    assert s.openapi_mode == "follow-privileges"
    assert s.log_level == "error"
    assert s.client_error_verbosity == "verbose"
    assert s.app_settings == ()


def test_empty_file_gives_defaults() -> None:
    assert load("") == Settings()
    assert load("# only a comment\n\n   \n") == Settings()


# --- value syntax ----------------------------------------------------------------------------


def test_every_value_type() -> None:
    s = load(
        """
        db-uri = "postgres://u@h/db"         # trailing comment
        db-schemas = "api, v2 ,v3"
        db-anon-role = "web_anon"
        db-pool = 25
        db-max-rows = "100"
        db-plan-enabled = true
        db-prepared-statements = false
        db-aggregates-enabled = "true"
        db-channel-enabled = "FALSE"
        db-config = 0
        db-tx-end = "rollback-allow-override"
        jwt-secret = "reallyreallyreallyreallyverysafe"
        jwt-aud = "my-aud"
        jwt-cache-max-entries = 0
        server-port = 8080
        server-cors-allowed-origins = "http://a.com, http://b.com"
        server-trace-header = "X-Request-Id"
        admin-server-port = 3001
        openapi-mode = "ignore-privileges"
        openapi-server-proxy-uri = "https://example.com:8443/basePath"
        log-level = "debug"
        client-error-verbosity = "minimal"
        server-unix-socket-mode = "600"
        """
    )
    assert s.db_uri == "postgres://u@h/db"
    assert s.db_schemas == ("api", "v2", "v3")
    assert s.db_anon_role == "web_anon"
    assert s.db_pool == 25
    assert s.db_max_rows == 100
    assert s.db_plan_enabled is True
    assert s.db_prepared_statements is False
    assert s.db_aggregates_enabled is True
    assert s.db_channel_enabled is False
    assert s.db_config is False
    assert s.db_tx_end == "rollback-allow-override"
    assert s.tx_rollback_all and s.tx_allow_override
    assert s.jwt_secret == "reallyreallyreallyreallyverysafe"
    assert s.jwt_aud == "my-aud"
    assert s.jwt_cache_max_entries == 0
    assert s.server_port == 8080
    assert s.server_cors_allowed_origins == ("http://a.com", "http://b.com")
    assert s.server_trace_header == "X-Request-Id"
    assert s.admin_server_port == 3001
    assert s.effective_admin_server_host == "!4"
    assert s.openapi_mode == "ignore-privileges"
    assert s.openapi_server_proxy_uri == "https://example.com:8443/basePath"
    assert s.log_level == "debug"
    assert s.client_error_verbosity == "minimal"
    assert s.server_unix_socket_mode == 0o600


@pytest.mark.parametrize(
    ("tx_end", "rollback_all", "allow_override"),
    [
        ("commit", False, False),
        ("commit-allow-override", False, True),
        ("rollback", True, False),
        ("rollback-allow-override", True, True),
    ],
)
def test_tx_end_flags(tx_end: str, rollback_all: bool, allow_override: bool) -> None:
    s = load(f'db-tx-end = "{tx_end}"')
    assert (s.tx_rollback_all, s.tx_allow_override) == (rollback_all, allow_override)


def test_string_escapes() -> None:
    s = load(r'db-anon-role = "a\"b\\c\nd\te\u00e9"')
    assert s.db_anon_role == 'a"b\\c\nd\teé'


def test_dollar_dollar_is_a_literal_dollar() -> None:
    assert load('jwt-role-claim-key = "$$.role"').jwt_role_claim_key.text == "$.role"
    assert load('db-anon-role = "a$$b"').db_anon_role == "a$b"


def test_interpolation_from_environment() -> None:
    s = load('db-uri = "postgres://$(USER)@$(HOST)/db"', {"USER": "alice", "HOST": "db.local"})
    assert s.db_uri == "postgres://alice@db.local/db"


def test_interpolation_from_an_earlier_key() -> None:
    s = load('db-anon-role = "anon"\ndb-channel = "chan_$(db-anon-role)"')
    assert s.db_channel == "chan_anon"


def test_interpolation_of_a_missing_variable_fails() -> None:
    with pytest.raises(ConfigError, match=r"\$\(NOPE\)"):
        parse_config_file('db-uri = "$(NOPE)"', {})


def test_lone_dollar_is_kept() -> None:
    assert load('db-anon-role = "a$b"').db_anon_role == "a$b"


def test_numbers_and_booleans_in_any_spelling() -> None:
    s = load('db-pool = "7"\ndb-plan-enabled = on\ndb-config = "False"\nlog-query = 1')
    assert (s.db_pool, s.db_plan_enabled, s.db_config, s.log_query) == (7, True, False, True)


def test_float_that_is_an_integer_is_accepted() -> None:
    assert load("db-pool = 1e1").db_pool == 10


def test_number_into_a_string_key() -> None:
    assert load("db-anon-role = 5").db_anon_role == "5"


def test_group_prefixes_keys() -> None:
    s = load('app.settings {\n  jwt_exp = "3600"\n  other = 5\n}\ndb-pool = 3')
    assert s.app_settings == (("app.settings.jwt_exp", "3600"), ("app.settings.other", "5"))
    assert s.db_pool == 3


def test_app_settings_are_sorted_strings() -> None:
    s = load('app.settings.zeta = "z"\napp.settings.alpha = true')
    assert s.app_settings == (("app.settings.alpha", "true"), ("app.settings.zeta", "z"))


def test_last_binding_wins() -> None:
    assert load("db-pool = 1\ndb-pool = 2").db_pool == 2


# --- empty strings ---------------------------------------------------------------------------


def test_empty_string_means_unset() -> None:
    s = load('db-anon-role = ""\ndb-max-rows = ""\ndb-schemas = ""\ndb-pool = ""\nlog-level = ""')
    assert s.db_anon_role is None
    assert s.db_max_rows is None
    assert s.db_schemas == ("public",)
    assert s.db_pool == 10
    assert s.log_level == "error"


def test_empty_extra_search_path_is_the_empty_list() -> None:
    assert load('db-extra-search-path = ""').db_extra_search_path == ()
    assert load('db-extra-search-path = "public, ext"').db_extra_search_path == ("public", "ext")


# --- aliases, unknown and ignored keys -------------------------------------------------------


def test_aliases() -> None:
    s = load(
        'db-schema = "api"\nmax-rows = 5\npre-request = "x.y"\nrole-claim-key = ".r"\ndb-pool-timeout = 9'
    )
    assert s.db_schemas == ("api",)
    assert s.db_max_rows == 5
    assert s.db_pre_request == "x.y"
    assert s.jwt_role_claim_key.text == ".r"
    assert s.db_pool_max_idletime == 9


def test_current_name_wins_over_alias() -> None:
    assert load('db-schema = "old"\ndb-schemas = "new"').db_schemas == ("new",)
    assert load('db-schemas = "new"\ndb-schema = "old"').db_schemas == ("new",)


def test_unknown_key_is_a_warning() -> None:
    settings, warnings = parse_config_file('db-pool = 4\nno-such-key = "x"')
    assert settings.db_pool == 4
    assert len(warnings) == 1
    assert "no-such-key" in warnings[0] and "line 2" in warnings[0]


def test_known_postgrest_keys_raise_no_warning() -> None:
    text = "url-use-legacy-target-names = false\ndb-pool-automatic-recovery = false\n"
    s = load(text)
    assert s.url_use_legacy_target_names is False
    assert s.db_pool_automatic_recovery is False


def test_keys_pgrest_does_not_read_are_warned_about_never_silently_accepted() -> None:
    # PostgREST's internal test knobs and removed names change nothing here: say so.
    _, warnings = parse_config_file("internal-schema-cache-load-sleep = 10\nserver-proxy-uri = \"x\"\n")
    assert len(warnings) == 2
    assert "internal-schema-cache-load-sleep" in warnings[0]
    assert "server-proxy-uri" in warnings[1]


def test_server_otel_enabled_true_is_refused_false_is_accepted() -> None:
    assert load("server-otel-enabled = false").server_otel_enabled is False
    with pytest.raises(ConfigError, match="server-otel-enabled.*OpenTelemetry"):
        load("server-otel-enabled = true")
    with pytest.raises(ConfigError, match="server-otel-enabled"):
        settings_from_env({"PGRST_SERVER_OTEL_ENABLED": "true"})


def test_every_stored_key_has_an_environment_variable() -> None:
    assert "db-uri" in config_keys()
    assert env_var_name("db-pool-max-idletime") == "PGRST_DB_POOL_MAX_IDLETIME"


# --- bad values and syntax errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('db-pool = "abc"', "db-pool"),
        ("db-pool = 1.5", "db-pool"),
        ("db-pool = -1", "db-pool"),
        ("db-pool = true", "db-pool"),
        ('db-tx-end = "sometimes"', "db-tx-end"),
        ('openapi-mode = "open"', "openapi-mode"),
        ('log-level = "loud"', "log-level"),
        ('client-error-verbosity = "chatty"', "client-error-verbosity"),
        ('db-plan-enabled = "maybe"', "db-plan-enabled"),
        ("server-port = 70000", "server-port"),
        ('server-unix-socket-mode = "999"', "server-unix-socket-mode"),
        ('server-unix-socket-mode = "500"', "server-unix-socket-mode"),
        ('openapi-server-proxy-uri = "ftp://x"', "openapi-server-proxy-uri"),
        ('openapi-server-proxy-uri = "https://x.com:port/"', "openapi-server-proxy-uri"),
        ('jwt-aud = "a: b"', "jwt-aud"),
        ('db-schemas = "api, pg_catalog"', "db-schemas"),
        ('db-schemas = "information_schema"', "db-schemas"),
        ('jwt-role-claim-key = "role"', "jwt-role-claim-key"),
        ('jwt-role-claim-key = "$.roles["', "jwt-role-claim-key"),
        ("server-port = 3000\nadmin-server-port = 3000", "admin-server-port"),
    ],
)
def test_bad_values_name_their_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'"):
        parse_config_file(text)


@pytest.mark.parametrize(
    "text",
    [
        "db-uri = postgres",  # unquoted word
        'db-uri "x"',  # no '='
        'db-uri = "unterminated',
        'db-uri = "bad \\q escape"',
        "db-uri =",
        "= 5",
        'app.settings { a = "1"',  # unclosed group
        'db-schemas = ["a", "b"]',  # lists are not PostgREST values
        "db-pool = 5 %",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="line"):
        parse_config_file(text)


# --- environment -----------------------------------------------------------------------------


def test_environment_alone() -> None:
    s = settings_from_env(
        {
            "PGRST_DB_URI": "postgres://env",
            "PGRST_DB_SCHEMAS": "a,b",
            "PGRST_DB_POOL": "3",
            "PGRST_DB_PLAN_ENABLED": "true",
            "PGRST_JWT_ROLE_CLAIM_KEY": ".realm.role",
            "PGRST_APP_SETTINGS_jwt_exp": "60",
            "UNRELATED": "x",
        }
    )
    assert s.db_uri == "postgres://env"
    assert s.db_schemas == ("a", "b")
    assert s.db_pool == 3
    assert s.db_plan_enabled is True
    assert s.jwt_role_claim_key.first({"realm": {"role": "r"}}) == (True, "r")
    assert s.app_settings == (("app.settings.jwt_exp", "60"),)


def test_environment_overrides_the_file() -> None:
    base = load('db-pool = 4\ndb-anon-role = "file"\napp.settings.a = "file"\napp.settings.b = "file"')
    s = settings_from_env({"PGRST_DB_POOL": "9", "PGRST_APP_SETTINGS_a": "env"}, base)
    assert s.db_pool == 9
    assert s.db_anon_role == "file"
    assert s.app_settings == (("app.settings.a", "env"), ("app.settings.b", "file"))


def test_environment_alias_and_empty_value() -> None:
    s = settings_from_env({"PGRST_DB_SCHEMA": "old", "PGRST_DB_ANON_ROLE": ""}, load('db-anon-role = "x"'))
    assert s.db_schemas == ("old",)
    assert s.db_anon_role is None  # "" resets to the default


def test_environment_bad_value() -> None:
    with pytest.raises(ConfigError, match="'db-pool'"):
        settings_from_env({"PGRST_DB_POOL": "many"})


def test_load_settings_combines_file_and_environment() -> None:
    s, warnings = load_settings('db-pool = 4\nwhat = 1\ndb-uri = "$(H)"', {"PGRST_DB_POOL": "5", "H": "h"})
    assert (s.db_pool, s.db_uri) == (5, "h")
    assert len(warnings) == 1
    assert load_settings(None, {"PGRST_DB_POOL": "6"})[0].db_pool == 6


# --- @file references ------------------------------------------------------------------------


def test_file_references_are_kept_then_resolved() -> None:
    s = load('db-uri = "@/run/uri"\njwt-secret = "@/run/secret"')
    assert s.db_uri == "@/run/uri" and s.jwt_secret == "@/run/secret"
    files = {"/run/uri": "  postgres://from-file \n", "/run/secret": "s3cret\n\n"}
    resolved = resolve_file_references(s, files.__getitem__)
    assert resolved.db_uri == "postgres://from-file"
    assert resolved.jwt_secret == "s3cret\n"  # one trailing newline removed, as PostgREST does
    assert resolve_file_references(Settings(), files.__getitem__) == Settings()


# --- the conformance suite's configs ---------------------------------------------------------


def _write_like_the_runner(config: dict[str, Any]) -> str:
    """A config file as conformance/run writes one (see its README, 'Config file')."""

    def quote(text: str) -> str:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return '"' + escaped.replace("\t", "\\t").replace("\r", "\\r").replace("$", "$$") + '"'

    lines = [
        "# group",
        'db-uri = "postgresql://a@127.0.0.1:5432/db"',
        'server-host = "127.0.0.1"',
        "server-port = 4000",
    ]
    for key in sorted(config):
        value = config[key]
        if value is None:
            continue
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        elif isinstance(value, list):
            lines.append(f"{key} = {quote(','.join(value))}")
        elif isinstance(value, dict):
            lines.append(f"{key} = {quote(json.dumps(value))}")
        else:
            lines.append(f"{key} = {quote(value)}")
    return "\n".join(lines)


@pytest.mark.skipif(not CONFIGS_JSON.exists(), reason="conformance suite not present")
def test_every_conformance_config_loads_without_warnings() -> None:
    groups = json.loads(CONFIGS_JSON.read_text())
    for name, config in groups.items():
        settings, warnings = parse_config_file(_write_like_the_runner(config))
        assert warnings == [], name
        assert settings.server_port == 4000
        assert settings.jwt_role_claim_key.text == config.get("jwt-role-claim-key", "$.role")
        if "db-schemas" in config:
            assert settings.db_schemas == tuple(s.strip() for s in config["db-schemas"].split(","))
        if "jwt-secret" in config:
            assert settings.jwt_secret == config["jwt-secret"]


def test_special_characters_survive_the_round_trip() -> None:
    s = load(
        'db-schemas = "v1,v2,SPECIAL \\"@/\\\\#~_-"\ndb-extra-search-path = "public,EXTRA \\"@/\\\\#~_-"'
    )
    assert s.db_schemas == ("v1", "v2", 'SPECIAL "@/\\#~_-')
    assert s.db_extra_search_path == ("public", 'EXTRA "@/\\#~_-')
    assert load('db-schemas = "تست"').db_schemas == ("تست",)


# --- the role claim key ----------------------------------------------------------------------


def test_role_claim_key_is_a_jspath() -> None:
    s = load('jwt-role-claim-key = ".realm.roles[?@ ^== \\"app_\\"]"')
    assert s.jwt_role_claim_key.first({"realm": {"roles": ["x", "app_r"]}}) == (True, "app_r")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("role", "a path starts with '$' or '.' at position 1 in 'role'"),
        ("$.roles[", "expected an index, a name, '*' or a filter at position 9 in '$.roles['"),
    ],
)
def test_role_claim_key_error_names_key_and_position(text: str, detail: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_role_claim_key(text)
    assert str(info.value) == f"Invalid value for 'jwt-role-claim-key': {detail}"


# --- the in-database configuration, the dump and the example -----------------------------------


def test_settings_from_db_reads_only_in_database_keys() -> None:
    from pgrest_core.configfile import settings_from_db

    base = Settings(db_pool=4, db_max_rows=10)
    pairs = {"pgrst.db_max_rows": "3", "pgrst.db_pool": "9", "pgrst.db_schemas": "a, b", "other.x": "1"}
    settings = settings_from_db(pairs, base)
    assert (settings.db_max_rows, settings.db_pool, settings.db_schemas) == (3, 4, ("a", "b"))
    assert settings_from_db({}, base) is base
    with pytest.raises(ConfigError, match="db-tx-end"):
        settings_from_db({"pgrst.db_tx_end": "sometimes"}, base)


def test_db_config_query_quotes_the_pre_config_function() -> None:
    from pgrest_core.runner.db_config import db_config_query

    text, params = db_config_query(None)
    assert "pre_config" not in text and len(params) == 1 and "pgrst.db_schemas" in params[0]
    text, params = db_config_query('my schema.pre"config')
    assert '"my schema"."pre""config"()' in text and len(params) == 2


def test_dump_config_reads_back_the_same_settings() -> None:
    from pgrest_core.configfile import dump_config

    text = (
        'db-uri = "postgres://u:p$$w@h/db"\ndb-schemas = "a,b"\ndb-max-rows = 5\njwt-secret = "say \\"hi\\""\n'
        'server-unix-socket-mode = "600"\nadmin-server-port = 3001\napp.settings.k = "v"\n'
        'jwt-role-claim-key = "$$.roles[0]"\ndb-extra-search-path = ""\n'
    )
    settings = load(text)
    dumped = dump_config(settings)
    again = load(dumped)
    # The dump spells out admin-server-host's default (server-host's value).
    assert again.effective_admin_server_host == settings.effective_admin_server_host
    assert replace(again, admin_server_host=None) == settings
    assert dump_config(again) == dumped
    lines = dumped.splitlines()
    assert lines == sorted(lines)
    assert 'db-uri = "postgres://u:p$$w@h/db"' in lines
    assert 'server-unix-socket-mode = "600"' in lines
    assert 'admin-server-host = "!4"' in lines  # defaults to server-host
    assert 'db-extra-search-path = ""' in lines
    assert 'app.settings.k = "v"' in lines


def test_example_config_names_every_key_once() -> None:
    from pgrest_core.configfile import example_config, example_keys
    from pgrest_core.settings import KEYS

    assert sorted(example_keys()) == sorted(KEYS)
    assert load(example_config()) == Settings()
