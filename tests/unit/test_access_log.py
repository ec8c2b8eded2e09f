"""The access log line and PostgREST's log-level rules, without a server."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from pgrest_server.access_log import ACCESS_LOGGER, combined_line, configure_logging, status_level


@pytest.mark.parametrize(
    ("status", "level"),
    [(200, logging.INFO), (304, logging.INFO), (404, logging.WARNING), (499, logging.WARNING), (503, logging.ERROR)],
)
def test_status_decides_the_level(status: int, level: int) -> None:
    assert status_level(status) == level


def test_client_controlled_fields_cannot_forge_log_lines() -> None:
    scope = {"method": "GET", "raw_path": b"/films", "query_string": b"a=1", "client": ("10.0.0.1", 1)}
    headers = [("user-agent", 'evil\n127.0.0.1 - admin "GET / HTTP/1.1" 200'), ("referer", "x\\y")]
    line = combined_line(scope, headers, 200, None, None)
    assert "\n" not in line
    assert line.startswith('10.0.0.1 - - [')
    assert line.endswith(' "GET /films?a=1 HTTP/1.1" 200 - "x\\\\y" "evil\\x0a127.0.0.1 - admin \\"GET / HTTP/1.1\\" 200"')


def test_an_overlong_target_is_cut_in_the_log() -> None:
    scope = {"method": "GET", "raw_path": b"/films", "query_string": b"a=" + b"1" * 100_000}
    assert len(combined_line(scope, [], 414, 10, None)) < 5000


@pytest.fixture()
def restore_loggers() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("pgrest", ACCESS_LOGGER)]
    saved = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.mark.usefixtures("restore_loggers")
def test_configure_logging_is_idempotent_and_sets_the_level() -> None:
    configure_logging("warn")
    configure_logging("error")
    access = logging.getLogger(ACCESS_LOGGER)
    # Only configure_logging's own handlers count: pytest may attach capture handlers too.
    def ours(logger: logging.Logger) -> list[logging.Handler]:
        return [h for h in logger.handlers if getattr(h, "_pgrest_cli_handler", False)]

    assert len(ours(access)) == 1 and len(ours(logging.getLogger("pgrest"))) == 1
    assert access.level == logging.ERROR and not access.propagate
    # Diagnostics (startup, schema cache, recovery) are printed at every level, as PostgREST's.
    assert logging.getLogger("pgrest").level == logging.INFO
    configure_logging("crit")
    assert logging.getLogger("pgrest").level == logging.INFO
    configure_logging("debug")
    assert logging.getLogger("pgrest").level == logging.DEBUG
