"""The read compiler: request text -> SQL text and parameters, asserted together."""

from __future__ import annotations

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import Options, prepare
from pgrest_core.plan.read import Page, check_embed_filters, plan_read
from pgrest_core.request.api_request import parse_request
from pgrest_core.schema.model import QualifiedName
from pgrest_core.sql.build_read import level_sql
from tests.unit.plan.films import films_cache

CACHE = films_cache()


def compile_read(line: str, *, aggregates: bool = True) -> tuple[str, tuple[object, ...]]:
    method, _, target = line.partition(" ")
    path, _, query = target.partition("?")
    request = parse_request(method, path, query, [])
    table = path.strip("/")
    plan = plan_read(request.query, QualifiedName("public", table), CACHE, aggregates_enabled=aggregates)
    check_embed_filters(request.query, plan)
    fragment = level_sql(plan)
    return fragment.render("dollar"), fragment.params


def assert_compiles(line: str, expected_sql: str, expected_params: tuple[object, ...]) -> None:
    assert compile_read(line) == (expected_sql, expected_params)


def test_star_is_the_default_select() -> None:
    assert_compiles("GET /films", 'SELECT "films".* FROM "public"."films" AS "films"', ())


def test_columns_filter_order_and_page() -> None:
    assert_compiles(
        "GET /films?select=title,year&year=gt.2000&title=like.*Star*&order=year.desc.nullslast,title&limit=5&offset=10",
        'SELECT "films"."title" AS "title", "films"."year" AS "year" FROM "public"."films" AS "films" '
        'WHERE "films"."year" > $1 AND "films"."title" LIKE $2 '
        'ORDER BY "films"."year" DESC NULLS LAST, "films"."title" LIMIT $3 OFFSET $4',
        ("2000", "%Star%", 5, 10),
    )


def test_aliases_casts_and_json_paths() -> None:
    assert_compiles(
        "GET /films?select=name:title,y:year::text,meta->>rating,meta->cast->0",
        'SELECT "films"."title" AS "name", ("films"."year")::text AS "y", '
        '"films"."meta"->>\'rating\' AS "rating", "films"."meta"->\'cast\'->0 AS "cast" '
        'FROM "public"."films" AS "films"',
        (),
    )


def test_json_path_on_a_non_json_column_goes_through_to_jsonb() -> None:
    assert_compiles(
        'GET /films?select=id&tags->0=eq."drama"',
        'SELECT "films"."id" AS "id" FROM "public"."films" AS "films" WHERE to_jsonb("films"."tags")->0 = $1',
        ('"drama"',),
    )


@pytest.mark.parametrize(
    ("filter_", "where", "params"),
    [
        ("year=eq.1", '"films"."year" = $1', ("1",)),
        ("year=neq.1", '"films"."year" <> $1', ("1",)),
        ("year=gte.1", '"films"."year" >= $1', ("1",)),
        ("year=lte.1", '"films"."year" <= $1', ("1",)),
        ("year=lt.1", '"films"."year" < $1', ("1",)),
        ("title=ilike.a*", '"films"."title" ILIKE $1', ("a%",)),
        ("title=match.^a", '"films"."title" ~ $1', ("^a",)),
        ("title=imatch.^a", '"films"."title" ~* $1', ("^a",)),
        ("year=in.(1,2,3)", '"films"."year" = ANY($1)', ('{"1","2","3"}',)),
        ('title=in.("a,b",c)', '"films"."title" = ANY($1)', ('{"a,b","c"}',)),
        ("year=is.null", '"films"."year" IS NULL', ()),
        ("year=not.is.null", 'NOT ("films"."year" IS NULL)', ()),
        ("year=is.not_null", '"films"."year" IS NOT NULL', ()),
        ("year=isdistinct.3", '"films"."year" IS DISTINCT FROM $1', ("3",)),
        ("tags=cs.{a,b}", '"films"."tags" @> $1', ("{a,b}",)),
        ("tags=cd.{a,b}", '"films"."tags" <@ $1', ("{a,b}",)),
        ("tags=ov.{a,b}", '"films"."tags" && $1', ("{a,b}",)),
        ("year=sl.[1,5)", '"films"."year" << $1', ("[1,5)",)),
        ("year=sr.[1,5)", '"films"."year" >> $1', ("[1,5)",)),
        ("year=nxl.[1,5)", '"films"."year" &> $1', ("[1,5)",)),
        ("year=nxr.[1,5)", '"films"."year" &< $1', ("[1,5)",)),
        ("year=adj.[1,5)", '"films"."year" -|- $1', ("[1,5)",)),
        ("title=like(any).{a*,*b}", '"films"."title" LIKE ANY($1)', ('{"a%","%b"}',)),
        ("year=gt(all).{1,2}", '"films"."year" > ALL($1)', ('{"1","2"}',)),
        ("search=fts.cat", '"films"."search" @@ to_tsquery($1)', ("cat",)),
        (
            "title=plfts(english).fat cats",
            'to_tsvector($1::regconfig, "films"."title") @@ plainto_tsquery($2::regconfig, $3)',
            ("english", "english", "fat cats"),
        ),
        ("search=phfts.a b", '"films"."search" @@ phraseto_tsquery($1)', ("a b",)),
        ("search=wfts.a -b", '"films"."search" @@ websearch_to_tsquery($1)', ("a -b",)),
    ],
)
def test_every_operator(filter_: str, where: str, params: tuple[object, ...]) -> None:
    assert_compiles(
        f"GET /films?select=id&{filter_}",
        f'SELECT "films"."id" AS "id" FROM "public"."films" AS "films" WHERE {where}',
        params,
    )


