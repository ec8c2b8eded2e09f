"""The read compiler against the bundled demo snapshot (`pgrest serve --demo`'s schema).

SQL text and parameters are asserted together, one request per case.
"""

from __future__ import annotations

import pytest

from pgrest_core.plan.read import check_embed_filters, plan_read
from pgrest_core.request.api_request import parse_request
from pgrest_core.schema.model import QualifiedName
from pgrest_core.schema.snapshot import load_demo
from pgrest_core.sql.build_read import level_sql

DEMO = load_demo()


def compile_read(line: str) -> tuple[str, tuple[object, ...]]:
    method, _, target = line.partition(" ")
    path, _, query = target.partition("?")
    request = parse_request(method, path, query, [])
    plan = plan_read(request.query, QualifiedName("public", path.strip("/")), DEMO, aggregates_enabled=True)
    check_embed_filters(request.query, plan)
    fragment = level_sql(plan)
    return fragment.render("dollar"), fragment.params


CASES = [
    pytest.param(
        "GET /films?select=title,sequel:films!sequel_of(title)&id=eq.2",
        'SELECT "films"."title" AS "title", coalesce("films_1_lateral"."body", \'[]\') AS "sequel" FROM "public"."films" AS "films" LEFT JOIN LATERAL (SELECT json_agg("pgrst_row") AS "body" FROM (SELECT "films_1"."title" AS "title" FROM "public"."films" AS "films_1" WHERE "films_1"."sequel_of" = "films"."id") AS "pgrst_row" HAVING pg_catalog.count(*) > 0) AS "films_1_lateral" ON TRUE WHERE "films"."id" = $1',
        ("2",),
        id="self_relationship_children_by_table_name_with_the_column_as_hint",
    ),
    pytest.param(
        "GET /films?select=title,sequel_of(title)",
        'SELECT "films"."title" AS "title", "films_1_lateral"."body" AS "sequel_of" FROM "public"."films" AS "films" LEFT JOIN LATERAL (SELECT row_to_json("pgrst_row") AS "body" FROM (SELECT "films_1"."title" AS "title" FROM "public"."films" AS "films_1" WHERE "films_1"."id" = "films"."sequel_of") AS "pgrst_row") AS "films_1_lateral" ON TRUE',
        (),
        id="self_relationship_parent_by_the_foreign_key_column",
    ),
    pytest.param(
        "GET /directors?select=last_name,full_name,films(title)&films.order=year.desc&films.limit=1",
        'SELECT "directors"."last_name" AS "last_name", "public"."full_name"("directors") AS "full_name", coalesce("films_lateral"."body", \'[]\') AS "films" FROM "public"."directors" AS "directors" LEFT JOIN LATERAL (SELECT json_agg("pgrst_row") AS "body" FROM (SELECT "films"."title" AS "title" FROM "public"."films" AS "films" WHERE "films"."director_id" = "directors"."id" ORDER BY "films"."year" DESC LIMIT $1) AS "pgrst_row" HAVING pg_catalog.count(*) > 0) AS "films_lateral" ON TRUE',
        (1,),
        id="computed_field_and_one_to_many_with_order_and_limit",
    ),
    pytest.param(
        "GET /films?select=title,film_details(tagline)",
        'SELECT "films"."title" AS "title", "film_details_lateral"."body" AS "film_details" FROM "public"."films" AS "films" LEFT JOIN LATERAL (SELECT row_to_json("pgrst_row") AS "body" FROM (SELECT "film_details"."tagline" AS "tagline" FROM "public"."film_details" AS "film_details" WHERE "film_details"."film_id" = "films"."id") AS "pgrst_row") AS "film_details_lateral" ON TRUE',
        (),
        id="one_to_one_is_an_object",
    ),
    pytest.param(
        "GET /recent_films?select=title,directors(last_name)",
        'SELECT "recent_films"."title" AS "title", "directors_lateral"."body" AS "directors" FROM "public"."recent_films" AS "recent_films" LEFT JOIN LATERAL (SELECT row_to_json("pgrst_row") AS "body" FROM (SELECT "directors"."last_name" AS "last_name" FROM "public"."directors" AS "directors" WHERE "directors"."id" = "recent_films"."director_id") AS "pgrst_row") AS "directors_lateral" ON TRUE',
        (),
        id="a_view_embeds_through_its_base_table",
    ),
    pytest.param(
        "GET /films?select=title,lead_actor(last_name)",
        'SELECT "films"."title" AS "title", "actors_lateral"."body" AS "lead_actor" FROM "public"."films" AS "films" LEFT JOIN LATERAL (SELECT row_to_json("pgrst_row") AS "body" FROM (SELECT "actors"."last_name" AS "last_name" FROM "public"."lead_actor"("films") AS "actors") AS "pgrst_row") AS "actors_lateral" ON TRUE',
        (),
        id="computed_relationship_calls_the_function_with_the_row",
    ),
    pytest.param(
        "GET /films?select=title,...directors(director:last_name)",
        'SELECT "films"."title" AS "title", "directors_lateral"."director" AS "director" FROM "public"."films" AS "films" LEFT JOIN LATERAL (SELECT "directors"."last_name" AS "director" FROM "public"."directors" AS "directors" WHERE "directors"."id" = "films"."director_id") AS "directors_lateral" ON TRUE',
        (),
        id="spread_with_an_alias",
    ),
    pytest.param(
        "GET /films?select=director_id,count(),rating.avg()",
        'SELECT "films"."director_id" AS "director_id", pg_catalog.count(*) AS "count", avg("films"."rating") AS "avg" FROM "public"."films" AS "films" GROUP BY "films"."director_id"',
        (),
        id="aggregates_group_by_the_plain_columns",
    ),
    pytest.param(
        "GET /actors?select=last_name,films(title)&films.year=gte.2000",
        'SELECT "actors"."last_name" AS "last_name", coalesce("films_lateral"."body", \'[]\') AS "films" FROM "public"."actors" AS "actors" LEFT JOIN LATERAL (SELECT json_agg("pgrst_row") AS "body" FROM (SELECT "films"."title" AS "title" FROM "public"."films" AS "films" INNER JOIN "public"."roles" AS "films_junction" ON "films_junction"."film_id" = "films"."id" WHERE "films_junction"."actor_id" = "actors"."id" AND "films"."year" >= $1) AS "pgrst_row" HAVING pg_catalog.count(*) > 0) AS "films_lateral" ON TRUE',
        ("2000",),
        id="many_to_many_filtered_inside_the_embed",
    ),
]


@pytest.mark.parametrize(("line", "sql", "params"), CASES)
def test_compiles(line: str, sql: str, params: tuple[object, ...]) -> None:
    assert compile_read(line) == (sql, params)
