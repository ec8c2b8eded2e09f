"""Content negotiation: which representation answers the request's `Accept` list.

Besides the builtin representations, the schema cache may hold media type handlers: aggregates
returning a domain named after a media type build the body for a relation's rows, and a
function returning such a domain is sent raw (`handler_for_rows`, `raw_value`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pgrest_core import ast
from pgrest_core.ast import Field, MediaType, SelectField, SelectItem
from pgrest_core.errors import unacceptable_media_types
from pgrest_core.plan.call import CallPlan
from pgrest_core.prepared import BodyFormat
from pgrest_core.schema.model import MediaHandler, QualifiedName, SchemaCache


@dataclass(frozen=True, slots=True)
class Representation:
    body_format: BodyFormat
    content_type: str
    strip_nulls: bool = False
    plan_for: str | None = None  # for vnd.pgrst.plan: the media type whose plan is shown
    plan_options: tuple[str, ...] = ()
    plan_text: bool = False
    handler: MediaHandler | None = None  # the aggregate building the body from the rows
    base_type: str | None = None  # of a handler's or a raw value's media type domain (bytea…)


JSON = Representation("json", "application/json; charset=utf-8")
_OBJECT = "application/vnd.pgrst.object+json"
_ARRAY = "application/vnd.pgrst.array+json"
_PLAN = "application/vnd.pgrst.plan"


def _stripped(media: MediaType) -> bool:
    return media.param("nulls") == "stripped"


def _for_media(media: MediaType, plan_enabled: bool) -> Representation | None:
    essence = media.essence
    if essence in ("application/json", "*/*", "application/*"):
        return JSON
    if essence in (_ARRAY, _ARRAY.removesuffix("+json")):
        if _stripped(media):
            return Representation("json", _ARRAY + ";nulls=stripped; charset=utf-8", strip_nulls=True)
        return JSON
    if essence in (_OBJECT, _OBJECT.removesuffix("+json")):
        if _stripped(media):
            return Representation("object", _OBJECT + ";nulls=stripped; charset=utf-8", strip_nulls=True)
        return Representation("object", _OBJECT + "; charset=utf-8")
    if essence in ("text/csv", "text/*"):
        return Representation("csv", "text/csv; charset=utf-8")
    if essence == "application/geo+json":
        return Representation("geojson", "application/geo+json; charset=utf-8")
    if plan_enabled and essence in (_PLAN + "+json", _PLAN + "+text", _PLAN):
        return _plan(media)
    return None


def _plan(media: MediaType) -> Representation:
    target = media.param("for") or "application/json"
    if target in (_OBJECT.removesuffix("+json"), _ARRAY.removesuffix("+json")):
        target += "+json"  # `for="application/vnd.pgrst.object"` names the same representation
    options = tuple(o for o in (media.param("options") or "").split("|") if o)
    as_text = media.essence == _PLAN + "+text"
    content_type = (_PLAN + ("+text" if as_text else "+json")) + f'; for="{target}"'
    if options:
        content_type += "; options=" + "|".join(options)
    return Representation(
        "plan", content_type + "; charset=utf-8", plan_for=target, plan_options=options, plan_text=as_text
    )


@dataclass(frozen=True, slots=True)
class Handlers:
    """What may answer beyond the builtins: the cache's aggregates for `target`'s rows (those
    of that one relation only with the default `select`, whose rows have its row type), and
    for a function returning a media type domain, that domain (`raw_media_type`, `raw_base_type`)."""

    cache: SchemaCache
    target: QualifiedName | None = None
    default_select: bool = True
    raw_media_type: str | None = None
    raw_base_type: str = "text"


def is_default_select(select: tuple[SelectItem, ...] | None) -> bool:
    """No `select`, or `select=*`: the rows have the relation's own row type."""
    if select is None:
        return True
    return len(select) == 1 and select[0] == SelectField(Field("*"))


# Media types PostgREST labels with a charset; any other is sent as named.
_WITH_CHARSET = frozenset(
    {
        "application/json",
        "application/geo+json",
        "application/openapi+json",
        "text/csv",
        "text/plain",
        "text/xml",
    }
)
_ANY = "*/*"
_VENDORED = "application/vnd.pgrst."  # PostgREST's own media types: never a handler's
_OCTET_STREAM = "application/octet-stream"


def _content_type(media_type: str) -> str:
    if media_type == _ANY:
        return _OCTET_STREAM
    return media_type + "; charset=utf-8" if media_type in _WITH_CHARSET else media_type


def _raw_format(base_type: str) -> BodyFormat:
    return "binary" if base_type == "bytea" else "text"


def _from_handler(handler: MediaHandler) -> Representation:
    return Representation(
        _raw_format(handler.base_type),
        _content_type(handler.media_type),
        handler=handler,
        base_type=handler.base_type,
    )


