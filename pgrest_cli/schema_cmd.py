"""`pgrest schema dump --db-uri URI [--schemas a,b]`: print a database's schema cache snapshot.

The snapshot (JSON, see pgrest_core/schema/snapshot.py) is what `pgrest translate --schema-file`
compiles against without a database.
"""

from __future__ import annotations

from typing import TextIO

import click

from pgrest_cli.extras import DATABASE_MODULES, require


def _schema_list(text: str) -> list[str]:
    schemas = [name.strip() for name in text.split(",") if name.strip()]
    if not schemas:
        raise click.BadParameter("name at least one schema", param_hint="--schemas")
    return schemas


@click.group()
def schema() -> None:
    """Schema cache snapshots."""


@schema.command()
@click.option("--db-uri", required=True, envvar="PGRST_DB_URI", help="PostgreSQL connection URI.")
@click.option("--schemas", default="public", show_default=True, help="Exposed schemas, comma separated.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File to write to.")
def dump(db_uri: str, schemas: str, output: TextIO) -> None:
    """Introspect the database at --db-uri and print its schema cache as JSON."""
    require(*DATABASE_MODULES, purpose="pgrest schema dump")
    import psycopg  # only this subcommand needs a database driver

    from pgrest_core.runner.introspect import load_schema_cache_sync
    from pgrest_core.schema.snapshot import dump_snapshot

    exposed = _schema_list(schemas)
    try:
        with psycopg.connect(db_uri) as conn:
            cache = load_schema_cache_sync(conn, exposed)
    except psycopg.Error as error:
        raise click.ClickException(f"could not read the schema cache: {error}") from error
    output.write(dump_snapshot(cache))
