"""`pgrest run "GET /films?select=title" --db-uri URI`: execute one request against a database.

Prints the HTTP response PostgREST would send (status line, headers, body), then how long each
stage took; with --explain also `EXPLAIN ANALYZE` of the main statement. For debugging and
measuring one request without starting a server.

    pgrest run "GET /films?select=title" --db-uri URI --role web_anon
    pgrest run "POST /films" -d '{"title": "Solaris"}' --db-uri URI --rollback
    pgrest run "GET /films" --db-uri URI --jwt-secret SECRET --claims '{"role": "editor"}'

Who the request runs as: the role of a JWT (`--jwt TOKEN`, or `--claims JSON` signed here with
`--jwt-secret`), else `--role`, else the user of the connection. As in PostgREST, `--role` is
the anonymous role: a token without a role claim runs as it. The exit status is 1 when the
response status is 400 or more.

--explain runs the main statement once more, first, in its own transaction (same role and
request settings) that is always rolled back; effects outside transactions (sequences) stay.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import click

from pgrest_cli.extras import RUNNER_MODULES, require

if TYPE_CHECKING:
    import psycopg

    from pgrest_core.ast import ApiRequest
    from pgrest_core.auth import Authenticator, AuthResult
    from pgrest_core.prepared import Prepared, Response, ResultRow
    from pgrest_core.runner.execute import Transaction
    from pgrest_core.schema.model import SchemaCache


@dataclass(slots=True)
class Stopwatch:
    """Milliseconds per stage, in the order the stages ran."""

    stages: list[tuple[str, float]] = field(default_factory=list)
    _last: float = field(default_factory=time.perf_counter)

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages.append((stage, (now - self._last) * 1000))
        self._last = now


@dataclass(frozen=True, slots=True)
class RunOptions:
    line: str
    db_uri: str
    schemas: tuple[str, ...]
    role: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    jwt_secret: str | None
    explain: bool
    commit: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    response: Response
    timings: tuple[tuple[str, float], ...]
    explain: tuple[str, ...] = ()


def _schema_list(text: str) -> tuple[str, ...]:
    schemas = tuple(name.strip() for name in text.split(",") if name.strip())
    if not schemas:
        raise click.BadParameter("name at least one schema", param_hint="--schema")
    return schemas


def _split_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep:
        raise click.BadParameter(f"header {text!r} is not 'Name: value'")
    return name.strip().lower(), value.strip()


def _signed_token(claims_text: str, secret: str | None) -> str:
    """A HS256 token for `--claims`, signed with the plain `--jwt-secret`."""
    import jwt

    if secret is None:
        raise click.UsageError("--claims needs --jwt-secret to sign the token")
    try:
        claims = json.loads(claims_text)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--claims") from error
    if not isinstance(claims, dict):
        raise click.BadParameter("give a JSON object", param_hint="--claims")
    return jwt.encode(claims, secret, algorithm="HS256")


@click.command()
@click.argument("request")
@click.option("--db-uri", required=True, envvar="PGRST_DB_URI", help="PostgreSQL connection URI.")
@click.option(
    "--schema", "schemas", default="public", show_default=True,
    help="Exposed schemas, comma separated; the first is the default.",
)
@click.option(
    "--role", default=None, help="Run as this role (the anonymous role). Default: the connection's user."
)
@click.option("--jwt", "token", default=None, help="Authenticate with this JWT (needs --jwt-secret).")
@click.option("--jwt-secret", default=None, help="The JWT secret (as jwt-secret in PostgREST's config).")
@click.option("--claims", default=None, help="JSON claims of a token to sign with --jwt-secret.")
@click.option(
    "-H", "--header", "headers", multiple=True, help="A request header, 'Name: value' (repeatable)."
)
@click.option("-d", "--data", default=None, help="The request body.")
@click.option("--explain", is_flag=True, help="Also print EXPLAIN ANALYZE of the main statement.")
@click.option("--rollback", is_flag=True, help="End the transaction with ROLLBACK instead of COMMIT.")
def run(
    request: str,
    db_uri: str,
    schemas: str,
    role: str | None,
    token: str | None,
    jwt_secret: str | None,
    claims: str | None,
    headers: tuple[str, ...],
    data: str | None,
    explain: bool,
    rollback: bool,
) -> None:
    """Execute REQUEST against the database and print the HTTP response and timings."""
    require(*RUNNER_MODULES, purpose="pgrest run")
    if token is not None and claims is not None:
        raise click.UsageError("give --jwt or --claims, not both")
    parsed_headers = [_split_header(h) for h in headers]
    if claims is not None:
        token = _signed_token(claims, jwt_secret)
    if token is not None:
        parsed_headers.append(("authorization", "Bearer " + token))
    options = RunOptions(
        line=request,
        db_uri=db_uri,
        schemas=_schema_list(schemas),
        role=role,
        headers=tuple(parsed_headers),
        body=data.encode() if data is not None else None,
        jwt_secret=jwt_secret,
        explain=explain,
        commit=not rollback,
    )
    outcome = asyncio.run(_run(options))
    click.echo(format_response(outcome.response))
    click.echo("")
    for stage, ms in outcome.timings:
        click.echo(f"-- {stage}: {ms:.2f} ms")
    if outcome.explain:
        click.echo("-- EXPLAIN ANALYZE of the main statement:")
        for line in outcome.explain:
            click.echo(line)
    if outcome.response.status >= 400:
        sys.exit(1)


def format_response(response: Response) -> str:
    """The response as on the wire (HTTP/1.1 status line, headers, blank line, body)."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {response.status} {reason}".rstrip()]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    return "\n".join(lines) + "\n\n" + response.body.decode("utf-8", errors="replace")


