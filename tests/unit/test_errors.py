"""PostgreSQL errors -> HTTP: PostgREST 16's whole SQLSTATE table, and client-side driver errors."""

from __future__ import annotations

import psycopg
import pytest

from pgrest_core.errors import status_for_sqlstate
from pgrest_core.runner.errors import from_exception

# (SQLSTATE, message, status for an authenticated role) — one row per line of PostgREST's table,
# plus a code of each class falling back to 400.
TABLE = [
    ("08000", "", 503),  # connection exception
    ("08006", "", 503),
    ("09000", "", 500),  # triggered action exception
    ("0L000", "", 403),  # invalid grantor
    ("0LP01", "", 403),
    ("0P000", "", 403),  # invalid role specification
    ("21000", "more than one row returned by a subquery used as an expression", 500),
    ("21000", "UPDATE requires a WHERE clause", 400),  # pg-safeupdate: the client's mistake
    ("22023", 'role "nobody" does not exist', 401),  # a JWT naming an unknown role
    ("22023", "invalid value for parameter", 400),
    ("22P02", "invalid input syntax for type integer", 400),
    ("23502", "", 400),
    ("23503", "", 409),  # foreign key violation
    ("23505", "", 409),  # unique violation
    ("25000", "", 500),  # invalid transaction state
    ("25006", "", 405),  # read only transaction
    ("28000", "", 403),  # invalid authorization specification
    ("28P01", "", 403),
    ("2D000", "", 500),  # invalid transaction termination
    ("38000", "", 500),  # external routine exception
    ("39000", "", 500),  # external routine invocation exception
    ("3B000", "", 500),  # savepoint exception
    ("40001", "", 500),  # transaction rollback
    ("40P01", "", 500),
    ("42501", "", 403),  # insufficient privilege (authenticated)
    ("42601", "", 400),
    ("42703", "", 400),
    ("42883", "function f(integer) does not exist", 404),  # undefined function
    ("42883", "function xmlagg(integer) does not exist", 406),  # no XML aggregate
    ("42P01", "", 404),  # undefined table
    ("42P17", "", 500),  # infinite recursion
    ("53000", "", 503),  # insufficient resources
    ("53100", "", 503),
    ("53200", "", 503),
    ("53300", "", 503),
    ("53400", "", 500),  # configuration limit exceeded
    ("54000", "", 500),  # program limit exceeded
    ("54001", "", 500),
    ("55000", "", 500),  # object not in prerequisite state
    ("55P03", "", 500),
    ("57000", "", 500),  # operator intervention
    ("57014", "", 500),  # query canceled
    ("57P01", "", 503),  # admin shutdown: a lost connection
    ("57P02", "", 500),
    ("57P03", "", 500),
    ("58000", "", 500),  # system error
    ("58030", "", 500),
    ("F0000", "", 500),  # configuration file error
    ("HV000", "", 500),  # foreign data wrapper error
    ("P0001", "", 400),  # RAISE's default
    ("P0002", "", 500),  # PL/pgSQL error
    ("P0004", "", 500),
    ("XX000", "", 500),  # internal error
    ("XX001", "", 500),
    ("PT404", "", 404),  # a status chosen by the function
    ("PT209", "", 209),
    ("PTabc", "", 500),
    ("0A000", "", 400),  # anything else
    ("22012", "", 400),
    ("2F005", "", 400),
]


@pytest.mark.parametrize(("sqlstate", "message", "status"), TABLE)
def test_postgrest_status_table(sqlstate: str, message: str, status: int) -> None:
    assert status_for_sqlstate(sqlstate, authenticated=True, message=message) == status


def test_insufficient_privilege_is_401_for_the_anonymous_role() -> None:
    assert status_for_sqlstate("42501", authenticated=False) == 401


def test_a_value_the_driver_refuses_is_a_data_error_not_a_lost_connection() -> None:
    # What psycopg raises, before anything is sent, for text holding NUL.
    error = psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    mapped = from_exception(error, authenticated=False)
    assert mapped is not None
    assert (mapped.code, mapped.status) == ("22021", 400)
    assert mapped.message == 'invalid byte sequence for encoding "UTF8": 0x00'


def test_a_connection_failure_without_sqlstate_stays_pgrst001() -> None:
    mapped = from_exception(psycopg.OperationalError("server closed the connection"), authenticated=False)
    assert mapped is not None and (mapped.code, mapped.status) == ("PGRST001", 503)


def test_admin_shutdown_from_the_server_is_503() -> None:
    error = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    # psycopg takes the SQLSTATE from the class when no diagnostic is attached.
    mapped = from_exception(error, authenticated=True)
    assert mapped is not None and (mapped.code, mapped.status) == ("57P01", 503)