def test_logic_trees_nest_and_negate() -> None:
    assert_compiles(
        "GET /films?select=id&or=(year.lt.1950,and(year.gt.2000,title.not.eq.x))&not.and=(id.eq.1,id.eq.2)",
        'SELECT "films"."id" AS "id" FROM "public"."films" AS "films" WHERE '
        '("films"."year" < $1 OR ("films"."year" > $2 AND NOT ("films"."title" = $3))) '
        'AND NOT ("films"."id" = $4 AND "films"."id" = $5)',
        ("1950", "2000", "x", "1", "2"),
    )


def test_many_to_one_embed_is_an_object() -> None:
    assert_compiles(
        "GET /films?select=title,director:directors(last_name)",
        'SELECT "films"."title" AS "title", "directors_lateral"."body" AS "director" '
        'FROM "public"."films" AS "films" LEFT JOIN LATERAL (SELECT row_to_json("pgrst_row") AS "body" FROM '
        '(SELECT "directors"."last_name" AS "last_name" FROM "public"."directors" AS "directors" '
        'WHERE "directors"."id" = "films"."director_id") AS "pgrst_row") AS "directors_lateral" ON TRUE',
        (),
    )


def test_one_to_many_embed_with_filter_order_and_limit() -> None:
    assert_compiles(
        "GET /directors?select=id,films(title)&films.year=gt.2000&films.order=year.desc&films.limit=2",
        'SELECT "directors"."id" AS "id", coalesce("films_lateral"."body", \'[]\') AS "films" '
        'FROM "public"."directors" AS "directors" LEFT JOIN LATERAL (SELECT json_agg("pgrst_row") AS "body" '
        'FROM (SELECT "films"."title" AS "title" FROM "public"."films" AS "films" '
        'WHERE "films"."director_id" = "directors"."id" AND "films"."year" > $1 '
        'ORDER BY "films"."year" DESC LIMIT $2) AS "pgrst_row" HAVING pg_catalog.count(*) > 0) '
        'AS "films_lateral" ON TRUE',
        ("2000", 2),
    )


def test_many_to_many_goes_through_the_junction() -> None:
    sql, params = compile_read("GET /films?select=title,actors(name)")
    assert (
        'FROM "public"."actors" AS "actors" INNER JOIN "public"."roles" AS "actors_junction" '
        'ON "actors_junction"."actor_id" = "actors"."id" WHERE "actors_junction"."film_id" = "films"."id"'
    ) in sql
    assert params == ()


def test_other_operators_on_an_embed_name_filter_the_column() -> None:
    sql, params = compile_read("GET /films?select=id,directors(id)&directors=eq.1")
    assert sql.endswith('WHERE "films"."directors" = $1') and params == ("1",)


def test_null_checks_on_embeds_inside_logic_trees() -> None:
    sql, _ = compile_read("GET /films?select=id,directors(id)&or=(directors.not.is.null,id.eq.1)")
    assert sql.endswith('WHERE ("directors_lateral"."body" IS NOT NULL OR "films"."id" = $1)')


def test_inner_join_and_null_filter_on_embed() -> None:
    sql, _ = compile_read("GET /films?select=title,directors!inner(id)")
    assert "INNER JOIN LATERAL" in sql
    sql, _ = compile_read("GET /films?select=title,directors(id)&directors=not.is.null")
    assert sql.endswith('WHERE "directors_lateral"."body" IS NOT NULL')


