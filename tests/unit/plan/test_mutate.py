"""The write compiler: request -> the INSERT/UPDATE/DELETE and its parameters, asserted together,
plus the planning errors (PGRST105, 114, 204) and the response recipe of each kind of write."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pgrest_core.errors import PgrstError
from pgrest_core.pipeline import Options, prepare
from pgrest_core.plan.mutate import PlannedMutation, plan_mutation
from pgrest_core.prepared import ResponseRecipe, ResultRow
from pgrest_core.request.api_request import parse_request
from pgrest_core.response import respond_mutation
from pgrest_core.schema.model import Column, QualifiedName, Table
from pgrest_core.sql.build_mutate import inserted_count_sql, mutation_sql
from tests.unit.plan.films import films_cache

# films, plus a table whose columns have defaults (for `Prefer: missing=default`).
TICKETS = QualifiedName("public", "tickets")
CACHE = replace(
    films_cache(),
    tables={
        **films_cache().tables,
        TICKETS: Table(
            "public",
            "tickets",
            (
                Column("id", "integer", default="nextval('tickets_id_seq'::regclass)"),
                Column("seat", "text", default="'A1'::text"),
                Column("price", "numeric"),
            ),
            primary_key=("id",),
        ),
    },
)


def planned(
    method: str, target: str, body: str | None = None, headers: tuple[tuple[str, str], ...] = ()
) -> PlannedMutation:
    path, _, query = target.partition("?")
    request = parse_request(method, path, query, list(headers), body.encode() if body is not None else None)
    return plan_mutation(request, QualifiedName("public", path.strip("/")), CACHE)


def compiled(
    method: str, target: str, body: str | None = None, headers: tuple[tuple[str, str], ...] = ()
) -> tuple[str, tuple[object, ...]]:
    fragment = mutation_sql(planned(method, target, body, headers).mutation)
    return fragment.render("dollar"), fragment.params


def prefer(value: str) -> tuple[tuple[str, str], ...]:
    return (("prefer", value),)


ROWS = 'FROM json_populate_recordset(NULL::"public"."films", $1::json) AS pgrst_body'

# --- INSERT ----------------------------------------------------------------------------------


def test_insert_one_object_returns_nothing_by_default() -> None:
    assert compiled("POST", "/films", '{"id": 1, "title": "Alien"}') == (
        'INSERT INTO "public"."films" AS "films"("id", "title") '
        f'SELECT "pgrst_body"."id", "pgrst_body"."title" {ROWS} RETURNING 1',
        ('[{"id": 1, "title": "Alien"}]',),
    )


def test_bulk_insert_passes_the_array_as_one_parameter() -> None:
    body = '[{"id": 1, "title": "A"}, {"id": 2, "title": "B"}]'
    sql, params = compiled("POST", "/films", body)
    assert params == (body,)
    assert sql.count("$") == 1


def test_representation_returns_the_selected_and_join_columns() -> None:
    sql, _ = compiled(
        "POST",
        "/films?select=title,directors(last_name)&order=year",
        '{"title": "Alien"}',
        prefer("return=representation"),
    )
    assert sql.endswith('RETURNING "films"."title", "films"."director_id", "films"."year"')


def test_representation_of_star_returns_every_column() -> None:
    sql, _ = compiled("POST", "/films", '{"title": "Alien"}', prefer("return=representation"))
    assert sql.endswith('RETURNING "films".*')


def test_columns_parameter_chooses_the_columns_written() -> None:
    sql, params = compiled("POST", "/films?columns=id,year", '{"id": 1, "title": "ignored", "year": 1979}')
    assert sql.startswith('INSERT INTO "public"."films" AS "films"("id", "year") SELECT "pgrst_body"."id"')
    assert params == ('[{"id": 1, "title": "ignored", "year": 1979}]',)


def test_unknown_column_is_pgrst204() -> None:
    for target, body in (("/films?columns=id,helicopter", "{}"), ("/films", '{"helicopter": 1}')):
        with pytest.raises(PgrstError) as caught:
            planned("POST", target, body)
        assert (caught.value.code, caught.value.status, caught.value.message) == (
            "PGRST204",
            400,
            "Could not find the 'helicopter' column of 'films' in the schema cache",
        )


def test_unknown_table_is_reported_before_unknown_columns() -> None:
    with pytest.raises(PgrstError) as caught:
        planned("POST", "/garlic?columns=helicopter", "[]")
    assert caught.value.code == "PGRST205"


def test_missing_default_merges_column_defaults_under_each_row() -> None:
    sql, params = compiled(
        "POST", "/tickets?columns=id,seat,price", '[{"price": 5}]', prefer("missing=default")
    )
    assert sql == (
        'INSERT INTO "public"."tickets" AS "tickets"("id", "seat", "price") '
        'SELECT "pgrst_body"."id", "pgrst_body"."seat", "pgrst_body"."price" '
        "FROM json_array_elements($1::json) AS pgrst_element CROSS JOIN LATERAL "
        'json_populate_record(NULL::"public"."tickets", (jsonb_build_object('
        "'id', nextval('tickets_id_seq'::regclass), 'seat', 'A1'::text) || pgrst_element.value::jsonb)::json) "
        "AS pgrst_body RETURNING 1"
    )
    assert params == ('[{"price": 5}]',)


def test_merge_duplicates_updates_the_written_columns_on_primary_key_conflict() -> None:
    sql, _ = compiled("POST", "/films", '[{"id": 1, "title": "A"}]', prefer("resolution=merge-duplicates"))
    assert sql == (
        'INSERT INTO "public"."films" AS "films"("id", "title") '
        f'SELECT "pgrst_body"."id", "pgrst_body"."title" {ROWS} '
        'ON CONFLICT ("id") DO UPDATE SET "id" = EXCLUDED."id", "title" = EXCLUDED."title" '
        'RETURNING "films"."id"'
    )


def test_ignore_duplicates_on_the_on_conflict_columns() -> None:
    sql, _ = compiled(
        "POST", "/films?on_conflict=title", '[{"title": "A"}]', prefer("resolution=ignore-duplicates")
    )
    assert 'ON CONFLICT ("title") DO NOTHING RETURNING "films"."title"' in sql


def test_upsert_counts_rows_whose_key_was_not_there_before() -> None:
    plan = planned("POST", "/films", '[{"id": 1}]', prefer("resolution=merge-duplicates")).mutation
    counted = inserted_count_sql(plan)
    assert counted is not None
    assert counted.render("dollar") == (
        "(SELECT pg_catalog.count(*) FROM pgrst_source WHERE NOT EXISTS (SELECT 1 FROM "
        '"public"."films" AS "pgrst_existing" WHERE "pgrst_existing"."id" = "pgrst_source"."id"))'
    )


def test_a_plain_insert_counts_nothing() -> None:
    assert inserted_count_sql(planned("POST", "/films", '{"id": 1}').mutation) is None


def test_headers_only_returns_the_primary_key_for_location() -> None:
    result = planned("POST", "/roles", '{"film_id": 1, "actor_id": 2}', prefer("return=headers-only"))
    assert result.location_columns == ("film_id", "actor_id")
    assert mutation_sql(result.mutation).text.endswith('RETURNING "roles"."film_id", "roles"."actor_id"')


# --- PUT -------------------------------------------------------------------------------------


def test_put_upserts_the_first_row_when_its_key_matches_the_url() -> None:
    assert compiled("PUT", "/films?id=eq.3", '[{"id": 3, "title": "C"}, {"id": 4, "title": "D"}]') == (
        'INSERT INTO "public"."films" AS "films"("id", "title") '
        f'SELECT "pgrst_body"."id", "pgrst_body"."title" {ROWS} WHERE "pgrst_body"."id" = $2 '
        'ON CONFLICT ("id") DO UPDATE SET "id" = EXCLUDED."id", "title" = EXCLUDED."title" '
        'RETURNING "films"."id"',
        ('[{"id":3,"title":"C"}]', "3"),
    )


@pytest.mark.parametrize(
    "target",
    [
        "/films?year=eq.1",
        "/films?id=not.eq.1",
        "/films?id=in.(1)",
        "/films?and=(id.eq.1)",
        "/roles?film_id=eq.1",
    ],
)
def test_put_filters_must_be_eq_on_exactly_the_primary_key(target: str) -> None:
    with pytest.raises(PgrstError) as caught:
        planned("PUT", target, '{"id": 1}')
    assert (caught.value.code, caught.value.status) == ("PGRST105", 405)


def test_put_rejects_limit_and_offset() -> None:
    for target in ("/films?id=eq.1&limit=1", "/films?id=eq.1&offset=1"):
        with pytest.raises(PgrstError) as caught:
            planned("PUT", target, '{"id": 1}')
        assert (caught.value.code, caught.value.status) == ("PGRST114", 400)


# --- PATCH and DELETE ------------------------------------------------------------------------


def test_patch_sets_the_body_columns_where_the_filters_hold() -> None:
    assert compiled("PATCH", "/films?year=lt.2000&or=(id.eq.1,title.is.null)", '{"title": "X"}') == (
        'UPDATE "public"."films" AS "films" SET "title" = "pgrst_body"."title" '
        'FROM json_populate_record(NULL::"public"."films", $1::json) AS pgrst_body '
        'WHERE "films"."year" < $2 AND ("films"."id" = $3 OR "films"."title" IS NULL) RETURNING 1',
        ('{"title": "X"}', "2000", "1"),
    )


def test_patch_with_an_array_sets_from_its_first_object() -> None:
    _, params = compiled("PATCH", "/films?id=eq.1", '[{"title": "X"}]')
    assert params == ('{"title":"X"}', "1")


def test_patch_with_nothing_to_set_updates_no_row() -> None:
    assert compiled("PATCH", "/films", "{}", prefer("return=representation")) == (
        'SELECT "films".* FROM "public"."films" AS "films" WHERE false',
        (),
    )


def test_limited_patch_takes_the_ordered_page_of_rows_by_ctid() -> None:
    sql, params = compiled("PATCH", "/films?year=gt.1&order=year.desc&limit=2&offset=1", '{"title": "X"}')
    assert sql.endswith(
        'WHERE "films"."ctid" = ANY(ARRAY(SELECT "films"."ctid" FROM "public"."films" AS "films" '
        'WHERE "films"."year" > $2 ORDER BY "films"."year" DESC LIMIT $3 OFFSET $4)) RETURNING 1'
    )
    assert params == ('{"title": "X"}', "1", 2, 1)


def test_delete_with_filters() -> None:
    assert compiled("DELETE", "/films?id=eq.1", None, prefer("return=representation")) == (
        'DELETE FROM "public"."films" AS "films" WHERE "films"."id" = $1 RETURNING "films".*',
        ("1",),
    )


def test_representation_filters_are_not_applied_again_to_the_written_rows() -> None:
    result = planned("PATCH", "/films?year=eq.1", '{"year": 2}', prefer("return=representation"))
    assert result.representation.conditions == ()
    assert len(result.mutation.where) == 1


# --- the whole statement and its response ----------------------------------------------------


def test_mutation_statement_reads_the_representation_from_the_cte() -> None:
    prepared = prepare(
        parse_request("DELETE", "/films", "id=eq.1&select=title", [("prefer", "return=representation")]),
        CACHE,
        Options(),
    )
    text = prepared.statement.render("dollar")
    assert text.startswith('WITH pgrst_source AS (DELETE FROM "public"."films" AS "films" WHERE')
    assert 'FROM (SELECT "films"."title" AS "title" FROM pgrst_source AS "films") AS _pgrst_t' in text
    assert prepared.read_only is False
    assert prepared.check_before_commit is True


def test_preference_applied_lists_what_each_write_honours() -> None:
    cases = {
        (
            "POST",
            "/films",
        ): "resolution=merge-duplicates, missing=default, return=representation, handling=strict",
        (
            "PATCH",
            "/films?id=eq.1",
        ): "missing=default, return=representation, handling=strict, max-affected=5",
        ("PUT", "/films?id=eq.1"): "return=representation, handling=strict",
        ("DELETE", "/films?id=eq.1"): "return=representation, handling=strict, max-affected=5",
    }
    header = (
        "return=representation, resolution=merge-duplicates, missing=default, handling=strict, max-affected=5"
    )
    for (method, target), expected in cases.items():
        body = None if method == "DELETE" else '{"id": 1}'
        path, _, query = target.partition("?")
        request = parse_request(method, path, query, [("prefer", header)], body.encode() if body else None)
        assert ", ".join(prepare(request, CACHE, Options()).recipe.preference_applied) == expected


def recipe(
    method: str, target: str, body: str | None, headers: tuple[tuple[str, str], ...] = ()
) -> ResponseRecipe:
    path, _, query = target.partition("?")
    request = parse_request(method, path, query, list(headers), body.encode() if body else None)
    return prepare(request, CACHE, Options()).recipe


def test_insert_headers_only_answers_a_location_and_an_unknown_range() -> None:
    response = respond_mutation(
        recipe("POST", "/roles", '{"film_id": 1, "actor_id": 2}', prefer("return=headers-only")),
        ResultRow(total_count=None, page_count=1, body=None, location='["1", "a b&c"]'),
    )
    assert response.status == 201
    assert dict(response.headers)["Location"] == "/roles?film_id=eq.1&actor_id=eq.a%20b%26c"
    assert dict(response.headers)["Content-Range"] == "*/*"
    assert "Content-Type" not in dict(response.headers)
    assert response.body == b""


def test_update_status_content_range_and_count() -> None:
    rep = recipe("PATCH", "/films", '{"title": "X"}', (("prefer", "return=representation, count=exact"),))
    response = respond_mutation(rep, ResultRow(total_count=None, page_count=3, body="[1,2,3]"))
    assert (response.status, dict(response.headers)["Content-Range"], response.body) == (
        200,
        "0-2/3",
        b"[1,2,3]",
    )
    minimal = respond_mutation(recipe("PATCH", "/films", "{}"), ResultRow(None, 0, None))
    assert (minimal.status, dict(minimal.headers)["Content-Range"]) == (204, "*/*")


def test_merge_duplicates_that_inserts_nothing_is_200() -> None:
    rep = recipe("POST", "/films", "[]", prefer("resolution=merge-duplicates"))
    assert respond_mutation(rep, ResultRow(None, 0, None, inserted=0)).status == 200
    assert respond_mutation(rep, ResultRow(None, 1, None, inserted=1)).status == 201


def test_put_is_201_when_it_inserted_and_200_when_it_updated() -> None:
    rep = recipe("PUT", "/films?id=eq.1", '{"id": 1}', prefer("return=representation"))
    assert respond_mutation(rep, ResultRow(None, 1, "[]", inserted=1)).status == 201
    assert respond_mutation(rep, ResultRow(None, 1, "[]", inserted=0)).status == 200


@pytest.mark.parametrize(
    ("method", "target", "headers", "rows", "code"),
    [
        ("PUT", "/films?id=eq.1", (), 0, "PGRST115"),
        ("PATCH", "/films", (("accept", "application/vnd.pgrst.object+json"),), 2, "PGRST116"),
        ("DELETE", "/films", (("prefer", "handling=strict, max-affected=1"),), 2, "PGRST124"),
    ],
)
def test_checks_on_the_result(
    method: str, target: str, headers: tuple[tuple[str, str], ...], rows: int, code: str
) -> None:
    body = None if method == "DELETE" else '{"id": 1}'
    with pytest.raises(PgrstError) as caught:
        respond_mutation(recipe(method, target, body, headers), ResultRow(None, rows, None))
    assert caught.value.code == code


def test_max_affected_is_not_enforced_without_strict_handling() -> None:
    rep = recipe("DELETE", "/films", None, prefer("max-affected=1"))
    assert respond_mutation(rep, ResultRow(None, 5, None)).status == 204
