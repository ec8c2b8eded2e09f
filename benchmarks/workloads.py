"""The database workloads B2 and B3 share: one request each, over the benchmark database."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Workload:
    key: str
    title: str
    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


SINGLE_ROW = Workload("single_row", "single row by primary key", "GET", "/films", "id=eq.3")
PAGE_100 = Workload(
    "page_100", "100-row page", "GET", "/films", "select=id,title,year,rating&order=id&limit=100"
)
TWO_LEVEL_EMBED = Workload(
    "two_level_embed",
    "two-level embed (25 films)",
    "GET",
    "/films",
    "select=title,directors(first_name,last_name),roles(character,actors(first_name))&order=id&limit=25",
)
INSERT_RETURNING = Workload(
    "insert_returning",
    "insert returning representation (rolled back)",
    "POST",
    "/films",
    headers=(
        ("content-type", "application/json"),
        ("prefer", "return=representation"),
        ("prefer", "tx=rollback"),
    ),
    body=b'{"title":"Bench insert","year":2024,"genre":"drama","rating":7.5,"language":"English"}',
)

RPC_CALL = Workload(
    "rpc",
    "RPC call (search_films)",
    "POST",
    "/rpc/search_films",
    headers=(("content-type", "application/json"),),
    body=b'{"q":"Dune"}',
)

READS = (SINGLE_ROW, PAGE_100, TWO_LEVEL_EMBED)
ALL = (*READS, INSERT_RETURNING, RPC_CALL)
# B3's routes: the ones issue 10 names (single row, two-level embed, 100-row page, insert, RPC).
HTTP_ROUTES = (SINGLE_ROW, TWO_LEVEL_EMBED, PAGE_100, INSERT_RETURNING, RPC_CALL)
