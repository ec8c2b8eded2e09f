"""The `Prefer` request header (RFC 7240) and the `Preference-Applied` response header.

A request may send several `Prefer` headers, each a comma-separated list of `key=value`
tokens. Known tokens set a field of `Preferences`; the first occurrence of a key wins.
Anything else is kept, as written, in `invalid`: PostgREST ignores it unless the client
also sent `handling=strict`, in which case the request fails with PGRST122.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Final, Literal, TypeAlias

from pgrest_core import errors
from pgrest_core.ast import Preferences

ReturnPref: TypeAlias = Literal["minimal", "headers-only", "representation"]
CountPref: TypeAlias = Literal["exact", "planned", "estimated"]
ResolutionPref: TypeAlias = Literal["merge-duplicates", "ignore-duplicates"]
MissingPref: TypeAlias = Literal["default", "null"]
HandlingPref: TypeAlias = Literal["strict", "lenient"]
TxPref: TypeAlias = Literal["commit", "rollback"]

# Each enumerated preference: its key and the values it accepts. Typed mappings let mypy check
# that every value is one of the field's literals.
_RETURN: Final[Mapping[str, ReturnPref]] = {
    "minimal": "minimal",
    "headers-only": "headers-only",
    "representation": "representation",
}
_COUNT: Final[Mapping[str, CountPref]] = {"exact": "exact", "planned": "planned", "estimated": "estimated"}
_RESOLUTION: Final[Mapping[str, ResolutionPref]] = {
    "merge-duplicates": "merge-duplicates",
    "ignore-duplicates": "ignore-duplicates",
}
_MISSING: Final[Mapping[str, MissingPref]] = {"default": "default", "null": "null"}
_HANDLING: Final[Mapping[str, HandlingPref]] = {"strict": "strict", "lenient": "lenient"}
_TX: Final[Mapping[str, TxPref]] = {"commit": "commit", "rollback": "rollback"}

_ENUMERATED: Final[Mapping[str, Collection[str]]] = {
    "return": _RETURN,
    "count": _COUNT,
    "resolution": _RESOLUTION,
    "missing": _MISSING,
    "handling": _HANDLING,
    "tx": _TX,
}

_NO_PREFERENCES: Final = Preferences()

# The order PostgREST lists honoured preferences in `Preference-Applied`.
APPLIED_ORDER: Final[tuple[str, ...]] = (
    "resolution",
    "missing",
    "return",
    "count",
    "tx",
    "handling",
    "timezone",
    "max-affected",
)


def parse_prefer(values: Sequence[str]) -> Preferences:
    """Parse every `Prefer` header value of a request into `Preferences`.

    Raises PGRST122 when `handling=strict` is asked for and some token is not understood.
    """
    if not values:  # most requests send no Prefer header
        return _NO_PREFERENCES
    chosen: dict[str, str] = {}
    invalid: list[str] = []
    for token in _tokens(values):
        key, _, value = token.partition("=")
        if _is_valid(key, token, value):
            chosen.setdefault(key, value)  # the first occurrence of a key wins
        else:
            invalid.append(token)
    preferences = _build(chosen, tuple(invalid))
    if preferences.handling == "strict" and preferences.invalid:
        raise errors.invalid_preferences(preferences.invalid)
    return preferences


def _tokens(values: Sequence[str]) -> Iterable[str]:
    """The trimmed comma-separated tokens of all headers; empty ones (`a,,b`) say nothing."""
    for value in values:
        for token in value.split(","):
            stripped = token.strip()
            if stripped:
                yield stripped


def _is_valid(key: str, token: str, value: str) -> bool:
    if "=" not in token:
        return False
    allowed = _ENUMERATED.get(key)
    if allowed is not None:
        return value in allowed
    if key == "max-affected":
        # A non-negative bigint; 18 digits always fit.
        return value.isascii() and value.isdigit() and len(value) <= 18
    if key == "timezone":
        # Whether PostgreSQL knows the zone is for PostgreSQL to say (it answers 22023).
        return value != ""
    return False


def _build(chosen: Mapping[str, str], invalid: tuple[str, ...]) -> Preferences:
    max_affected = chosen.get("max-affected")
    return Preferences(
        return_=_RETURN.get(chosen.get("return", "")),
        count=_COUNT.get(chosen.get("count", "")),
        resolution=_RESOLUTION.get(chosen.get("resolution", "")),
        missing=_MISSING.get(chosen.get("missing", "")),
        handling=_HANDLING.get(chosen.get("handling", "")),
        tx=_TX.get(chosen.get("tx", "")),
        max_affected=int(max_affected) if max_affected is not None else None,
        timezone=chosen.get("timezone"),
        invalid=invalid,
    )


def preference_items(p: Preferences) -> tuple[tuple[str, str], ...]:
    """The preferences that are set, as `(key, value)` pairs in `Preference-Applied` order."""
    values: dict[str, str | None] = {
        "resolution": p.resolution,
        "missing": p.missing,
        "return": p.return_,
        "count": p.count,
        "tx": p.tx,
        "handling": p.handling,
        "timezone": p.timezone,
        "max-affected": str(p.max_affected) if p.max_affected is not None else None,
    }
    return tuple((key, value) for key in APPLIED_ORDER if (value := values[key]) is not None)


def applied(p: Preferences, honoured: Collection[str] | None = None) -> str | None:
    """The `Preference-Applied` header value, or None when nothing is to be reported.

    `honoured` names the keys (`"return"`, `"tx"`, …) the response stage actually honoured;
    without it every set preference is reported, except `max-affected`, which PostgREST
    reports only together with `handling=strict` (it is not enforced otherwise).
    """
    items = preference_items(p)
    if honoured is None:
        items = tuple((k, v) for k, v in items if k != "max-affected" or p.handling == "strict")
    else:
        items = tuple((k, v) for k, v in items if k in honoured)
    return format_applied(items)


def format_applied(items: Iterable[tuple[str, str]]) -> str | None:
    """`[("return", "minimal"), ("tx", "commit")]` -> `"return=minimal, tx=commit"` (None if empty)."""
    text = ", ".join(f"{key}={value}" for key, value in items)
    return text or None
