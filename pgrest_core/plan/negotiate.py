"""Content negotiation: which representation answers the request's `Accept` list."""

from __future__ import annotations

from dataclasses import dataclass

from pgrest_core.ast import MediaType
from pgrest_core.errors import unacceptable_media_types
from pgrest_core.plan.types import BodyFormat


@dataclass(frozen=True, slots=True)
class Representation:
    body_format: BodyFormat
    content_type: str
    strip_nulls: bool = False
    plan_for: str | None = None  # for vnd.pgrst.plan: the media type whose plan is shown
    plan_options: tuple[str, ...] = ()
    plan_text: bool = False


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


def negotiate(accept: tuple[MediaType, ...], *, plan_enabled: bool = False) -> Representation:
    """The first acceptable representation in the client's order of preference; PGRST107 if none."""
    if not accept:
        return JSON
    for media in accept:
        if media.q <= 0:
            continue
        found = _for_media(media, plan_enabled)
        if found is not None:
            return found
    raise unacceptable_media_types(tuple(str(m) for m in accept))
