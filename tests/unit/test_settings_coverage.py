"""No config key is silently ignored: every key the parser accepts is read by the code that acts
on it, and a test shows what it changes.

Two checks: (1) the source of pgrest_core, pgrest_server and pgrest_cli, outside the config
modules themselves, reads each `Settings` field as an attribute; (2) each key names the test(s)
that show its effect, and those tests exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pgrest_core.configfile import dump_config, example_keys
from pgrest_core.settings import ALIASES, KEYS, Settings

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_CONFIGS = Path("/work/shared/conformance/configs.json")
PACKAGES = ("pgrest_core", "pgrest_server", "pgrest_cli")
# Where keys are defined, parsed and dumped: a read there is not a use.
CONFIG_MODULES = {"pgrest_core/settings.py", "pgrest_core/configfile.py", "pgrest_core/config.py"}

# Each key and the tests that show its effect: "module::test-name-prefix" in tests/, or
# "conformance" for a key PostgREST's own spec cases (the conformance suite) run with.
BEHAVIOUR: dict[str, tuple[str, ...]] = {
    "db-uri": ("test_serve::test_serve_answers_http_and_stops_on_sigterm",),
    "db-schemas": ("test_settings_behaviour::test_role_settings_override_the_file",),
    "db-anon-role": ("test_asgi::test_permission_denied_is_401_for_anonymous_with_www_authenticate", "conformance"),
    "db-pool": ("test_settings_behaviour::test_pool_lifetime_and_idle_time_reach_the_pool",),
    "db-pool-acquisition-timeout": ("test_pool::test_pool_args",),
    "db-pool-max-lifetime": ("test_settings_behaviour::test_pool_lifetime_and_idle_time_reach_the_pool",),
    "db-pool-max-idletime": ("test_settings_behaviour::test_idle_connections_are_closed_after_db_pool_max_idletime",),
    "db-pool-automatic-recovery": (
        "test_settings_behaviour::test_without_automatic_recovery_startup_fails_when_the_database_is_down",
        "test_settings_behaviour::test_without_automatic_recovery_a_lost_connection_stops_the_server",
    ),
    "db-extra-search-path": ("conformance",),
    "db-max-rows": ("test_settings_behaviour::test_db_config_false_ignores_the_database",),
    "db-pre-request": ("conformance",),
    "db-pre-config": ("test_settings_behaviour::test_db_pre_config_function_sets_settings_and_role_settings_win",),
    "db-root-spec": ("conformance",),
    "db-tx-end": ("conformance",),
    "db-prepared-statements": ("conformance",),
    "db-plan-enabled": ("conformance",),
    "db-aggregates-enabled": ("conformance",),
    "db-channel": ("conformance",),
    "db-channel-enabled": ("test_settings_behaviour::test_without_automatic_recovery_a_lost", "conformance"),
    "db-config": ("test_settings_behaviour::test_db_config_false_ignores_the_database",),
    "db-timezone-enabled": ("test_settings_behaviour::test_db_timezone_enabled",),
    "db-hoisted-tx-settings": ("test_settings_behaviour::test_db_hoisted_tx_settings",),
    "jwt-secret": ("test_auth::test_audience_configured",),
    "jwt-secret-is-base64": ("test_auth::",),
    "jwt-aud": ("test_auth::test_audience_configured",),
    "jwt-role-claim-key": ("test_auth::test_custom_role_claim_key",),
    "jwt-cache-max-entries": ("test_auth::test_cache_disabled",),
    "server-host": ("test_serve::test_bind_host",),
    "server-port": ("test_serve::test_serve_answers_http_and_stops_on_sigterm",),
    "server-unix-socket": ("test_settings_behaviour::test_server_unix_socket_mode",),
    "server-unix-socket-mode": ("test_settings_behaviour::test_server_unix_socket_mode",),
    "server-timing-enabled": ("conformance",),
    "server-cors-allowed-origins": ("test_asgi::test_cors_allowed_origins_and_trace_header",),
    "server-trace-header": ("test_asgi::test_cors_allowed_origins_and_trace_header",),
    "server-max-body-size": ("test_server_hardening::test_declared_length_over_the_limit_is_413_before_reading",),
    "server-stream-responses": ("test_streaming::test_streamed_bodies_equal_whole_ones",),
    "server-workers": ("test_workers::test_workers_serve_reload_replace_and_drain",),
    "openapi-docs-path": ("test_openapi31_http::test_docs_page_is_off_by_default_and_served_where_configured",),
    "openapi-default-version": ("test_openapi31_http::test_openapi_default_version_makes_31_the_default",),
    "server-otel-enabled": ("test_config::test_server_otel_enabled_true_is_refused_false_is_accepted",),
    "admin-server-host": ("test_serve_admin::test_serve_with_admin_server_and_ready",),
    "admin-server-port": ("test_serve_admin::test_serve_with_admin_server_and_ready",),
    "openapi-mode": ("test_openapi_http::test_disabled_is_404",),
    "openapi-security-active": ("conformance",),
    "openapi-server-proxy-uri": ("conformance",),
    "log-level": ("test_serve::test_serve_answers_http_and_stops_on_sigterm",),
    "log-query": ("test_settings_behaviour::test_log_query_logs_the_sql_of_logged_requests",),
    "client-error-verbosity": ("test_asgi::test_minimal_error_verbosity_hides_details_and_hint",),
    "url-use-legacy-target-names": ("conformance",),
    "db-uri-read-replicas": ("test_read_replicas_http::test_",),
    "db-read-replicas-max-lag": ("test_read_replicas_http::test_a_standby_lagging_past_the_bound_gets_no_reads",),
}

# Keys read only by the config modules, and why that is their whole effect.
READ_ONLY_BY_CONFIG = {
    # Refused when true (nothing to do when false): see _check_across_keys.
    "server_otel_enabled",
}


# Settings properties that read a field for the code using them.
DERIVED = {"effective_admin_server_host": "admin_server_host"}


def _attribute_reads() -> set[str]:
    names: set[str] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in CONFIG_MODULES:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute):
                    names.add(DERIVED.get(node.attr, node.attr))
    return names


def test_every_settings_field_is_read_outside_the_config_modules() -> None:
    reads = _attribute_reads()
    unread = sorted(
        spec.field for spec in KEYS.values() if spec.field not in reads and spec.field not in READ_ONLY_BY_CONFIG
    )
    assert unread == []


def test_every_key_is_a_settings_field_and_every_field_has_a_key() -> None:
    fields = {spec.field for spec in KEYS.values()}
    assert fields | {"app_settings"} == set(Settings.__dataclass_fields__)
    assert set(ALIASES.values()) <= set(KEYS)


def _test_names() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        text = path.read_text(encoding="utf-8")
        found.setdefault(path.stem, set()).update(re.findall(r"^(?:async )?def (test_\w+)", text, re.M))
    return found


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_key_names_existing_tests_of_its_behaviour(key: str) -> None:
    tests = _test_names()
    assert key in BEHAVIOUR, f"{key}: name the test that shows what it changes"
    for reference in BEHAVIOUR[key]:
        if reference == "conformance":
            if CONFORMANCE_CONFIGS.exists():
                assert key in CONFORMANCE_CONFIGS.read_text(encoding="utf-8"), key
            continue
        module, _, prefix = reference.partition("::")
        assert module in tests, reference
        assert any(name.startswith(prefix or "test_") for name in tests[module]), reference


def test_every_key_is_in_the_example_and_the_dump() -> None:
    assert sorted(example_keys()) == sorted(KEYS)
    dumped = {line.split(" = ")[0] for line in dump_config(Settings()).splitlines()}
    assert dumped == set(KEYS)
