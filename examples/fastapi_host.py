"""FastAPI serving PostgREST's API under /rest through the host runner (pgrest_core.runner.host).

Your app owns the connection pool and the routes; pgrest parses, compiles and runs each
request in PostgREST's transaction and hands back a `Response`.

    uvicorn --factory examples.fastapi_host:create_app   # with PGREST_DB_URI set
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi import Response as HttpResponse
from psycopg_pool import AsyncConnectionPool

import pgrest_core
from pgrest_core.runner.host import anonymous, run_request

METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]


def create_app(db_uri: str | None = None, anon_role: str = "web_anon") -> FastAPI:
    db_uri = db_uri or os.environ["PGREST_DB_URI"]
    options = pgrest_core.Options(schemas=("public",), base_path="/rest")
    pool = AsyncConnectionPool(db_uri, kwargs={"autocommit": True}, open=False)
    caches: list[pgrest_core.SchemaCache] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        async with pool.connection() as conn:
            caches.append(await pgrest_core.load_schema(conn, options.schemas))
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.api_route("/rest/{path:path}", methods=METHODS)
    async def rest(path: str, request: Request) -> HttpResponse:
        async with pool.connection() as conn:
            answer = await run_request(
                conn,
                request.method,
                "/" + path,
                request.scope["query_string"],
                list(request.headers.items()),
                await request.body() or None,
                cache=caches[-1],
                options=options,
                auth=anonymous(anon_role),
            )
        return to_http(answer)

    return app


def to_http(answer: pgrest_core.Response) -> HttpResponse:
    """pgrest's Response as Starlette's (headers kept in order, repeated names too)."""
    response = HttpResponse(content=answer.body, status_code=answer.status)
    for name, value in answer.headers:
        response.headers.append(name, value)
    return response
