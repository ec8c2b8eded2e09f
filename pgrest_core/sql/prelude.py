"""The transaction prelude: one `select set_config(...)` that gives SQL code the request context.

PostgREST makes the request visible to database code through transaction-local settings
(`current_setting('request.jwt.claims', true)` and friends). All of them are set by a single
statement so the prelude costs one round trip; every value is a bound parameter and the text
depends only on which app settings exist, so the statement can be prepared once.

`set_config('role', …, true)` is what `SET LOCAL ROLE` does, but it takes a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from pgrest_core.fragment import SLOT, Fragment, ident, quote_ident, sql


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What the database may read about the current request, as transaction-local settings."""

    schema: str  # the request's schema: first on the search_path
    role: str  # the role the request runs as
    claims: Mapping[str, object]  # the JWT claims (for anonymous requests: just the role)
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()  # lower-cased names
    cookies: tuple[tuple[str, str], ...] = ()
    extra_search_path: tuple[str, ...] = ()  # db-extra-search-path
    app_settings: tuple[tuple[str, str], ...] = ()  # app.settings.* from the config (name without prefix)
    timezone: str | None = None  # from `Prefer: timezone=…`
    # Further transaction-local settings (name, value), set after the standard ones.
    extra: tuple[tuple[str, str], ...] = field(default=())


def search_path(schema: str, extra: tuple[str, ...] = ()) -> str:
    """The search_path value: the request schema then the extra schemas, each quoted once."""
    names = [schema] + [name for name in extra if name != schema]
    return ", ".join(quote_ident(name) for name in names)


def json_object(pairs: tuple[tuple[str, str], ...]) -> str:
    """A JSON object from name/value pairs; a repeated name keeps its last value."""
    return json.dumps(dict(pairs), ensure_ascii=False, separators=(",", ":"))


def settings(context: RequestContext) -> tuple[tuple[str, str], ...]:
    """The (setting, value) pairs of the prelude, in the order they are set."""
    pairs: list[tuple[str, str]] = [
        ("search_path", search_path(context.schema, context.extra_search_path)),
        ("role", context.role),
        ("request.jwt.claims", json.dumps(dict(context.claims), ensure_ascii=False, separators=(",", ":"))),
        ("request.method", context.method),
        ("request.path", context.path),
        ("request.headers", json_object(context.headers)),
        ("request.cookies", json_object(context.cookies)),
    ]
    pairs.extend(("app.settings." + name, value) for name, value in context.app_settings)
    if context.timezone is not None:
        pairs.append(("timezone", context.timezone))
    pairs.extend(context.extra)
    return tuple(pairs)


def prelude(context: RequestContext) -> Fragment:
    """`select set_config($1, $2, true), …` for every setting of the request context."""
    pairs = settings(context)
    params = tuple(item for pair in pairs for item in pair)
    return Fragment(_prelude_text(len(pairs)), params)


@lru_cache(maxsize=64)
def _prelude_text(count: int) -> str:
    """The prelude's text for `count` settings: it depends on nothing else, so it is built once."""
    return "select " + ", ".join([f"set_config({SLOT}, {SLOT}, true)"] * count)


def pre_request_call(function_name: str) -> Fragment:
    """`select "schema"."fn"()` for db-pre-request (a possibly schema-qualified name)."""
    return sql("select ") + ident(*function_name.split(".")) + sql("()")
