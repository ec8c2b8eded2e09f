"""The bundled demo database: a small film catalogue (demo.sql) and its schema snapshot.

`demo_sql()` is the script that creates it (used by `pgrest serve --demo` and the tests);
`pgrest_core.schema.snapshot.load_demo()` reads its committed schema cache, demo_schema.json.
"""

from __future__ import annotations

from importlib import resources

DEMO_SCHEMA = "public"
DEMO_SCHEMAS: tuple[str, ...] = (DEMO_SCHEMA,)
ANONYMOUS_ROLE = "web_anon"


def demo_sql() -> str:
    return resources.files("pgrest_core.demo").joinpath("demo.sql").read_text(encoding="utf-8")
