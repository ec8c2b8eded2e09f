"""Optional dependencies: a command that needs one which is missing says how to install it.

The core (`pgrest translate` offline) needs only click, pyjwt and sqlglot; talking to a
database needs psycopg, serving needs uvicorn too. Both come with the `server` extra.
"""

from __future__ import annotations

import importlib

import click

SERVER_EXTRA = 'pip install "pgrest-compiler[server]"'


def require(*modules: str, purpose: str) -> None:
    """Import `modules` now; if one is missing, stop with an install hint (exit status 1).

    `purpose` completes the sentence "… needs <module>", e.g. "--db-uri".
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise click.ClickException(
                f"{purpose} needs the Python package '{name}', which is not installed ({error}).\n"
                f"Install it with: {SERVER_EXTRA}"
            ) from error


DATABASE_MODULES = ("psycopg",)
RUNNER_MODULES = ("psycopg", "psycopg_pool")
SERVER_MODULES = ("psycopg", "psycopg_pool", "uvicorn")
