"""A Flask view serving PostgREST's API under /rest with the synchronous host runner.

    flask --app "examples.flask_view:create_app()" run   # with PGREST_DB_URI set
"""

from __future__ import annotations

import os

from flask import Flask, request
from flask import Response as HttpResponse
from psycopg_pool import ConnectionPool

import pgrest_core
from pgrest_core.runner.host import anonymous, run_request_sync

METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]


class Answer(HttpResponse):
    default_mimetype = None  # pgrest says when there is a Content-Type (a 204 has none)


def create_app(db_uri: str | None = None, anon_role: str = "web_anon") -> Flask:
    db_uri = db_uri or os.environ["PGREST_DB_URI"]
    options = pgrest_core.Options(schemas=("public",), base_path="/rest")
    pool = ConnectionPool(db_uri, kwargs={"autocommit": True}, open=True)
    cache = pgrest_core.load_schema_sync(db_uri, options.schemas)
    app = Flask(__name__)
    app.extensions["pgrest_pool"] = pool  # close it with the app: pool.close()

    @app.route("/rest/", defaults={"path": ""}, methods=METHODS)
    @app.route("/rest/<path:path>", methods=METHODS)
    def rest(path: str) -> HttpResponse:
        with pool.connection() as conn:
            answer = run_request_sync(
                conn,
                request.method,
                "/" + path,
                request.query_string,
                list(request.headers.items()),
                request.get_data() or None,
                cache=cache,
                options=options,
                auth=anonymous(anon_role),
            )
        return Answer(answer.body, status=answer.status, headers=list(answer.headers))

    return app
