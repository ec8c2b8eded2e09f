"""`translate`: a request line to its statement."""

from __future__ import annotations

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.translate import split_request_line, translate
from tests.unit.plan.films import films_cache


def test_split_request_line() -> None:
    assert split_request_line("  GET /films?year=gt.2000 \n") == ("GET", "/films", "year=gt.2000")


def test_only_ascii_whitespace_frames_the_line() -> None:
    # A no-break space at the end is part of the last value, as if it had been percent-encoded.
    statement = translate("GET /films?select=id&title=eq.a\u00a0", films_cache())
    assert statement.params == ("a\u00a0",)


@pytest.mark.parametrize("line", ["", "GET", "   "])
def test_a_line_without_a_target_is_a_client_error(line: str) -> None:
    with pytest.raises(PgrstError) as raised:
        split_request_line(line)
    assert raised.value.code == "PGRST100"


def test_placeholders_for_either_driver() -> None:
    statement = translate("GET /films?select=id&year=gt.2000&limit=5", films_cache())
    assert '"films"."year" > $1 LIMIT $2' in statement.render("dollar")
    assert '"films"."year" > %s LIMIT %s' in statement.render("psycopg")
    assert statement.params == ("2000", 5)
