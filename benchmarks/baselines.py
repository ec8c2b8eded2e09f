"""The hand-written baselines B1 compares against, for the simple `/films` requests.

(a) `floor_films`: `urllib.parse` + f-strings with identifier quoting and a column whitelist —
    the least work that still validates input and produces the same statement as pgrest
    (text and parameters identical, checked by the benchmark).
(b) `sqlalchemy_films`: SQLAlchemy Core, the statement built fresh per request with
    `select().where().order_by().limit()`, wrapped in the same CTE + JSON aggregate, and
    compiled for the PostgreSQL dialect. Table metadata and the dialect are made once, as
    an application would at import time.

Both handle the query parameters the simple cases use: `select`, `order`, `limit`, `offset`
and `column=op.value` filters with eq/neq/gt/gte/lt/lte.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

FILMS_COLUMNS = frozenset(
    ("id", "director_id", "title", "year", "genre", "rating", "language", "sequel_of", "title_upper")
)
OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

# The outer SELECT of pgrest's wrapper statement (no count requested), as a hand-written app
# returning the same JSON body would write it.
WRAPPER_TAIL = (
    " SELECT NULL::bigint AS total_count, pg_catalog.count(_pgrst_t) AS page_count,"
    " coalesce(json_agg(_pgrst_t), '[]')::text AS body,"
    " nullif(current_setting('response.headers', true), '') AS response_headers,"
    " nullif(current_setting('response.status', true), '') AS response_status"
    " FROM pgrst_source AS _pgrst_t"
)


class BadRequest(ValueError):
    """What a hand-written endpoint answers 400 with."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column(name: str) -> str:
    if name not in FILMS_COLUMNS:
        raise BadRequest(f"unknown column {name!r}")
    return '"films".' + quote(name)


def floor_films(query_string: str) -> tuple[str, tuple[object, ...]]:
    """(a) The statement for GET /films?<query_string>, by hand."""
    columns = '"films".*'
    where: list[str] = []
    params: list[object] = []
    order = ""
    limit = offset = None
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key == "select":
            columns = ", ".join(f"{_column(name)} AS {quote(name)}" for name in value.split(","))
        elif key == "order":
            terms = []
            for term in value.split(","):
                name, _, direction = term.partition(".")
                terms.append(_column(name) + {"": "", "asc": " ASC", "desc": " DESC"}[direction])
            order = " ORDER BY " + ", ".join(terms)
        elif key == "limit":
            limit = int(value)
        elif key == "offset":
            offset = int(value)
        else:
            op, _, operand = value.partition(".")
            if op not in OPERATORS:
                raise BadRequest(f"unknown operator {op!r}")
            where.append(f"{_column(key)} {OPERATORS[op]} %s")
            params.append(operand)
    text = f'WITH pgrst_source AS (SELECT {columns} FROM "public"."films" AS "films"'
    if where:
        text += " WHERE " + " AND ".join(where)
    text += order
    if limit is not None:
        text += " LIMIT %s"
        params.append(limit)
    if offset is not None:
        text += " OFFSET %s"
        params.append(offset)
    return text + ")" + WRAPPER_TAIL, tuple(params)


class SqlAlchemyFilms:
    """(b) The same statement with SQLAlchemy Core (imported lazily: a dev-only dependency)."""

    def __init__(self) -> None:
        import sqlalchemy as sa
        from sqlalchemy.dialects import postgresql

        self.sa = sa
        self.dialect: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
        metadata = sa.MetaData(schema="public")
        self.films = sa.Table(
            "films",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("director_id", sa.Integer),
            sa.Column("title", sa.String(200)),
            sa.Column("year", sa.Integer),
            sa.Column("genre", sa.Text),
            sa.Column("rating", sa.Numeric(3, 1)),
            sa.Column("language", sa.Text),
            sa.Column("sequel_of", sa.Integer),
            sa.Column("title_upper", sa.Text),
        )
        self.comparisons = {
            "eq": lambda c, v: c == v,
            "neq": lambda c, v: c != v,
            "gt": lambda c, v: c > v,
            "gte": lambda c, v: c >= v,
            "lt": lambda c, v: c < v,
            "lte": lambda c, v: c <= v,
        }
        # Constant SQL pieces of the wrapper, written as text exactly as pgrest writes them.
        self.no_count: Any = sa.literal_column("NULL::bigint")
        self.empty_array: Any = sa.literal_column("'[]'")
        self.headers_setting: Any = sa.literal_column("nullif(current_setting('response.headers', true), '')")
        self.status_setting: Any = sa.literal_column("nullif(current_setting('response.status', true), '')")

    def _column(self, name: str) -> Any:
        if name not in FILMS_COLUMNS:
            raise BadRequest(f"unknown column {name!r}")
        return self.films.c[name]

    def __call__(self, query_string: str) -> tuple[str, dict[str, Any]]:
        sa = self.sa
        statement = sa.select(self.films)
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            if key == "select":
                statement = statement.with_only_columns(*(self._column(n) for n in value.split(",")))
            elif key == "order":
                for term in value.split(","):
                    name, _, direction = term.partition(".")
                    column = self._column(name)
                    statement = statement.order_by(column.desc() if direction == "desc" else column)
            elif key == "limit":
                statement = statement.limit(int(value))
            elif key == "offset":
                statement = statement.offset(int(value))
            else:
                op, _, operand = value.partition(".")
                if op not in self.comparisons:
                    raise BadRequest(f"unknown operator {op!r}")
                column = self._column(key)
                # The value bound with the column's type, as SQLAlchemy users do (else it is VARCHAR).
                value_param = sa.bindparam(None, operand, type_=column.type)
                statement = statement.where(self.comparisons[op](column, value_param))
        source = statement.cte("pgrst_source")
        row = sa.literal_column("_pgrst_t")
        wrapper = sa.select(
            self.no_count.label("total_count"),
            sa.func.pg_catalog.count(row).label("page_count"),
            sa.cast(sa.func.coalesce(sa.func.json_agg(row), self.empty_array), sa.Text).label("body"),
            self.headers_setting.label("response_headers"),
            self.status_setting.label("response_status"),
        ).select_from(source.alias("_pgrst_t"))
        compiled = wrapper.compile(dialect=self.dialect)
        return str(compiled), compiled.params
