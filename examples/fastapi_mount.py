"""The whole PostgREST-compatible server (pgrest_server) mounted under /api in a FastAPI app.

No extra calls: the mounted app starts itself (connection pool, schema cache) on its first
request, since Starlette does not run a mounted app's lifespan. It takes the /api prefix from
the ASGI root_path, so Location, Content-Location and the OpenAPI document carry it.

    uvicorn --factory examples.fastapi_mount:create_app   # with PGREST_DB_URI set
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.routing import Mount

from pgrest_core import Settings
from pgrest_server.app import create_app as create_pgrest


def create_app(db_uri: str | None = None, anon_role: str = "web_anon") -> FastAPI:
    settings = Settings(db_uri=db_uri or os.environ["PGREST_DB_URI"], db_anon_role=anon_role)
    app = FastAPI(routes=[Mount("/api", app=create_pgrest(settings))])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
