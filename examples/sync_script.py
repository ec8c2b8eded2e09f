"""A plain synchronous script: compile PostgREST requests and run them on one psycopg connection.

    python -m examples.sync_script postgresql://localhost/pgrest_demo
"""

from __future__ import annotations

import sys

import psycopg

import pgrest_core
from pgrest_core.runner.host import anonymous, run_request_sync

KUROSAWA = b'{"first_name":"Akira","last_name":"Kurosawa"}'
REQUESTS = [
    ("GET", "/films", "select=title,year&year=gt.2000&order=year&limit=3", [], None),
    ("POST", "/directors", "", [("Prefer", "return=headers-only")], KUROSAWA),
    ("GET", "/directors", "last_name=eq.Kurosawa&select=first_name", [], None),
    ("GET", "/nope", "", [], None),
]


def main(db_uri: str) -> list[pgrest_core.Response]:
    options = pgrest_core.Options(schemas=("public",))
    answers = []
    with psycopg.connect(db_uri, autocommit=True) as conn:
        cache = pgrest_core.load_schema_sync(conn, options.schemas)
        for method, path, query, headers, body in REQUESTS:
            answer = run_request_sync(
                conn, method, path, query, headers, body,
                cache=cache, options=options, auth=anonymous("web_anon"),
            )
            print(method, path, query, "->", answer.status, dict(answer.headers).get("Location", ""))
            print("   ", answer.body.decode())
            answers.append(answer)
    return answers


if __name__ == "__main__":
    main(sys.argv[1])