_STAGE_MODULES = (
    "pgrest_core.auth",
    "pgrest_core.pipeline",
    "pgrest_core.request.api_request",
    "pgrest_core.runner.errors",
    "pgrest_core.runner.execute",
    "pgrest_core.sql.prelude",
    "pgrest_server.app",
)


async def _run(options: RunOptions) -> Outcome:
    import psycopg

    from pgrest_core.runner.introspect import load_schema_cache

    for module in _STAGE_MODULES:  # loaded up front, so that no stage's time includes an import
        importlib.import_module(module)

    watch = Stopwatch()
    try:
        conn = await psycopg.AsyncConnection.connect(options.db_uri, autocommit=True)
    except psycopg.Error as error:
        raise click.ClickException(f"could not connect to the database: {error}") from error
    async with conn:
        watch.mark("connect")
        try:
            cache = await load_schema_cache(conn, options.schemas)
        except psycopg.Error as error:
            raise click.ClickException(f"could not read the schema cache: {error}") from error
        watch.mark("schema cache")
        return await _request(conn, cache, options, watch)


async def _request(
    conn: psycopg.AsyncConnection[Any], cache: SchemaCache, options: RunOptions, watch: Stopwatch
) -> Outcome:
    """Authenticate, parse, plan+compile, execute and respond; a PgrstError is the response."""
    from pgrest_core.errors import PgrstError
    from pgrest_core.pipeline import Options, prepare, respond
    from pgrest_core.request.api_request import parse_request
    from pgrest_core.translate import split_request_line

    explain: tuple[str, ...] = ()
    try:
        auth = _authenticator(options, conn.info.user).authenticate(_header(options.headers, "authorization"))
        watch.mark("jwt")
        method, path, query = split_request_line(options.line)
        request = parse_request(method, path, query, options.headers, options.body, schemas=options.schemas)
        watch.mark("parse")
        # prepare() plans and compiles in one pass (pipeline.py), so the two are timed together.
        prepared = prepare(request, cache, Options(schemas=options.schemas))
        watch.mark("plan+compile")
        transaction = _transaction(request, path, auth, prepared.read_only, options)
        if options.explain and prepared.recipe.body_format == "plan":
            raise click.UsageError("--explain: this request asks for its plan already (Accept: …pgrst.plan)")
        if options.explain:
            explain = await _explain(conn, prepared, transaction, auth.authenticated)
            watch.mark("explain analyze")
        row = await _execute(conn, prepared, transaction, auth.authenticated)
        watch.mark("execute")
        response = respond(prepared, row)
        watch.mark("respond")
    except PgrstError as error:
        from pgrest_core.response import error_response

        response = error_response(error)
    return Outcome(response, tuple(watch.stages), explain)


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((value for key, value in headers if key == name), None)


