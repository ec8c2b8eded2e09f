"""B3's baseline: a minimal hand-written Starlette + psycopg-pool app serving pgrest's SQL.

Each route runs the very statement pgrest emits for the same request (the texts come from a
JSON file written by the benchmark), taking its values from the query string the way a
hand-written endpoint would, and returns the JSON body the database built.

    python -m benchmarks.b3_baseline_app --statements FILE --db-uri URI --port N [--pool 10]

Served by uvicorn with the same settings `pgrest serve` uses (one worker, no access log).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

BODY_COLUMN = 2


def build_app(statements: dict[str, str], db_uri: str, pool_size: int) -> Any:
    from psycopg_pool import AsyncConnectionPool
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    pool = AsyncConnectionPool(
        db_uri, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=False
    )

    async def answer(sql_text: str, params: tuple[object, ...]) -> Response:
        async with pool.connection() as conn:
            cursor = await conn.execute(sql_text, params, prepare=True)
            row = await cursor.fetchone()
        body = row[BODY_COLUMN] if row else "[]"
        return Response(body.encode(), media_type="application/json; charset=utf-8")

    async def single_row(request: Request) -> Response:
        # /films?id=eq.3
        value = request.query_params.get("id", "")
        if not value.startswith("eq."):
            return Response(b'{"message":"id=eq.<value> expected"}', status_code=400)
        return await answer(statements["single_row"], (value[3:],))

    async def page_100(request: Request) -> Response:
        # /films?select=id,title,year,rating&order=id&limit=100
        return await answer(statements["page_100"], (int(request.query_params.get("limit", "100")),))

    async def two_level_embed(request: Request) -> Response:
        # /films?select=title,directors(…),roles(character,actors(first_name))&order=id&limit=25
        return await answer(statements["two_level_embed"], (int(request.query_params.get("limit", "25")),))

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
    args = parser.parse_args()
    statements = json.loads(args.statements.read_text(encoding="utf-8"))
    app = build_app(statements, args.db_uri, args.pool)
    # The same uvicorn settings as pgrest_cli/serve.py's run_server.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        server_header=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
