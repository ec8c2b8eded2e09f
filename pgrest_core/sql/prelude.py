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
from json.encoder import encode_basestring as _json_string
from typing import Final

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


@lru_cache(maxsize=256)
def search_path(schema: str, extra: tuple[str, ...] = ()) -> str:
    """The search_path value: the request schema then the extra schemas, each quoted once.

    Cached: every request of a server asks for one of the same few.
    """
    names = [schema] + [name for name in extra if name != schema]
    return ", ".join(quote_ident(name) for name in names)


# One encoder for every request: `json.dumps` with options builds a new encoder on each call.
_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_object(pairs: tuple[tuple[str, str], ...]) -> str:
    """A JSON object from name/value pairs; a repeated name keeps its last value."""
    return json_text(dict(pairs)) if pairs else "{}"


def json_text(mapping: Mapping[str, object]) -> str:
    """`json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))`, the same text.

    Headers, cookies and an anonymous request's claims hold only strings: those are written
    here with the encoder's own string escaping, twice as fast as the whole encoder.
    """
    members = []
    for key, value in mapping.items():
        if type(key) is not str or type(value) is not str:
            return _JSON.encode(dict(mapping))
        members.append(f"{_json_string(key)}:{_json_string(value)}")
    return "{" + ",".join(members) + "}"


def settings(context: RequestContext) -> tuple[tuple[str, str], ...]:
    """The (setting, value) pairs of the prelude, in the order they are set."""
    params = _params(context)
    return tuple(zip(params[::2], params[1::2], strict=True))


def prelude(context: RequestContext) -> Fragment:
    """`select set_config($1, $2, true), …` for every setting of the request context."""
    params = _params(context)
    return Fragment(_prelude_text(len(params) // 2), params)


def _params(context: RequestContext) -> tuple[str, ...]:
    """The settings as the prelude's parameters: name, value, name, value, …

    Built as one flat tuple: this runs for every request, and the pairs are never needed.
    """
    params: tuple[str, ...] = (
        "search_path", search_path(context.schema, context.extra_search_path),
        "role", context.role,
        "request.jwt.claims", json_text(context.claims),
        "request.method", context.method,
        "request.path", context.path,
        "request.headers", json_object(context.headers),
        "request.cookies", json_object(context.cookies),
    )
    if context.app_settings:
        params += _app_settings(context.app_settings)
    if context.timezone is not None:
        params += ("timezone", context.timezone)
    for name, value in context.extra:
        params += (name, value)
    return params


@lru_cache(maxsize=64)
def _app_settings(app_settings: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """`app.settings.*` as parameters: the same for every request of a server, so built once."""
    return tuple(item for name, value in app_settings for item in ("app.settings." + name, value))


@lru_cache(maxsize=64)
def _prelude_text(count: int) -> str:
    """The prelude's text for `count` settings: it depends on nothing else, so it is built once."""
    return "select " + ", ".join([f"set_config({SLOT}, {SLOT}, true)"] * count)


def pre_request_call(function_name: str) -> Fragment:
    """`select "schema"."fn"()` for db-pre-request (a possibly schema-qualified name)."""
    return sql("select ") + ident(*function_name.split(".")) + sql("()")