def test_spread_lifts_to_one_columns() -> None:
    assert_compiles(
        "GET /films?select=title,...directors(last_name)",
        'SELECT "films"."title" AS "title", "directors_lateral"."last_name" AS "last_name" '
        'FROM "public"."films" AS "films" LEFT JOIN LATERAL (SELECT "directors"."last_name" AS "last_name" '
        'FROM "public"."directors" AS "directors" WHERE "directors"."id" = "films"."director_id") '
        'AS "directors_lateral" ON TRUE',
        (),
    )


def test_aggregates_group_by_the_other_columns() -> None:
    assert_compiles(
        "GET /films?select=director_id,count(),year.max()::text,total:year::bigint.sum()",
        'SELECT "films"."director_id" AS "director_id", pg_catalog.count(*) AS "count", '
        '(max("films"."year"))::text AS "max", sum(("films"."year")::bigint) AS "total" '
        'FROM "public"."films" AS "films" GROUP BY "films"."director_id"',
        (),
    )


def test_computed_field_and_computed_relationship() -> None:
    assert_compiles(
        "GET /directors?select=full_name,latest_film(title)",
        'SELECT "public"."full_name"("directors") AS "full_name", "films_lateral"."body" AS "latest_film" '
        'FROM "public"."directors" AS "directors" LEFT JOIN LATERAL (SELECT row_to_json("pgrst_row") AS "body" '
        'FROM (SELECT "films"."title" AS "title" FROM "public"."latest_film"("directors") AS "films") '
        'AS "pgrst_row") AS "films_lateral" ON TRUE',
        (),
    )


def test_order_by_a_to_one_embed() -> None:
    sql, _ = compile_read("GET /films?select=title,directors(last_name)&order=directors(last_name).desc")
    assert sql.endswith('ORDER BY ("directors_lateral"."body"::jsonb)->\'last_name\' DESC')


@pytest.mark.parametrize(
    ("line", "code", "status"),
    [
        ("GET /nope", "PGRST205", 404),
        ("GET /films?select=nope(*)", "PGRST200", 400),
        ("GET /directors?select=id,films(id)&order=films(id)", "PGRST118", 400),
        ("GET /films?select=id&directors.id=eq.1", "PGRST108", 400),
    ],
)
def test_planning_errors(line: str, code: str, status: int) -> None:
    with pytest.raises(PgrstError) as raised:
        compile_read(line)
    assert (raised.value.code, raised.value.status) == (code, status)


def test_aggregates_need_the_setting() -> None:
    with pytest.raises(PgrstError) as raised:
        compile_read("GET /films?select=count()", aggregates=False)
    assert raised.value.code == "PGRST123"


def test_the_wrapper_counts_pages_and_builds_the_body_in_sql() -> None:
    request = parse_request(
        "GET", "/films", "select=id&year=gt.2000", [("Prefer", "count=exact"), ("Range", "0-9")]
    )
    prepared = prepare(request, CACHE, Options(max_rows=5))
    read = 'SELECT "films"."id" AS "id" FROM "public"."films" AS "films" WHERE "films"."year" > $1'
    count = 'SELECT 1 FROM "public"."films" AS "films" WHERE "films"."year" > $3'
    assert prepared.statement.render("dollar") == (
        f"WITH pgrst_source AS ({read} LIMIT $2) SELECT (SELECT pg_catalog.count(*) FROM ({count}) AS pgrst_count)"
        "::bigint AS total_count, pg_catalog.count(_pgrst_t) AS page_count, "
        "coalesce(json_agg(_pgrst_t), '[]')::text AS body, "
        "nullif(current_setting('response.headers', true), '') AS response_headers, "
        "nullif(current_setting('response.status', true), '') AS response_status FROM pgrst_source AS _pgrst_t"
    )
    assert prepared.statement.params == ("2000", 5, "2000")
    assert prepared.recipe.count == "exact"


def test_a_settled_page_replaces_the_plan_s_own_limit_and_offset() -> None:
    request = parse_request("GET", "/films", "select=id&limit=5&offset=10", [])
    plan = plan_read(request.query, QualifiedName("public", "films"), CACHE, aggregates_enabled=True)
    base = 'SELECT "films"."id" AS "id" FROM "public"."films" AS "films"'
    assert level_sql(plan).render("dollar") == base + " LIMIT $1 OFFSET $2"
    assert level_sql(plan).params == (5, 10)
    assert level_sql(plan, page=Page(0, 3)).render("dollar") == base + " LIMIT $1"
    assert level_sql(plan, page=Page(0, 3)).params == (3,)
    assert level_sql(plan, page=Page(2, None)).params == (2,)
    assert level_sql(plan, count_only=True, page=Page(2, 3)).render("dollar") == (
        'SELECT 1 FROM "public"."films" AS "films"'
    )
