"""Negotiating media type handlers: which aggregate or raw value answers an `Accept` list."""

from __future__ import annotations

import pytest

from pgrest_core.ast import Field, MediaType, SelectField
from pgrest_core.errors import PgrstError
from pgrest_core.plan.negotiate import JSON, Handlers, is_default_select, negotiate
from pgrest_core.schema.model import MediaHandler, QualifiedName, SchemaCache
from pgrest_core.schema.snapshot import dump_snapshot, load_snapshot
from pgrest_core.sql.statement import body_sql, media_value_sql

LINES = QualifiedName("api", "lines")
OTHER = QualifiedName("api", "other")
TWKB = MediaHandler("application/vnd.twkb", QualifiedName("api", "twkb_agg"), "bytea", LINES)
CSV = MediaHandler("text/csv", QualifiedName("api", "csv_agg"), "text", LINES)
GEO = MediaHandler("application/vnd.geo2+json", QualifiedName("api", "geo_any"), "jsonb")
ANY = MediaHandler("*/*", QualifiedName("api", "any_agg"), "bytea", OTHER)
CACHE = SchemaCache(
    schemas=("api",),
    media_handlers=(TWKB, CSV, GEO, ANY),
    media_types={QualifiedName("api", "image/png"): "bytea"},
)


def media(essence: str) -> MediaType:
    type_, subtype = essence.split("/", 1)
    return MediaType(type_, subtype)


def accept(*essences: str) -> tuple[MediaType, ...]:
    return tuple(media(e) for e in essences)


def test_relation_handler_wins_over_the_builtin() -> None:
    found = negotiate(accept("text/csv"), handlers=Handlers(CACHE, LINES))
    assert found.handler == CSV
    assert found.content_type == "text/csv; charset=utf-8"
    builtin = negotiate(accept("text/csv"), handlers=Handlers(CACHE, OTHER))
    assert (builtin.handler, builtin.body_format) == (None, "csv")


def test_relation_handlers_need_the_default_select() -> None:
    with pytest.raises(PgrstError) as error:
        negotiate(accept("application/vnd.twkb"), handlers=Handlers(CACHE, LINES, default_select=False))
    assert error.value.code == "PGRST107"
    binary = negotiate(accept("application/vnd.twkb"), handlers=Handlers(CACHE, LINES))
    assert (binary.body_format, binary.content_type) == ("binary", "application/vnd.twkb")


def test_anyelement_handler_serves_any_relation_and_select() -> None:
    found = negotiate(
        accept("application/vnd.geo2+json"), handlers=Handlers(CACHE, OTHER, default_select=False)
    )
    assert found.handler == GEO


def test_any_handler_answers_what_nothing_else_does() -> None:
    handlers = Handlers(CACHE, OTHER)
    unknown = negotiate(accept("magic/number"), handlers=handlers)
    assert (unknown.handler, unknown.content_type) == (ANY, "application/octet-stream")
    assert negotiate(accept("*/*"), handlers=handlers).handler == ANY
    assert negotiate(accept("application/json"), handlers=handlers) == JSON


def test_vendored_media_types_are_not_overridden() -> None:
    cache = SchemaCache(
        schemas=("api",),
        media_handlers=(MediaHandler("application/vnd.pgrst.object", QualifiedName("api", "o"), "json"),),
    )
    found = negotiate(accept("application/vnd.pgrst.object"), handlers=Handlers(cache, LINES))
    assert (found.handler, found.body_format) == (None, "object")


def test_raw_function_values() -> None:
    png = Handlers(CACHE, raw_media_type="image/png", raw_base_type="bytea")
    found = negotiate(accept("text/html", "image/png"), handlers=png)
    assert (found.body_format, found.content_type, found.base_type) == ("binary", "image/png", "bytea")
    everything = Handlers(CACHE, raw_media_type="*/*", raw_base_type="bytea")
    assert negotiate(accept("app/bingo"), handlers=everything).content_type == "application/octet-stream"


def test_default_select() -> None:
    assert is_default_select(None)
    assert is_default_select((SelectField(Field("*")),))
    assert not is_default_select((SelectField(Field("id")),))


def test_body_sql_casts_to_the_relation_row_type_for_its_own_handler() -> None:
    own = negotiate(accept("application/vnd.twkb"), handlers=Handlers(CACHE, LINES))
    assert body_sql(own, head=False) == """encode("api"."twkb_agg"(_pgrst_t::"api"."lines"), 'hex')"""
    anyelement = negotiate(accept("application/vnd.geo2+json"), handlers=Handlers(CACHE, LINES))
    assert body_sql(anyelement, head=False) == 'chr(1) || ("api"."geo_any"(_pgrst_t))::text'
    assert media_value_sql("v", "xml") == "format('%s', v)"
    assert media_value_sql("v", "text") == "(v)::text"


def test_snapshot_round_trip_keeps_handlers() -> None:
    assert load_snapshot(dump_snapshot(CACHE)) == CACHE
