"""The schema cache from DDL text: one test per construct (the differential test compares the
whole result with PostgreSQL's own catalog)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pgrest_cli.translate import translate
from pgrest_core.schema.ddl import read_ddl, read_ddl_files, schema_from_ddl
from pgrest_core.schema.ddl_types import display_builtin, parse_type
from pgrest_core.schema.model import Cardinality, Column, QualifiedName, Relationship, SchemaCache, Table


def cache(*scripts: str, schemas: tuple[str, ...] = ("public",)) -> SchemaCache:
    result = read_ddl(scripts, schemas)
    assert result.warnings == ()
    return result.cache


def table(cache: SchemaCache, name: str, schema: str = "public") -> Table:
    found = cache.table(schema, name)
    assert found is not None, name
    return found


def column(cache: SchemaCache, table_name: str, name: str, schema: str = "public") -> Column:
    found = table(cache, table_name, schema).column(name)
    assert found is not None
    return found


def rel(
    source: str, target: str, cardinality: Cardinality, constraint: str, *columns: tuple[str, str]
) -> Relationship:
    return Relationship(
        QualifiedName("public", source), QualifiedName("public", target), cardinality, constraint, columns
    )


# -- types ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("int", "integer"), ("INT4", "integer"), ("serial", "integer"), ("bigserial", "bigint"),
        ("smallint", "smallint"), ("float", "double precision"), ("float(10)", "real"), ("float(30)", "double precision"),
        ("double precision", "double precision"), ("numeric(3, 1)", "numeric(3,1)"), ("numeric(5)", "numeric(5,0)"),
        ("decimal", "numeric"), ("varchar(20)", "character varying(20)"), ("character varying", "character varying"),
        ("char", "character(1)"), ("char(3)", "character(3)"), ("bpchar", "bpchar"), ("bool", "boolean"),
        ("timestamp", "timestamp without time zone"), ("timestamptz", "timestamp with time zone"),
        ("timestamp(3) with time zone", "timestamp(3) with time zone"), ("time", "time without time zone"),
        ("interval day to second", "interval"), ("bit", "bit(1)"), ("varbit(4)", "bit varying(4)"),
        ("int[]", "integer[]"), ("text[][]", "text[]"), ("integer array", "integer[]"), ("pg_catalog.text", "text"),
    ],
)  # fmt: skip
def test_builtin_types_print_as_format_type(written: str, shown: str) -> None:
    name = parse_type(written)
    assert name.builtin
    assert display_builtin(name.name, name.modifiers) + ("[]" if name.array else "") == shown


def test_column_types_and_lengths() -> None:
    c = cache(
        'create table t (a varchar(5), b int[], c "Mixed Case", d text, e char(2))'.replace(
            ' "Mixed Case"', " text"
        )
    )
    assert [(col.name, col.type, col.max_length) for col in table(c, "t").columns] == [
        ("a", "character varying(5)", 5), ("b", "integer[]", None), ("c", "text", None),
        ("d", "text", None), ("e", "character(2)", 2),
    ]  # fmt: skip


def test_enum_and_domain_columns() -> None:
    c = cache(
        "create type mood as enum ('sad', 'ok', 'happy');"
        "create domain short_text as varchar(10) not null default 'x' check (value <> '');"
        "create domain checked as text check (value is not null);"
        "create table t (m mood, s short_text, c checked, ms mood[]);"
    )
    m, s, checked, ms = table(c, "t").columns
    assert (m.type, m.enum_values) == ("mood", ("sad", "ok", "happy"))
    assert (s.type, s.nominal_type, s.nullable, s.default, s.max_length) == (
        "short_text", "character varying(10)", False, "'x'::character varying", 10,
    )  # fmt: skip
    assert checked.nullable  # NOT NULL inside a CHECK does not make the domain NOT NULL
    assert (ms.type, ms.enum_values) == ("mood[]", ())


def test_types_of_private_schemas_are_qualified() -> None:
    c = cache("create schema lib; create type lib.color as enum ('red'); create table t (c lib.color)")
    assert column(c, "t", "c").type == "lib.color"


# -- columns: defaults, not null, identity, generated -----------------------------------------


def test_defaults_print_as_pg_get_expr() -> None:
    c = cache(
        "create table t (a text default 'x', b int default 42, c int default -1, d boolean default true,"
        " e timestamptz default now(), f numeric default 1.5, g text[] default '{}', h int default null,"
        " i jsonb default '{}'::jsonb, j text default 'it''s')"
    )
    assert [col.default for col in table(c, "t").columns] == [
        "'x'::text", "42", "'-1'::integer", "true", "now()", "1.5", "'{}'::text[]", "NULL::integer",
        "'{}'::jsonb", "'it''s'::text",
    ]  # fmt: skip


def test_not_null_identity_serial_and_generated() -> None:
    c = cache(
        "create table t (a int generated always as identity, b int generated by default as identity,"
        " c serial, d int not null, e int null, f int generated always as (d * 2) stored)"
    )
    a, b, s, d, e, f = table(c, "t").columns
    assert (a.nullable, a.generated, a.default) == (False, True, "nextval('t_a_seq'::regclass)")
    assert (b.nullable, b.generated, b.default) == (False, False, "nextval('t_b_seq'::regclass)")
    assert (s.nullable, s.default) == (False, "nextval('t_c_seq'::regclass)")
    assert (d.nullable, e.nullable) == (False, True)
    assert (f.generated, f.default) == (True, None)


def test_alter_table_changes_columns() -> None:
    c = cache(
        "create table t (a int, b text default 'x');"
        "alter table t add column c int not null;"
        "alter table t alter column a set not null;"
        "alter table t alter column b drop default;"
        "alter table only t alter column c set default 3;"
        "alter table t rename column a to aa;"
    )
    assert [(col.name, col.nullable, col.default) for col in table(c, "t").columns] == [
        ("aa", False, None), ("b", True, None), ("c", False, "3"),
    ]  # fmt: skip


# -- keys -------------------------------------------------------------------------------------


def test_primary_keys_inline_table_level_and_altered() -> None:
    c = cache(
        "create table a (id int primary key);"
        "create table b (x int, y int, primary key (y, x));"
        "create table c (id int); alter table only c add constraint c_pk primary key (id);"
    )
    assert [table(c, name).primary_key for name in "abc"] == [("id",), ("y", "x"), ("id",)]
    assert not column(c, "b", "x").nullable


def test_foreign_keys_inline_table_level_composite_and_altered() -> None:
    c = cache(
        "create table p (id int primary key, a int, b int, unique (a, b));"
        "create table inline (id int primary key, p_id int references p);"
        "create table tbl (id int primary key, pid int, constraint to_p foreign key (pid) references p (id));"
        "create table comp (id int primary key, x int, y int, foreign key (x, y) references p (a, b));"
        "create table late (id int primary key, pid int);"
        "alter table late add constraint late_p foreign key (pid) references p (id) on delete cascade;"
    )
    forward = {
        (r.source.name, r.constraint, r.columns) for r in c.relationships_from(QualifiedName("public", "p"))
    }
    assert forward == {
        ("p", "inline_p_id_fkey", (("id", "p_id"),)),
        ("p", "to_p", (("id", "pid"),)),
        ("p", "comp_x_y_fkey", (("a", "x"), ("b", "y"))),
        ("p", "late_p", (("id", "pid"),)),
    }
    assert rel(
        "comp", "p", Cardinality.MANY_TO_ONE, "comp_x_y_fkey", ("x", "a"), ("y", "b")
    ) in c.relationships_from(QualifiedName("public", "comp"))


def test_one_to_one_and_many_to_many_are_derived() -> None:
    c = cache(
        "create table a (id int primary key); create table b (id int primary key);"
        "create table detail (a_id int primary key references a);"
        "create table ab (a_id int references a, b_id int references b, primary key (a_id, b_id));"
    )
    from_a = c.relationships_from(QualifiedName("public", "a"))
    assert {(r.target.name, r.cardinality) for r in from_a} == {
        ("detail", Cardinality.ONE_TO_ONE), ("ab", Cardinality.ONE_TO_MANY), ("b", Cardinality.MANY_TO_MANY),
    }  # fmt: skip


def test_generated_constraint_names_follow_postgresql() -> None:
    long = "a" * 60
    c = cache(
        f"create table {long} (id int primary key, other_id int references {long}, u int unique, v int unique);"
        "create table t (x int unique, y int);"
        "alter table t add unique (x);"  # a second unique key on x: t_x_key1
        "create table t_x_key2 ();"  # a relation's name is taken too
        "alter table t add unique (x);"
    )
    names = {r.constraint for r in c.relationships_from(QualifiedName("public", long))}
    assert names == {f"{'a' * 49}_other_id_fkey"}  # cut to 63 bytes, the longer name first
    result = read_ddl(["create table t (x int unique); alter table t add unique (x); create table t_x_key2 ();"
                       "alter table t add unique (x); create table f (x int references t (x))"], ["public"])  # fmt: skip
    assert result.warnings == ()


# -- views ------------------------------------------------------------------------------------


def test_views_map_columns_and_inherit_relationships() -> None:
    c = cache(
        "create table directors (id int primary key, name text);"
        "create table films (id int primary key, director_id int references directors, title varchar(50));"
        "create view recent as select f.id, f.title as name, director_id, 1 as one, title::text as t from films f;"
        "create view recent2 as select * from recent;"
    )
    recent = table(c, "recent")
    assert recent.is_view and recent.primary_key == ("id",)
    assert [(col.name, col.type, col.nullable) for col in recent.columns] == [
        ("id", "integer", True), ("name", "character varying(50)", True), ("director_id", "integer", True),
        ("one", "integer", True), ("t", "text", True),
    ]  # fmt: skip
    assert rel(
        "recent2", "directors", Cardinality.MANY_TO_ONE, "films_director_id_fkey", ("director_id", "id")
    ) in (c.relationships_from(QualifiedName("public", "recent2")))


def test_view_updatability_follows_the_auto_updatable_rules() -> None:
    c = cache(
        "create table t (id int primary key, n int);"
        "create view plain as select id, n from t;"
        "create view computed as select n + 1 as m from t;"
        "create view grouped as select n, count(*) from t group by n;"
        "create view joined as select a.id from t a join t b on a.id = b.n;"
        "create materialized view mat as select id from t;"
    )
    flags = {name: (table(c, name).insertable, table(c, name).updatable, table(c, name).deletable)
             for name in ("plain", "computed", "grouped", "joined", "mat")}  # fmt: skip
    assert flags == {
        "plain": (True, True, True),
        "computed": (False, False, True),
        "grouped": (False, False, False),
        "joined": (False, False, False),
        "mat": (False, False, False),
    }


def test_views_through_subqueries_and_private_schemas() -> None:
    c = cache(
        "create schema private; create table private.items (id int primary key, owner int);"
        "create table owners (id int primary key);"
        "alter table private.items add foreign key (owner) references owners (id);"
        "create view items as select * from (select id, owner from private.items) s;"
    )
    assert table(c, "items").primary_key == ("id",)
    assert {r.target.name for r in c.relationships_from(QualifiedName("public", "items"))} == {"owners"}


# -- functions --------------------------------------------------------------------------------


def test_function_arguments() -> None:
    c = cache(
        "create table films (id int primary key);"
        "create function f(a int, b text default 'x', variadic c int[] default '{}') returns int"
        " language sql immutable as $$ select a $$;"
        "create function g(x integer, y double precision, out total int, inout note text = '') language sql as 'select 1, 2'"
        "; create function h(integer, double precision) returns int language sql as 'select 1'"
    )
    (f,) = c.routines[QualifiedName("public", "f")]
    assert [(p.name, p.type, p.required, p.variadic) for p in f.params] == [
        ("a", "integer", True, False), ("b", "text", False, False), ("c", "integer[]", False, True),
    ]  # fmt: skip
    assert (f.returns.name, f.returns.schema, f.returns.set_of, f.volatility) == (
        "int4",
        "pg_catalog",
        False,
        "immutable",
    )
    (g,) = c.routines[QualifiedName("public", "g")]
    assert [(p.name, p.type, p.required) for p in g.params] == [
        ("x", "integer", True), ("y", "double precision", True), ("note", "text", False),
    ]  # fmt: skip
    assert (g.returns.name, g.returns.composite) == ("record", True)
    assert QualifiedName("public", "h") not in c.routines  # unnamed arguments: not callable


def test_function_return_types() -> None:
    c = cache(
        "create table films (id int primary key, director_id int);"
        "create table directors (id int primary key);"
        "create function rows_of() returns setof films language sql stable as $$ select * from films $$;"
        "create function tab() returns table (x int, y text) language sql as $$ select 1, 'a' $$;"
        "create function one_col() returns table (x int) language sql as $$ select 1 $$;"
        "create function director(films) returns setof directors language sql stable rows 1 as $$ select null::directors $$;"
        "create function label(films) returns text language sql as $$ select 'x' $$;"
        "create function nothing() returns void language plpgsql as $$ begin perform 1; end $$;"
    )

    def returns(name: str) -> tuple[str, str, bool, bool]:
        (routine,) = c.routines[QualifiedName("public", name)]
        r = routine.returns
        return r.schema, r.name, r.set_of, r.composite

    assert returns("rows_of") == ("public", "films", True, True)
    assert returns("tab") == ("pg_catalog", "record", True, True)
    assert returns("one_col") == ("pg_catalog", "int4", True, True)
    assert returns("nothing") == ("pg_catalog", "void", False, False)
    assert [(r.function.name, r.target.name, r.single_row) for r in c.computed_relationships] == [
        ("director", "directors", True)
    ]
    assert [r.name for r in c.computed_fields[QualifiedName("public", "films")]] == ["label"]


def test_overloads_replace_and_drop() -> None:
    c = cache(
        "create function f(a int) returns int language sql as 'select 1';"
        "create function f(a text) returns int language sql as 'select 2';"
        "create or replace function f(a int) returns int language sql stable as 'select 3';"
        "create function g() returns int language sql as 'select 1'; drop function g();"
    )
    assert [(r.params[0].type, r.volatility) for r in c.routines[QualifiedName("public", "f")]] == [
        ("integer", "stable"), ("text", "volatile"),
    ]  # fmt: skip
    assert QualifiedName("public", "g") not in c.routines


# -- comments, schemas, search_path -----------------------------------------------------------


def test_comments() -> None:
    c = cache(
        "create table t (a int); create view v as select a from t;"
        "create function f(x int) returns int language sql as 'select 1';"
        "create function f(x text) returns int language sql as 'select 1';"
        "comment on schema public is 'The API';"
        "comment on table t is 'A table'; comment on view v is $$A 'view'$$;"
        "comment on column t.a is E'line\\nbreak'; comment on column public.v.a is 'shown';"
        "comment on function f(text) is 'the text one';"
    )
    assert c.descriptions == {"public": "The API"}
    assert (table(c, "t").description, table(c, "v").description) == ("A table", "A 'view'")
    assert (column(c, "t", "a").description, column(c, "v", "a").description) == ("line\nbreak", "shown")
    assert [(r.params[0].type, r.description) for r in c.routines[QualifiedName("public", "f")]] == [
        ("integer", None), ("text", "the text one"),
    ]  # fmt: skip


def test_schemas_and_search_path() -> None:
    c = cache(
        'create schema api; create schema "Other";'
        "set search_path = api, public;"
        "create table items (id int primary key);"  # lands in api
        'create table "Other".things (id int primary key, item_id int references items);'
        "select pg_catalog.set_config('search_path', '', false);"
        "create table public.plain (id int);",
        schemas=("api",),
    )
    assert list(c.tables) == [QualifiedName("api", "items")]
    assert c.relationships == {}  # "Other".things is not exposed


def test_ignored_and_unreadable_statements() -> None:
    result = read_ddl(
        [
            "\\set ON_ERROR_STOP on\n"
            "create extension if not exists pgcrypto; grant select on all tables in schema public to anon;"
            "insert into t values (1); do $$ begin raise notice 'x;'; end $$; create index on t (a);"
            "create table t (a int); create table u (a int references missing (id));"
            "create view broken as select a from nowhere;"
        ],
        ["public"],
    )
    assert list(result.cache.tables) == [QualifiedName("public", "t")]
    assert [(w.line, w.reason.split(":")[0]) for w in result.warnings] == [
        (1, "psql meta-command ignored"), (2, "skipped (DdlError"), (2, "skipped (DdlError"),
    ]  # fmt: skip


def test_drop_and_rename() -> None:
    c = cache(
        "create table a (id int primary key); create table b (id int primary key, a_id int references a);"
        "alter table b rename constraint b_a_id_fkey to to_a; alter table b rename to bb;"
        "create table gone (id int); drop table if exists gone, nothing cascade;"
    )
    assert sorted(name.name for name in c.tables) == ["a", "bb"]
    assert [r.constraint for r in c.relationships_from(QualifiedName("public", "bb"))] == ["to_a"]


def test_inheritance_and_partitions() -> None:
    c = cache(
        "create table base (id int primary key, name text);"
        "create table child (extra int) inherits (base);"
        "create table events (id int, at date) partition by range (at);"
        "create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');"
    )
    assert [col.name for col in table(c, "child").columns] == ["id", "name", "extra"]
    assert sorted(name.name for name in c.tables) == ["base", "child", "events"]


# -- files and the CLI ------------------------------------------------------------------------


def test_a_migrations_folder_is_read_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "002_pets.sql").write_text(
        "create table pets (id int primary key, owner int references people);"
    )
    (folder / "001_people.sql").write_text("create table people (id int primary key);")
    (folder / "003_rename.sql").write_text("alter table pets rename column owner to owner_id;")
    (folder / "notes.txt").write_text("not sql")
    result = read_ddl_files([folder], ["public"])
    assert result.warnings == ()
    (folder / "004_broken.sql").write_text("\n\ncreate view v as select x from nowhere;")
    (warning,) = read_ddl_files([folder], ["public"]).warnings
    assert str(warning).startswith(f"{folder / '004_broken.sql'}:3: skipped (DdlError")
    assert [col.name for col in table(result.cache, "pets").columns] == ["id", "owner_id"]
    assert schema_from_ddl(["create table x ()"], ["public"]).table("public", "x") is not None
    assert schema_from_ddl("create table x ()", ["public"]).table("public", "x") is not None  # one script


def test_cli_translates_against_schema_sql(tmp_path: Path) -> None:
    ddl = tmp_path / "schema.sql"
    ddl.write_text(
        "create schema api; create table api.people (id int primary key, age int);"
        "create table api.pets (id int primary key, owner_id int references api.people, name text);"
    )
    runner = CliRunner()
    result = runner.invoke(
        translate, ["GET /people?select=id,pets(name)&age=gt.18", "--schema-sql", str(ddl), "--schema", "api"]
    )
    assert result.exit_code == 0, result.output
    assert '"api"."pets"' in result.output and '"pets"."owner_id" = "people"."id"' in result.output
    missing = runner.invoke(translate, ["GET /people", "--schema-sql", str(tmp_path / "nope.sql")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    both = runner.invoke(translate, ["GET /people", "--schema-sql", str(ddl), "--schema-file", str(ddl)])
    assert both.exit_code == 2 and "give the schema one way, not --schema-file and --schema-sql" in both.output


def test_instead_of_triggers_and_rules_make_views_writable() -> None:
    c = cache(
        "create table t (id int primary key, n int);"
        "create view by_trigger as select n, count(*) from t group by n;"
        "create trigger ins instead of insert or update on by_trigger for each row execute function f();"
        "create view by_rule as select distinct n from t;"
        "create rule del as on delete to by_rule do instead delete from t where n = old.n;"
        "create rule cond as on insert to by_rule where new.n > 0 do instead nothing;"
        "create view over_view as select n from by_trigger;"  # not auto-updatable: its base is not
        "create trigger audit after insert on t for each row execute function g();"
    )

    def flags(name: str) -> tuple[bool, bool, bool]:
        found = table(c, name)
        return found.insertable, found.updatable, found.deletable

    assert flags("by_trigger") == (True, True, False)
    assert flags("by_rule") == (False, False, True)
    assert flags("over_view") == (True, True, False)


def test_views_over_ctes_lateral_joins_functions_and_expressions() -> None:
    c = cache(
        "create table people (id int primary key, name text, born date);"
        "create table messages (id int primary key, sender int references people, body text);"
        "create function everyone() returns setof people language sql as 'select * from people';"
        "create function initials(text) returns varchar(3) language sql as 'select 1';"
        "create view with_cte as with p as (select id, name from people) select p.id, p.name from p;"
        "create view counts as select p.id, s.n from people p"
        " join lateral (select count(*) as n from messages m where m.sender = p.id) s on true;"
        "create view joined as select m.id, m.sender, p.name from (messages m join people p on p.id = m.sender);"
        "create view from_function as select * from everyone();"
        "create view computed as select id > 1 as big, case when id > 1 then 'x' end as label,"
        " (select max(id) from messages) as top, json_agg(name) as names, initials(name) as i,"
        " coalesce(born, current_date) as d, random() as r, upper(name) || '!' as shout from people group by id;"
    )
    assert table(c, "with_cte").primary_key == ("id",)
    assert [col.type for col in table(c, "counts").columns] == ["integer", "bigint"]
    assert {r.target.name for r in c.relationships_from(QualifiedName("public", "joined"))} >= {"people"}
    assert [col.name for col in table(c, "from_function").columns] == ["id", "name", "born"]
    assert table(c, "from_function").primary_key == ()  # a function's rows show no table column
    assert [(col.name, col.type) for col in table(c, "computed").columns] == [
        ("big", "boolean"), ("label", "text"), ("top", "integer"), ("names", "json"),
        ("i", "character varying"), ("d", "date"), ("r", "double precision"), ("shout", "text"),
    ]  # fmt: skip


def test_create_table_as_and_foreign_tables() -> None:
    c = cache(
        "create table src (id int primary key, name varchar(10));"
        "create table copy as select id, name, 1 as one from src;"
        "create foreign table remote (id int not null, label text) server files options (filename '/x.csv');"
    )
    assert [(col.name, col.type, col.nullable) for col in table(c, "copy").columns] == [
        ("id", "integer", True), ("name", "character varying(10)", True), ("one", "integer", True),
    ]  # fmt: skip
    assert table(c, "copy").primary_key == ()
    remote = table(c, "remote")
    assert (remote.insertable, remote.updatable, remote.deletable) == (False, False, False)
    assert not column(c, "remote", "id").nullable


def test_media_type_handlers_and_representations() -> None:
    c = cache(
        'create domain "text/csv" as text; create domain "application/vnd.any+json" as jsonb;'
        "create domain color as integer;"
        "create table items (id int primary key, c color);"
        'create function csv_trans(state "text/csv", next items) returns "text/csv" language sql as $$ select 1 $$;'
        "create aggregate csv_agg(items) (initcond = '', stype = \"text/csv\", sfunc = csv_trans);"
        "create function any_trans(state jsonb, next anyelement) returns jsonb language sql as $$ select 1 $$;"
        'create function any_final(state jsonb) returns "application/vnd.any+json" language sql as $$ select 1 $$;'
        "create aggregate any_agg(anyelement) (stype = jsonb, sfunc = any_trans, finalfunc = any_final);"
        'create aggregate dropped(items) (stype = "text/csv", sfunc = csv_trans); drop aggregate dropped(items);'
        "create function color(json) returns color language sql as $$ select 1 $$;"
        'create function "json"(color) returns json language sql as $$ select 1 $$;'
        "create cast (json as color) with function color(json) as implicit;"
        'create cast (color as json) with function "json"(color) as implicit;'
        "create cast (color as bigint) with function color(json);"  # not a representation: no json/text
    )
    assert [(h.media_type, h.function.name, h.base_type, h.target) for h in c.media_handlers] == [
        ("application/vnd.any+json", "any_agg", "jsonb", None),
        ("text/csv", "csv_agg", "text", QualifiedName("public", "items")),
    ]
    assert c.media_types == {
        QualifiedName("public", "text/csv"): "text",
        QualifiedName("public", "application/vnd.any+json"): "jsonb",
    }
    assert c.representations == {
        ("json", "color"): QualifiedName("public", "color"),
        ("color", "json"): QualifiedName("public", "json"),
    }


def test_alter_column_type_and_a_default_on_a_view_column() -> None:
    c = cache(
        "create table t (a int, b text); alter table t alter column a type bigint;"
        "create view v as select a, b from t; alter view v alter column b set default 'x';"
    )
    assert column(c, "t", "a").type == "bigint"
    assert column(c, "v", "b").default == "'x'::text"


def test_migrations_drop_columns_and_constraints_and_move_tables() -> None:
    c = cache(
        "create schema archive;"
        "create table users (id int primary key, legacy int, email text);"
        "create table posts (id int primary key, author int references users, old_ref int references users);"
        "alter table users owner to admin; alter table users enable row level security;"
        "alter table users alter column email set statistics 100;"
        "alter table users drop column legacy;"
        "alter table users drop column if exists nothing;"
        "alter table posts drop column old_ref;"  # its foreign key goes with it
        "alter table posts drop constraint posts_author_fkey;"
        "alter table posts add column if not exists author int;"
        "alter table posts add constraint by_author foreign key (author) references users;"
        "create table old (id int); alter table old set schema archive;"
        "create view v as select * from users;"
    )
    assert [col.name for col in table(c, "users").columns] == ["id", "email"]
    assert [col.name for col in table(c, "v").columns] == ["id", "email"]
    assert table(c, "v").primary_key == ("id",)  # traced past the dropped column's number
    to_users = [r for r in c.relationships_from(QualifiedName("public", "posts")) if r.target.name == "users"]
    assert [(r.constraint, r.columns) for r in to_users] == [("by_author", (("author", "id"),))]
    assert c.table("public", "old") is None


def test_function_set_clauses_are_kept_as_proconfig_writes_them() -> None:
    c = cache(
        "create function f() returns int language sql set statement_timeout = '5s'"
        " set search_path to api, public as $$ select 1 $$;"
        "create function g() returns int language sql as $$ select 'set x = 1' $$ set work_mem = '64kB';"
        "create function h() returns int language sql set search_path from current as 'select 1';"
    )
    settings = {key.name: overloads[0].settings for key, overloads in c.routines.items()}
    assert settings == {
        "f": (("statement_timeout", "5s"), ("search_path", "api, public")),
        "g": (("work_mem", "64kB"),),
        "h": (),  # FROM CURRENT: a value only the database knows
    }
