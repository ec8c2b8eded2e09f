"""`pgrest schema dump` against a throwaway database."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pgrest_cli.schema_cmd import schema
from pgrest_core.schema.snapshot import dump_snapshot, load_demo, load_snapshot


def test_dump_prints_the_snapshot_of_the_demo_database(demo_db_uri: str) -> None:
    result = CliRunner().invoke(schema, ["dump", "--db-uri", demo_db_uri, "--schemas", "public"])
    assert result.exit_code == 0, result.output
    assert load_snapshot(result.output) == load_demo()
    assert result.output == dump_snapshot(load_demo())


def test_dump_of_several_schemas(db_uri: str, pg: object) -> None:
    import psycopg

    with psycopg.connect(db_uri, autocommit=True) as conn:
        conn.execute(
            "create schema a; create schema b; create table a.x (id int primary key);"
            " create table b.y (x_id int references a.x)"
        )
    result = CliRunner().invoke(schema, ["dump", "--db-uri", db_uri, "--schemas", "a, b"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schemas"] == ["a", "b"]
    assert [(t["schema"], t["name"]) for t in data["tables"]] == [("a", "x"), ("b", "y")]
    assert {(r["source"]["name"], r["cardinality"]) for r in data["relationships"]} == {
        ("x", "one-to-many"),
        ("y", "many-to-one"),
    }


def test_unreachable_database_is_a_clean_error() -> None:
    result = CliRunner().invoke(schema, ["dump", "--db-uri", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert "could not read the schema cache" in result.output
    assert "Traceback" not in result.output


def test_schemas_must_not_be_empty() -> None:
    result = CliRunner().invoke(
        schema, ["dump", "--db-uri", "postgresql://x@127.0.0.1:1/x", "--schemas", " , "]
    )
    assert result.exit_code == 2
    assert "name at least one schema" in result.output
