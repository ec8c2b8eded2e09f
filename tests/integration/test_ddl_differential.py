"""The schema cache read from DDL text equals the one introspected from the same DDL loaded.

Each statement is run in a real PostgreSQL; only the statements that load are given to the
DDL reader (so a missing extension only removes what depends on it), then both caches are
compared as snapshot JSON.

* the demo schema: the two caches are equal, entirely;
* the conformance fixtures' DDL (PostgREST's test schema, ../shared/conformance/fixtures), with
  two sets of exposed schemas: equal except for these differences, each checked to be of its
  documented kind (see the docstring of pgrest_core/schema/ddl.py for why DDL cannot know them):
  - a literal DEFAULT that the type's input function rewrites (`'2017-12-14 01:02:30'` of a
    timestamptz reads back as `'2017-12-14 01:02:30+00'`): both a literal of the same type;
  - type modifiers of extension types (PostGIS prints `geometry(Point,4326)`, sqlglot
    upper-cases them): equal ignoring case;
  - relations the reader skipped with a warning (a view over XMLTABLE), and what involves them;
  - functions an extension created (file_fdw's handler and validator).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgrest_core.demo import DEMO_SCHEMAS, demo_sql
from pgrest_core.runner.introspect import load_schema_cache_sync
from pgrest_core.schema.ddl import read_ddl
from pgrest_core.schema.ddl_split import split_script
from pgrest_core.schema.snapshot import snapshot_dict
from pgrest_server.postgres import TempPostgres

REPO = Path(__file__).resolve().parents[2]
FIXTURE_FILES = ("database.sql", "schema.sql", "jwt.sql", "jsonschema.sql")  # load.sql's DDL, no data
FIXTURE_SEARCH_PATH = ("public", "test")  # what PostgREST's loader sets with PGOPTIONS


def _fixtures_dir() -> Path | None:
    for candidate in (
        os.environ.get("PGREST_CONFORMANCE_FIXTURES"),
        REPO.parent / "shared" / "conformance" / "fixtures",
        Path("/work/shared/conformance/fixtures"),
    ):
        if candidate and (Path(candidate) / "schema.sql").is_file():
            return Path(candidate)
    return None


def _load(
    pg: TempPostgres, name: str, texts: list[str], search_path: tuple[str, ...]
) -> tuple[str, list[str]]:
    """Runs each statement in a new database; returns its URI and the statements that loaded."""
    uri = pg.create_database(name)
    loaded: list[str] = []
    options = "-c search_path=" + ",".join(search_path)
    with psycopg.connect(uri, autocommit=True, options=options) as conn:
        conn.execute("SET client_min_messages TO error")
        for text in texts:
            for statement in split_script(text).statements:
                try:
                    conn.execute(statement.text.encode(), prepare=False)
                except psycopg.Error:
                    continue
                loaded.append(statement.text)
    return uri, loaded


def _caches(
    uri: str, loaded: list[str], schemas: tuple[str, ...], search_path: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    with psycopg.connect(uri, autocommit=True) as conn:
        introspected = load_schema_cache_sync(conn, schemas)
    result = read_ddl([";\n".join(loaded) + ";"], schemas, search_path)
    return snapshot_dict(result.cache), snapshot_dict(introspected), [str(w) for w in result.warnings]


@pytest.fixture
def demo_database(pg: TempPostgres) -> Iterator[tuple[str, list[str]]]:
    uri, loaded = _load(pg, "ddl_diff_demo", [demo_sql()], ("public",))
    yield uri, loaded
    pg.drop_database("ddl_diff_demo")


def test_demo_schema_from_ddl_equals_introspection(demo_database: tuple[str, list[str]]) -> None:
    uri, loaded = demo_database
    from_ddl, introspected, warnings = _caches(uri, loaded, DEMO_SCHEMAS, ("public",))
    assert warnings == []
    assert json.dumps(from_ddl, indent=1, sort_keys=True) == json.dumps(
        introspected, indent=1, sort_keys=True
    )


# Migrations as a project accumulates them: later scripts rename, drop and re-point things.
MIGRATIONS = [
    """
    create schema api;
    create schema internal;
    create type api.status as enum ('draft', 'published');
    create domain api.email as text check (value like '%@%');
    create table api.users (
      id bigserial primary key,
      legacy_flag boolean default false,
      email api.email not null unique,
      name varchar(100),
      created_at timestamptz not null default now()
    );
    comment on table api.users is 'People who write';
    create table api.posts (
      id int generated always as identity primary key,
      author_id bigint not null references api.users,
      status api.status default 'draft',
      title text not null,
      tags text[] default '{}',
      score numeric(5, 2) default -1.5
    );
    create table api.tags (post_id int, tag text, primary key (post_id, tag));
    alter table api.tags add constraint tags_post foreign key (post_id) references api.posts (id) on delete cascade;
    create table internal.audit (id serial primary key, user_id bigint references api.users (id), at timestamptz);
    """,
    """
    alter table api.users drop column legacy_flag;
    alter table api.users add column bio text;
    alter table api.users rename column name to display_name;
    alter table api.posts rename constraint posts_author_id_fkey to written_by;
    alter table api.posts add column editor_id bigint;
    alter table api.posts add constraint edited_by foreign key (editor_id) references api.users (id);
    alter table api.posts alter column title drop not null;
    alter table api.posts alter column tags set default '{news}';
    create view api.published as
      select p.id, p.title, p.author_id as writer, u.display_name
      from api.posts p join api.users u on u.id = p.author_id where p.status = 'published';
    create view api.recent_posts as select * from api.posts where id > 100;
    create view api.audit as select id, user_id, at from internal.audit;
    create function api.publish(post_id int, at timestamptz default now()) returns api.posts
      language sql volatile as $$ update api.posts set status = 'published' where id = post_id returning * $$;
    create function api.post_count(api.users) returns bigint language sql stable
      as $$ select count(*) from api.posts where author_id = $1.id $$;
    comment on function api.post_count(api.users) is 'How many posts';
    create table api.drafts (id int primary key);
    alter table api.drafts set schema internal;
    """,
    """
    create view api.everyone as
      select id, email::text as contact from api.users union all select id, 'audit' from internal.audit;
    create view api.statuses as select distinct status from api.posts;
    create materialized view api.post_stats as select author_id, count(*) as posts from api.posts group by author_id;
    create table api.profiles (user_id bigint primary key references api.users, handle varchar(30) unique);
    create table api.events (id int, at date not null, kind text) partition by range (at);
    create table api.events_2024 partition of api.events for values from ('2024-01-01') to ('2025-01-01');
    create table api.base (id int primary key, label text);
    create table api.derived (extra int) inherits (api.base);
    create function api.block() returns trigger language plpgsql as $$ begin return null; end $$;
    create view api.guarded as select * from api.users;
    create trigger no_delete instead of delete on api.guarded for each row execute function api.block();
    create view api.summary as
      with counts as (select author_id, count(*) as n from api.posts group by author_id)
      select u.id, u.email, c.n, c.n > 10 as prolific from api.users u join counts c on c.author_id = u.id;
    """,
]


@pytest.fixture
def migrations_database(pg: TempPostgres) -> Iterator[tuple[str, list[str]]]:
    uri, loaded = _load(pg, "ddl_diff_migrations", MIGRATIONS, ("public",))
    yield uri, loaded
    pg.drop_database("ddl_diff_migrations")


def test_migrations_from_ddl_equal_introspection(migrations_database: tuple[str, list[str]]) -> None:
    uri, loaded = migrations_database
    assert len(loaded) == sum(len(split_script(text).statements) for text in MIGRATIONS)  # all of it loads
    from_ddl, introspected, warnings = _caches(uri, loaded, ("api",), ("public",))
    assert warnings == []
    assert json.dumps(from_ddl, indent=1, sort_keys=True) == json.dumps(
        introspected, indent=1, sort_keys=True
    )


# -- the conformance fixtures -----------------------------------------------------------------


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


_LITERAL = re.compile(r"^'(?:[^']|'')*'::(.+)$")


def _column_difference(table: dict[str, Any], column: dict[str, Any], field: str, db: Any) -> str | None:
    """None when the difference is one of the documented kinds, else a description."""
    name, ddl = column["name"], column[field]
    if (
        field == "type"
        and isinstance(ddl, str)
        and ddl.startswith("extensions.")
        and ddl.lower() == db.lower()
    ):
        return None
    if field == "default" and ddl is not None and db is not None:
        mine, theirs = _LITERAL.match(ddl), _LITERAL.match(db)
        if mine and theirs and mine.group(1) == theirs.group(1):
            return None
    return f"{table['name']}.{name} {field}: ddl {ddl!r}, database {db!r}"


def _table_differences(ddl: dict[str, Any], db: dict[str, Any]) -> tuple[list[str], set[str]]:
    ddl_tables = {t["name"]: t for t in ddl["tables"]}
    db_tables = {t["name"]: t for t in db["tables"]}
    problems = [f"only in the DDL cache: {name}" for name in sorted(set(ddl_tables) - set(db_tables))]
    skipped = set(db_tables) - set(ddl_tables)
    for name in sorted(set(ddl_tables) & set(db_tables)):
        mine, theirs = ddl_tables[name], db_tables[name]
        if [c["name"] for c in mine["columns"]] != [c["name"] for c in theirs["columns"]]:
            problems.append(f"{name}: columns {mine['columns']} vs {theirs['columns']}")
            continue
        for col, other in zip(mine["columns"], theirs["columns"], strict=True):
            for field, value in col.items():
                if value != other[field]:
                    problem = _column_difference(mine, col, field, other[field])
                    problems.extend([problem] if problem else [])
        for field in (
            "primary_key",
            "is_view",
            "description",
            "schema",
            "insertable",
            "updatable",
            "deletable",
        ):
            if mine[field] != theirs[field]:
                problems.append(f"{name} {field}: ddl {mine[field]!r}, database {theirs[field]!r}")
    return problems, skipped


def _relationship_differences(ddl: dict[str, Any], db: dict[str, Any], skipped: set[str]) -> list[str]:
    def involved(rel: dict[str, Any]) -> set[str]:
        names = {rel["source"]["name"], rel["target"]["name"]}
        return names | ({rel["junction"]["table"]["name"]} if rel["junction"] else set())

    mine = {_key(r) for r in ddl["relationships"]}
    theirs = {_key(r): r for r in db["relationships"]}
    problems = [f"only in the DDL cache: {rel}" for rel in sorted(mine - set(theirs))]
    problems += [
        f"only in the database cache: {key}"
        for key in sorted(set(theirs) - mine)
        if not involved(theirs[key]) & skipped
    ]
    return problems


def _routine_differences(ddl: dict[str, Any], db: dict[str, Any], extension_functions: set[str]) -> list[str]:
    problems: list[str] = []
    sections = ("routines", "computed_fields", "computed_relationships", "descriptions", "schemas",
                "representations", "media_handlers", "media_types")  # fmt: skip
    for section in sections:
        mine, theirs = ddl[section], db[section]
        if isinstance(mine, dict) or section == "schemas":
            if mine != theirs:
                problems.append(f"{section}: ddl {mine}, database {theirs}")
            continue
        mine_keys, their_keys = {_key(r) for r in mine}, {_key(r): r for r in theirs}
        problems += [f"{section} only in the DDL cache: {r}" for r in sorted(mine_keys - set(their_keys))]
        problems += [
            f"{section} only in the database cache: {key}"
            for key, routine in sorted(their_keys.items())
            if key not in mine_keys and routine.get("name") not in extension_functions
        ]
    return problems


@pytest.fixture(scope="module")
def conformance_database(pg: TempPostgres) -> Iterator[tuple[str, list[str]]]:
    fixtures = _fixtures_dir()
    if fixtures is None:
        pytest.skip("the conformance fixtures (../shared/conformance/fixtures) are not on this machine")
    texts = [(fixtures / name).read_text(encoding="utf-8") for name in FIXTURE_FILES]
    uri, loaded = _load(pg, "ddl_diff_conformance", texts, FIXTURE_SEARCH_PATH)
    yield uri, loaded
    pg.drop_database("ddl_diff_conformance")


@pytest.mark.parametrize("schemas", [("test",), ("v1", "v2", "تست", "private")])
def test_conformance_schema_from_ddl_equals_introspection(
    conformance_database: tuple[str, list[str]], schemas: tuple[str, ...]
) -> None:
    uri, loaded = conformance_database
    from_ddl, introspected, warnings = _caches(uri, loaded, schemas, FIXTURE_SEARCH_PATH)
    print("DDL reader warnings:", *warnings, sep="\n  ")
    problems, skipped = _table_differences(from_ddl, introspected)
    problems += _relationship_differences(from_ddl, introspected, skipped)
    # CREATE EXTENSION file_fdw SCHEMA test makes these; DDL text cannot know an extension's objects.
    problems += _routine_differences(from_ddl, introspected, {"file_fdw_handler", "file_fdw_validator"})
    assert problems == [], "\n".join(problems)
    # Not a vacuous comparison: every section compared has content.
    for section in (
        "tables",
        "relationships",
        "routines",
        "media_handlers",
        "media_types",
        "representations",
    ):
        assert from_ddl[section] and introspected[section], section
    # One statement is beyond the reader: a view selecting * from XMLTABLE(…).
    assert len(warnings) <= 1, warnings
    assert len(skipped) <= 1, skipped
