"""The benchmarks' throwaway PostgreSQL: the demo schema with enough rows for a 100-row page."""

from __future__ import annotations

from dataclasses import dataclass

from pgrest_core import demo
from pgrest_server.postgres import TempPostgres

DATABASE = "pgrest_bench"

# 1000 more films (by the demo's four directors) and a cast for each, so pages and embeds
# return realistic amounts of JSON.
EXTRA_ROWS_SQL = """
INSERT INTO films (director_id, title, year, genre, rating, language)
SELECT 1 + n % 4, 'Bench film ' || n, 1950 + n % 75,
       (ARRAY['drama', 'comedy', 'science fiction', 'animation', 'documentary'])[1 + n % 5]::genre,
       (n % 100) / 10.0, CASE WHEN n % 3 = 0 THEN 'French' ELSE 'English' END
FROM generate_series(1, 1000) AS n;
INSERT INTO roles (film_id, actor_id, character)
SELECT f.id, 1 + (f.id + k) % 6, 'Role ' || k
FROM films AS f, generate_series(0, 1) AS k
WHERE f.title LIKE 'Bench film %';
ANALYZE;
"""


@dataclass(slots=True)
class BenchDatabase:
    postgres: TempPostgres
    uri: str
    server_version: str

    def stop(self) -> None:
        self.postgres.stop()


def start() -> BenchDatabase:
    """Start a throwaway cluster and create the benchmark database in it."""
    import psycopg

    postgres = TempPostgres().start()
    try:
        uri = postgres.create_database(DATABASE, sql_text=demo.demo_sql() + EXTRA_ROWS_SQL)
        with psycopg.connect(uri) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        version = str(row[0]) if row else "unknown"
    except BaseException:
        postgres.stop()
        raise
    return BenchDatabase(postgres, uri, version)
