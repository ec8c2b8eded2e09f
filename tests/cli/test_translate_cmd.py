"""`pgrest translate`: the first run with no schema, each way to give one, and install hints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgrest_cli.main import cli
from pgrest_core.schema.snapshot import dump_snapshot, load_demo

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["translate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_design_cards_example_works_with_no_schema() -> None:
    code, out, _ = _run("GET /people?age=gt.18")
    assert code == 0
    assert 'FROM "public"."people" AS "people" WHERE "people"."age" > $1' in out
    assert out.endswith('-- parameters: ["18"]\n')


@pytest.mark.parametrize("line", ["GET /anything?select=a,b&b=eq.1", "POST /whatever", "DELETE /t?id=eq.1"])
def test_any_table_name_translates_without_a_schema(line: str) -> None:
    code, out, err = _run(line, "-d", '{"a": 1}') if line.startswith("POST") else _run(line)
    assert code == 0, err


def test_an_embed_without_a_schema_names_every_way_to_give_one() -> None:
    code, out, err = _run("GET /people?select=name,pets(name)")
    assert code == 1 and out == ""
    error = json.loads(err)
    assert error["code"] == "PGRST200"
    for way in ("--schema-sql", "--schema-file", "--db-uri", "--demo"):
        assert way in error["hint"]


def test_a_function_without_a_schema_gets_the_hint_too() -> None:
    code, _, err = _run("GET /rpc/add?a=1")
    assert code == 1
    assert "--schema-file" in json.loads(err)["hint"]


def test_the_demo_is_one_flag_away() -> None:
    line = "GET /films?select=title,directors(last_name)"
    assert _run(line, "--demo")[0] == 0
    assert _run(line)[0] == 1


def test_errors_with_a_schema_keep_their_own_hint() -> None:
    code, _, err = _run("GET /flims", "--demo")
    assert code == 1
    assert json.loads(err)["code"] == "PGRST205"
    assert "--schema-sql" not in err


def test_schema_file(tmp_path: Path) -> None:
    snapshot = tmp_path / "schema.json"
    snapshot.write_text(dump_snapshot(load_demo()))
    code, out, _ = _run("GET /films?select=title,actors(last_name)", "--schema-file", str(snapshot))
    assert code == 0 and '"public"."actors"' in out


def test_one_schema_source_at_a_time(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["translate", "GET /films", "--demo", "--db-uri", "postgresql://x"])
    assert result.exit_code == 2
    assert "--demo and --db-uri" in result.output
    result = CliRunner().invoke(cli, ["translate", "GET /films", "--demo", "--no-schema"])
    assert result.exit_code == 2


def test_db_uri_introspects_a_live_database(db_uri: str) -> None:
    import psycopg

    with psycopg.connect(db_uri, autocommit=True) as conn:
        conn.execute(
            "create table owners (id int primary key, name text);"
            " create table pets (id int primary key, name text, owner_id int references owners)"
        )
    code, out, err = _run("GET /owners?select=name,pets(name)", "--db-uri", db_uri)
    assert code == 0, err
    assert '"public"."pets"' in out and '"pets"."owner_id" = "owners"."id"' in out


def test_db_uri_unreachable_is_a_clean_error() -> None:
    result = CliRunner().invoke(cli, ["translate", "GET /x", "--db-uri", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert "could not read the schema cache" in result.output


def test_pretty_formats() -> None:
    code, out, _ = _run("GET /people?select=name&age=gt.18", "--pretty")
    assert code == 0
    assert out.startswith("WITH pgrst_source AS (\n  SELECT\n")


# -- missing extras: simulated by making `import psycopg` fail -----------------------------------


@pytest.fixture
def without_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import psycopg` raise ModuleNotFoundError.
    monkeypatch.setitem(sys.modules, "psycopg", None)


@pytest.mark.usefixtures("without_psycopg")
@pytest.mark.parametrize(
    "args",
    [
        ["translate", "GET /films", "--db-uri", "postgresql://x@127.0.0.1:1/x"],
        ["schema", "dump", "--db-uri", "postgresql://x@127.0.0.1:1/x"],
        ["serve", "--demo"],
        ["run", "GET /films", "--db-uri", "postgresql://x@127.0.0.1:1/x"],
    ],
)
def test_missing_psycopg_gives_an_install_hint(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert 'pip install "pgrest-compiler[server]"' in result.output
    assert "psycopg" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_psycopg_in_a_fresh_process() -> None:
    """As after `pip install pgrest-compiler` without extras: no traceback, exit status 1."""
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from pgrest_cli.main import cli\n"
        "cli(['serve', '--demo'], prog_name='pgrest')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert 'pip install "pgrest-compiler[server]"' in done.stderr
