"""`Prefer` parsing and `Preference-Applied` formatting."""

from __future__ import annotations

import pytest

from pgrest_core import errors
from pgrest_core.ast import Preferences
from pgrest_core.request.preferences import applied, format_applied, parse_prefer, preference_items


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("return=minimal", Preferences(return_="minimal")),
        ("return=headers-only", Preferences(return_="headers-only")),
        ("return=representation", Preferences(return_="representation")),
        ("count=exact", Preferences(count="exact")),
        ("count=planned", Preferences(count="planned")),
        ("count=estimated", Preferences(count="estimated")),
        ("resolution=merge-duplicates", Preferences(resolution="merge-duplicates")),
        ("resolution=ignore-duplicates", Preferences(resolution="ignore-duplicates")),
        ("missing=default", Preferences(missing="default")),
        ("missing=null", Preferences(missing="null")),
        ("handling=strict", Preferences(handling="strict")),
        ("handling=lenient", Preferences(handling="lenient")),
        ("tx=commit", Preferences(tx="commit")),
        ("tx=rollback", Preferences(tx="rollback")),
        ("max-affected=0", Preferences(max_affected=0)),
        ("max-affected=10", Preferences(max_affected=10)),
        ("timezone=America/Los_Angeles", Preferences(timezone="America/Los_Angeles")),
        ("timezone=+05:30", Preferences(timezone="+05:30")),
        ("timezone=-4", Preferences(timezone="-4")),
    ],
)
def test_each_known_preference(header: str, expected: Preferences) -> None:
    assert parse_prefer([header]) == expected


@pytest.mark.parametrize(
    "token",
    [
        "anything",
        "return=everything",
        "return",
        "return=",
        "count=none",
        "count=Exact",  # values are case-sensitive, as in PostgREST
        "Return=minimal",
        "resolution=merge",
        "missing=nothing",
        "handling=loose",
        "tx=abort",
        "max-affected=ten",
        "max-affected=-1",
        "max-affected=1.5",
        "max-affected=",
        "max-affected=" + "9" * 19,
        "max-affected=١٢",  # non-ASCII digits
        "timezone=",
        "params=single-object",
        "return = minimal",
    ],
)
def test_unknown_or_bad_values_are_invalid(token: str) -> None:
    preferences = parse_prefer([token])
    assert preferences.invalid == (token,)
    assert preferences == Preferences(invalid=(token,))


def test_several_tokens_and_headers_are_combined() -> None:
    preferences = parse_prefer(["return=representation, count=exact", "tx=rollback", "missing=default"])
    assert preferences == Preferences(
        return_="representation", count="exact", tx="rollback", missing="default"
    )


def test_whitespace_around_tokens_is_ignored() -> None:
    preferences = parse_prefer(["count=exact,    tx=commit   ,return=representation , anything  "])
    assert preferences == Preferences(
        return_="representation", count="exact", tx="commit", invalid=("anything",)
    )


def test_empty_tokens_say_nothing() -> None:
    assert parse_prefer(["return=minimal,, ,", ""]) == Preferences(return_="minimal")


def test_first_occurrence_wins_within_and_across_headers() -> None:
    assert parse_prefer(["tx=commit, tx=rollback"]).tx == "commit"
    assert parse_prefer(["resolution=ignore-duplicates", "resolution=merge-duplicates"]).resolution == (
        "ignore-duplicates"
    )
    assert parse_prefer(["max-affected=5", "max-affected=7"]).max_affected == 5


def test_a_repeated_known_key_is_not_invalid() -> None:
    assert parse_prefer(["return=minimal, return=representation"]).invalid == ()


def test_a_bad_value_does_not_hide_a_later_good_one() -> None:
    preferences = parse_prefer(["count=none, count=exact"])
    assert (preferences.count, preferences.invalid) == ("exact", ("count=none",))


def test_no_header_means_no_preferences() -> None:
    assert parse_prefer([]) == Preferences()


def test_invalid_is_kept_trimmed_and_in_order() -> None:
    assert parse_prefer(["b,  a ", "c"]).invalid == ("b", "a", "c")


def test_strict_handling_rejects_invalid_preferences() -> None:
    with pytest.raises(errors.PgrstError) as caught:
        parse_prefer(["return=representation, handling=strict, anything"])
    error = caught.value
    assert (error.code, error.status) == ("PGRST122", 400)
    assert error.message == "Invalid preferences given with handling=strict"
    assert error.details == "Invalid preferences: anything"


def test_strict_handling_lists_every_invalid_preference() -> None:
    with pytest.raises(errors.PgrstError) as caught:
        parse_prefer(["handling=strict", "anything, count=none"])
    assert caught.value.details == "Invalid preferences: anything, count=none"


def test_strict_handling_without_invalid_preferences_passes() -> None:
    preferences = parse_prefer(["handling=strict, max-affected=10"])
    assert preferences == Preferences(handling="strict", max_affected=10)


def test_lenient_or_absent_handling_keeps_invalid_preferences() -> None:
    assert parse_prefer(["handling=lenient, anything"]).invalid == ("anything",)
    assert parse_prefer(["handling=lenient", "anything"]).invalid == ("anything",)
    assert parse_prefer(["anything"]).invalid == ("anything",)


def test_an_unknown_timezone_is_left_to_postgresql() -> None:
    assert parse_prefer(["handling=strict, timezone=Invalid/Timezone"]).timezone == "Invalid/Timezone"


def test_only_the_first_handling_counts() -> None:
    assert parse_prefer(["handling=lenient, handling=strict, anything"]).handling == "lenient"


# --- Preference-Applied ----------------------------------------------------------------------


def test_applied_uses_postgrest_order() -> None:
    preferences = parse_prefer(["return=representation", "resolution=ignore-duplicates", "missing=default"])
    assert applied(preferences) == "resolution=ignore-duplicates, missing=default, return=representation"


def test_applied_reports_max_affected_only_with_strict_handling() -> None:
    assert applied(parse_prefer(["handling=strict, max-affected=10"])) == "handling=strict, max-affected=10"
    assert applied(parse_prefer(["handling=lenient, max-affected=10"])) == "handling=lenient"
    assert applied(parse_prefer(["max-affected=10"])) is None


def test_applied_restricted_to_what_was_honoured() -> None:
    preferences = parse_prefer(["return=representation, tx=commit, count=exact"])
    assert applied(preferences, honoured={"tx"}) == "tx=commit"
    assert applied(preferences, honoured=("return", "count")) == "return=representation, count=exact"
    assert applied(preferences, honoured=()) is None


def test_applied_with_nothing_set_is_none() -> None:
    assert applied(Preferences()) is None
    assert applied(Preferences(invalid=("anything",))) is None


def test_applied_includes_timezone_as_written() -> None:
    assert applied(parse_prefer(["timezone=+05:30"])) == "timezone=+05:30"


def test_preference_items_lists_every_set_preference() -> None:
    preferences = Preferences(
        return_="minimal",
        count="planned",
        resolution="merge-duplicates",
        missing="null",
        handling="lenient",
        tx="rollback",
        max_affected=3,
        timezone="UTC",
    )
    assert preference_items(preferences) == (
        ("resolution", "merge-duplicates"),
        ("missing", "null"),
        ("return", "minimal"),
        ("count", "planned"),
        ("tx", "rollback"),
        ("handling", "lenient"),
        ("timezone", "UTC"),
        ("max-affected", "3"),
    )


def test_format_applied() -> None:
    assert format_applied([("return", "minimal"), ("tx", "commit")]) == "return=minimal, tx=commit"
    assert format_applied([]) is None
