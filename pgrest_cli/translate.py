"""`pgrest translate "GET /path?query"`: print the one SQL statement a request compiles to.

Where the schema comes from (at most one of):

    (nothing)            no schema cache: single-table requests translate for any table name
    --demo               the bundled film demo (the schema `pgrest serve --demo` serves)
    --schema-file FILE   a snapshot written by `pgrest schema dump`
    --db-uri URI         introspect a live database (needs psycopg: the `server` extra)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pgrest_cli.extras import DATABASE_MODULES, require
from pgrest_core.errors import PgrstError
from pgrest_core.schema.model import SchemaCache
from pgrest_core.translate import translate as translate_request

# What to say when a request needs a schema cache (an embed, a function, ...) and none was given.
SCHEMA_HINT = (
    "This request needs a schema. Give one with --schema-sql FILE (CREATE TABLE/VIEW/FUNCTION statements), "
    "--schema-file FILE (a snapshot from `pgrest schema dump`), --db-uri URI (a live database), "
    "or --demo (the bundled film demo)."
)


def _load_cache(
    demo: bool, schema_file: str | None, db_uri: str | None, schema_sql: tuple[str, ...], schema: str
) -> SchemaCache | None:
    """The schema cache from the one source given, or None when none was."""
    sources = (
        ("--demo", demo),
        ("--schema-file", schema_file),
        ("--db-uri", db_uri),
        ("--schema-sql", schema_sql),
    )
    given = [flag for flag, value in sources if value]
    if len(given) > 1:
        raise click.UsageError(f"give the schema one way, not {' and '.join(given)}")
    if schema_sql:
        return _cache_from_ddl(schema_sql, schema)
    from pgrest_core.schema.snapshot import load_demo, load_snapshot

    if demo:
        return load_demo()
    if schema_file is not None:
        return load_snapshot(Path(schema_file).read_text(encoding="utf-8"))
    if db_uri is not None:
        return _introspect(db_uri, schema)
    return None


def _introspect(db_uri: str, schema: str) -> SchemaCache:
    require(*DATABASE_MODULES, purpose="--db-uri")
    import psycopg

    from pgrest_core.runner.introspect import load_schema_cache_sync

    try:
        with psycopg.connect(db_uri) as conn:
            return load_schema_cache_sync(conn, [schema])
    except psycopg.Error as error:
        raise click.ClickException(f"could not read the schema cache: {error}") from error


def _cache_from_ddl(paths: tuple[str, ...], schema: str) -> SchemaCache:
    """The cache of DDL files/folders (a folder: its *.sql files in name order, as migrations)."""
    from pgrest_core.schema.ddl import read_ddl_files

    missing = [path for path in paths if not Path(path).exists()]
    if missing:
        raise click.BadParameter(f"no such file or folder: {', '.join(missing)}", param_hint="--schema-sql")
    result = read_ddl_files(paths, (schema,))
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return result.cache


def _pretty(text: str) -> str:
    import sqlglot  # a core dependency; imported here because only --pretty needs it

    return sqlglot.transpile(text, read="postgres", write="postgres", pretty=True)[0]


def _with_schema_hint(error: PgrstError) -> PgrstError:
    """A schema-cache error (PGRST2xx) raised without any schema: say how to give one."""
    if not error.code.startswith("PGRST2"):
        return error
    return type(error)(error.code, error.status, error.message, error.details, SCHEMA_HINT, error.headers)


@click.command()
@click.argument("request")
@click.option(
    "-H", "--header", "headers", multiple=True, help="A request header, 'Name: value' (repeatable)."
)
@click.option("-d", "--data", default=None, help="The request body.")
@click.option("--schema", "schema", default="public", show_default=True, help="The default (exposed) schema.")
@click.option("--demo", is_flag=True, help="Use the bundled film demo's schema (films, directors, actors).")
@click.option("--schema-file", default=None, help="A schema cache snapshot (from `pgrest schema dump`).")
@click.option("--db-uri", default=None, help="Introspect the schema of this live database.")
@click.option(
    "--schema-sql",
    multiple=True,
    help="DDL to read the schema from, without a database: a .sql file or a folder of them "
    "(read in name order, e.g. migrations). Repeatable.",
)
@click.option(
    "--no-schema", is_flag=True, help="No schema cache (the default without a schema): single tables only."
)
@click.option("--format", "output", type=click.Choice(["sql", "json"]), default="sql", show_default=True)
@click.option(
    "--placeholders",
    type=click.Choice(["psycopg", "dollar"]),
    default="dollar",
    show_default=True,
    help="Parameter placeholders: %s (psycopg) or $1..$n (asyncpg, PREPARE).",
)
@click.option("--pretty", is_flag=True, help="Format the SQL (with sqlglot).")
@click.option(
    "--aggregates/--no-aggregates", default=True, show_default=True, help="Allow aggregate functions."
)
def translate(
    request: str,
    headers: tuple[str, ...],
    data: str | None,
    schema: str,
    demo: bool,
    schema_file: str | None,
    db_uri: str | None,
    schema_sql: tuple[str, ...],
    no_schema: bool,
    output: str,
    placeholders: str,
    pretty: bool,
    aggregates: bool,
) -> None:
    """Print the SQL statement and parameters REQUEST compiles to.

    REQUEST is a request line, e.g. "GET /people?age=gt.18". Without a schema, requests on one
    table translate for any table name; embeds and functions need one (--schema-sql,
    --schema-file, --db-uri or --demo).
    """
    if no_schema and (demo or schema_file or db_uri or schema_sql):
        raise click.UsageError("--no-schema contradicts the schema given")
    cache = _load_cache(demo, schema_file, db_uri, schema_sql, schema)
    try:
        schemas = (schema,) if cache is None or schema in cache.schemas else (schema, *cache.schemas)
        result = translate_request(
            request,
            cache,
            headers=[_split_header(h) for h in headers],
            body=data.encode() if data is not None else None,
            schemas=schemas,
            aggregates_enabled=aggregates,
        )
    except PgrstError as error:
        click.echo((error if cache is not None else _with_schema_hint(error)).to_json(), err=True)
        sys.exit(1)
    text = result.render("psycopg" if placeholders == "psycopg" else "dollar")
    if pretty:
        text = _pretty(text)
    if output == "json":
        click.echo(json.dumps({"sql": text, "params": list(result.params)}, ensure_ascii=False, default=str))
    else:
        click.echo(text)
        click.echo("-- parameters: " + json.dumps(list(result.params), ensure_ascii=False, default=str))


def _split_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep:
        raise click.BadParameter(f"header {text!r} is not 'Name: value'")
    return name.strip(), value.strip()
