"""B3's baseline: a hand-written Starlette + psycopg-pool app serving pgrest's SQL.

Each route runs the very statement pgrest emits for the same request (the texts come from a
JSON file written by the benchmark), taking its values from the request the way a hand-written
endpoint would, and returns the JSON body the database built. Like pgrest, each request is one
transaction as the anonymous role, written the way a psycopg user writes it:

    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE web_anon")
        row = await (await conn.execute(statement, params, prepare=True)).fetchone()

The insert route rolls its transaction back (as pgrest does for `Prefer: tx=rollback`).

    python -m benchmarks.b3_baseline_app --statements FILE --db-uri URI --port N [--pool 10]

Served by uvicorn with the settings `pgrest serve` uses (one worker, no access log, uvloop and
httptools).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

BODY_COLUMN = 2
ROLE = "web_anon"
STACK = "uvicorn + uvloop + httptools, Starlette, psycopg-pool (psycopg 3, prepare=True)"


def build_app(statements: dict[str, str], db_uri: str, pool_size: int) -> Any:
    from psycopg_pool import AsyncConnectionPool
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    pool = AsyncConnectionPool(
        db_uri, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=False
    )

    async def answer(
        key: str, params: tuple[object, ...], *, status: int = 200, rollback: bool = False
    ) -> Response:
        async with pool.connection() as conn, conn.transaction(force_rollback=rollback):
            await conn.execute("SET LOCAL ROLE " + ROLE)
            cursor = await conn.execute(statements[key], params, prepare=True)
            row = await cursor.fetchone()
        body = row[BODY_COLUMN] if row else "[]"
        return Response(body.encode(), status_code=status, media_type="application/json; charset=utf-8")

    def bad_request(message: str) -> Response:
        return Response(json.dumps({"message": message}).encode(), status_code=400)

    async def single_row(request: Request) -> Response:
        # /films?id=eq.3
        value = request.query_params.get("id", "")
        if not value.startswith("eq."):
            return bad_request("id=eq.<value> expected")
        return await answer("single_row", (value[3:],))

    async def page_100(request: Request) -> Response:
        # /films?select=id,title,year,rating&order=id&limit=100
        return await answer("page_100", (int(request.query_params.get("limit", "100")),))

    async def two_level_embed(request: Request) -> Response:
        # /films?select=title,directors(…),roles(character,actors(first_name))&order=id&limit=25
        return await answer("two_level_embed", (int(request.query_params.get("limit", "25")),))

    async def insert_returning(request: Request) -> Response:
        # POST /films, one JSON object, return=representation, rolled back
        try:
            document = json.loads(await request.body())
        except ValueError:
            return bad_request("invalid JSON")
        rows = document if isinstance(document, list) else [document]
        return await answer("insert_returning", (json.dumps(rows),), status=201, rollback=True)

    async def rpc(request: Request) -> Response:
        # POST /rpc/search_films {"q": "…"}
        try:
            document = json.loads(await request.body())
        except ValueError:
            return bad_request("invalid JSON")
        return await answer("rpc", (str(document.get("q", "")),))

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await pool.open(wait=True)
        yield
        await pool.close()

    return Starlette(
        routes=[
            Route("/single_row", single_row),
            Route("/page_100", page_100),
            Route("/two_level_embed", two_level_embed),
            Route("/insert_returning", insert_returning, methods=["POST"]),
            Route("/rpc", rpc, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", required=True, type=Path)
    parser.add_argument("--db-uri", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="processes (each with its own pool)")
    args = parser.parse_args()
    # The same uvicorn settings as pgrest_server/run.py's run_server.
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "log_level": "warning",
        "lifespan": "on",
        "access_log": False,
        "server_header": False,
        "loop": "uvloop",
        "http": "httptools",
    }
    os.environ[_ARGS_ENV] = json.dumps([str(args.statements), args.db_uri, args.pool])
    if args.workers > 1:  # worker processes import the app through the factory below
        uvicorn.run("benchmarks.b3_baseline_app:app_from_env", factory=True, workers=args.workers, **settings)
    else:
        uvicorn.Server(uvicorn.Config(app_from_env(), **settings)).run()


_ARGS_ENV = "PGREST_BENCH_BASELINE_ARGS"


def app_from_env() -> Any:
    """The app for this process, from the arguments the parent process left in the environment."""
    statements_file, db_uri, pool = json.loads(os.environ[_ARGS_ENV])
    statements = json.loads(Path(statements_file).read_text(encoding="utf-8"))
    return build_app(statements, db_uri, int(pool))


if __name__ == "__main__":
    main()