def _authenticator(options: RunOptions, connection_user: str) -> Authenticator:
    from pgrest_core.auth import Authenticator, parse_jwt_keys
    from pgrest_core.config import DEFAULT_ROLE_CLAIM_KEY, ConfigError

    try:
        keys = parse_jwt_keys(options.jwt_secret) if options.jwt_secret is not None else None
    except ConfigError as error:
        raise click.BadParameter(str(error), param_hint="--jwt-secret") from error
    return Authenticator(keys, options.role or connection_user, None, DEFAULT_ROLE_CLAIM_KEY)




# -- the transaction ----------------------------------------------------------------------------
# A self-contained use of runner/execute.py, like pgrest_server/app.py's `_transaction`.
# TODO(merge): switch to the host-facing runner helper of pgrest_core/runner/host.py once it lands.


def _transaction(
    request: ApiRequest, path: str, auth: AuthResult, read_only: bool, options: RunOptions
) -> Transaction:
    from pgrest_core.runner.execute import Transaction
    from pgrest_core.sql.prelude import RequestContext, prelude

    claims = dict(auth.claims) if auth.authenticated or auth.claims else {"role": auth.role}
    context = RequestContext(
        schema=request.schema or options.schemas[0],
        role=auth.role,
        claims=claims,
        method=request.method,
        path=path,
        headers=request.headers,
        cookies=request.cookies,
        extra=(("transaction_read_only", "on"),) if read_only else (),
    )
    return Transaction(prelude=prelude(context), commit=options.commit, prelude_sets_read_only=read_only)


async def _execute(
    conn: psycopg.AsyncConnection[Any], prepared: Prepared, transaction: Transaction, authenticated: bool
) -> ResultRow:
    from pgrest_core.pipeline import respond
    from pgrest_core.runner.errors import from_exception
    from pgrest_core.runner.execute import execute

    # Writes build their response before COMMIT: a response that fails rolls them back.
    check = (lambda row: respond(prepared, row)) if prepared.check_before_commit else None
    try:
        return await execute(conn, prepared, transaction, check=check)
    except Exception as error:
        mapped = from_exception(error, authenticated=authenticated)
        if mapped is None:
            raise
        raise mapped from error


async def _explain(
    conn: psycopg.AsyncConnection[Any], prepared: Prepared, transaction: Transaction, authenticated: bool
) -> tuple[str, ...]:
    """EXPLAIN ANALYZE of the main statement, as the request's role, in a transaction rolled back."""
    from pgrest_core.fragment import sql
    from pgrest_core.runner.errors import from_exception
    from pgrest_core.runner.execute import begin_statement

    statement = sql("EXPLAIN (ANALYZE, BUFFERS) ") + prepared.statement
    try:
        await conn.execute(begin_statement(prepared.read_only))
        try:
            await conn.execute(transaction.prelude.render("psycopg"), transaction.prelude.params)
            cursor = await conn.execute(statement.render("psycopg"), statement.params)
            return tuple(str(row[0]) for row in await cursor.fetchall())
        finally:
            await conn.execute("ROLLBACK")
    except Exception as error:
        mapped = from_exception(error, authenticated=authenticated)
        if mapped is None:
            raise
        raise mapped from error
