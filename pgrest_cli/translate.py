"""`pgrest translate "GET /path?query"`: print the one SQL statement a request compiles to."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pgrest_core.errors import PgrstError
from pgrest_core.schema.model import SchemaCache
from pgrest_core.translate import translate as translate_request


def _load_cache(
    schema_file: str | None, no_schema: bool, schema_sql: tuple[str, ...] = (), schema: str = "public"
) -> SchemaCache | None:
    if no_schema:
        return None
    if schema_sql:
        if schema_file is not None:
            raise click.UsageError("give either --schema-sql or --schema-file, not both")
        return _cache_from_ddl(schema_sql, schema)
    from pgrest_core.schema.snapshot import load_demo, load_snapshot

    if schema_file is None:
        return load_demo()
    return load_snapshot(Path(schema_file).read_text(encoding="utf-8"))


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
    try:
        import sqlglot
    except ImportError:  # sqlglot is a dev dependency; without it print the SQL as is
        return text
    return sqlglot.transpile(text, read="postgres", write="postgres", pretty=True)[0]


@click.command()
@click.argument("request")
@click.option(
    "-H", "--header", "headers", multiple=True, help="A request header, 'Name: value' (repeatable)."
)
@click.option("-d", "--data", default=None, help="The request body.")
@click.option("--schema", "schema", default="public", show_default=True, help="The default (exposed) schema.")
@click.option("--schema-file", default=None, help="A schema cache snapshot (from `pgrest schema dump`).")
@click.option(
    "--schema-sql",
    multiple=True,
    help="DDL to read the schema from, without a database: a .sql file or a folder of them "
    "(read in name order, e.g. migrations). Repeatable.",
)
@click.option("--no-schema", is_flag=True, help="Translate without a schema cache (single tables only).")
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
    schema_file: str | None,
    schema_sql: tuple[str, ...],
    no_schema: bool,
    output: str,
    placeholders: str,
    pretty: bool,
    aggregates: bool,
) -> None:
    """Print the SQL and parameters for REQUEST, e.g. "GET /films?select=title&year=gt.2000".

    Without --schema-file the bundled demo database's schema is used (see `pgrest serve --demo`).
    """
    try:
        cache = _load_cache(schema_file, no_schema, schema_sql, schema)
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
        click.echo(error.to_json(), err=True)
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