def _handler(handlers: Handlers, media_type: str) -> MediaHandler | None:
    """The relation's own handler (default select only), else the `anyelement` one."""
    cache = handlers.cache
    own = None
    if handlers.target is not None and handlers.default_select:
        own = cache.media_handler(handlers.target, media_type)
    return own or cache.media_handler(None, media_type)


def _custom(media: MediaType, handlers: Handlers) -> Representation | None:
    """A handler for exactly this media type (vendored pgrst types cannot be overridden)."""
    essence = media.essence
    if essence.startswith(_VENDORED):
        return None
    raw = handlers.raw_media_type
    if raw is not None and (raw == essence or raw == _ANY):
        return Representation(
            _raw_format(handlers.raw_base_type), _content_type(raw), base_type=handlers.raw_base_type
        )
    found = _handler(handlers, essence)
    return _from_handler(found) if found is not None else None


def _any_handler(handlers: Handlers) -> Representation | None:
    """A `*/*` handler answers a media type nothing else does."""
    found = _handler(handlers, _ANY)
    return _from_handler(found) if found is not None else None


def negotiate(
    accept: tuple[MediaType, ...], *, plan_enabled: bool = False, handlers: Handlers | None = None
) -> Representation:
    """The first acceptable representation in the client's order of preference; PGRST107 if none.

    For each media type: a handler for it, else a builtin, else a `*/*` handler. No `Accept`
    means `*/*`."""
    if handlers is None:
        return _builtin(accept or _ANY_MEDIA, plan_enabled)
    return _negotiated(accept or _ANY_MEDIA, plan_enabled, handlers)


_ANY_MEDIA = (MediaType("*", "*"),)


@lru_cache(maxsize=256)
def _builtin(accept: tuple[MediaType, ...], plan_enabled: bool) -> Representation:
    """Without handlers the answer depends only on the Accept list, and clients send the same
    few: cached (a list no representation answers raises, and is not cached)."""
    return _negotiated(accept, plan_enabled, None)


def _negotiated(
    accept: tuple[MediaType, ...], plan_enabled: bool, handlers: Handlers | None
) -> Representation:
    for media in accept:
        if media.q <= 0:
            continue
        found = _custom(media, handlers) if handlers is not None else None
        found = found or _for_media(media, plan_enabled)
        if found is None and handlers is not None and not media.essence.startswith(_VENDORED):
            found = _any_handler(handlers)
        if found is not None:
            return found
    raise unacceptable_media_types(tuple(str(m) for m in accept))


# A single text or xml value can be sent as it is for `Accept: text/plain` or `text/xml`
# (the type itself, or a domain named after the media type).
_RAW_OUTPUT = {"text/plain": "text/plain; charset=utf-8", "text/xml": "text/xml; charset=utf-8"}
_RAW_TYPES = {"text/plain": "text", "text/xml": "xml"}


def negotiate_call(
    request: ast.ApiRequest, cache: SchemaCache | None, plan: CallPlan, *, plan_enabled: bool
) -> Representation:
    """The representation of a function's result: raw text/xml, JSON for void, else negotiated."""
    raw = _raw_output(request.accept, plan, plan.returns)
    if raw is not None:
        return raw
    if plan.result == "void":
        return JSON
    return negotiate(request.accept, plan_enabled=plan_enabled, handlers=_handlers(request, cache, plan))


def _raw_output(accept: tuple[ast.MediaType, ...], plan: CallPlan, returns: str) -> Representation | None:
    """`Accept: text/plain` (or text/xml) first for a function returning one text (xml) value:
    that value sent raw. Other results are negotiated as usual (406)."""
    media = next((m for m in accept if m.q > 0), None)
    if plan.result != "scalar" or media is None or media.essence not in _RAW_OUTPUT:
        return None
    if returns not in (_RAW_TYPES[media.essence], media.essence):
        return None
    return Representation("text", _RAW_OUTPUT[media.essence], base_type=_RAW_TYPES[media.essence])


def _handlers(request: ast.ApiRequest, cache: SchemaCache | None, plan: CallPlan) -> Handlers | None:
    """The media type handlers of the result: the aggregates for the rows of a function
    returning rows, or the media type domain a function returns one value of."""
    if cache is None or plan.return_type is None:
        return None
    if plan.result in ("rows", "single"):
        default_select = is_default_select(request.query.select)
        return Handlers(cache, plan.return_type, default_select=default_select)
    base_type = cache.media_types.get(plan.return_type) if plan.result == "scalar" else None
    if base_type is None:
        return None
    return Handlers(cache, raw_media_type=plan.return_type.name.lower(), raw_base_type=base_type)
