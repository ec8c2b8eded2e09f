"""The `pgrest` command: a click group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from pgrest_core import __version__


@click.group()
@click.version_option(__version__, prog_name="pgrest")
def cli() -> None:
    """pgrest: PostgREST's API as a Python compiler library."""


def _register() -> None:
    # Each subcommand module imports only what it needs; serve pulls in the runner lazily.
    from pgrest_cli.run_cmd import run
    from pgrest_cli.schema_cmd import schema
    from pgrest_cli.serve import serve
    from pgrest_cli.translate import translate

    cli.add_command(translate)
    cli.add_command(serve)
    cli.add_command(schema)
    cli.add_command(run)


_register()
