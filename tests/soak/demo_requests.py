"""Generated requests for the demo database (pgrest_core/demo/demo.sql), drawn from a seeded RNG.

Reads with filters, embeds, orders, pagination and other media types; writes that roll back
(`Prefer: tx=rollback`, with explicit ids so no identity sequence advances); RPC; the root
OpenAPI document; OPTIONS; and requests that fail in the parser, the planner or PostgreSQL.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from urllib.parse import quote

from tests.soak.harness import Request

ROLLBACK = ("Prefer", "tx=rollback")

_COLUMNS = {
    "films": ("id", "director_id", "title", "year", "genre", "rating", "language", "sequel_of", "title_upper"),
    "directors": ("id", "first_name", "last_name"),
    "actors": ("id", "first_name", "last_name"),
    "roles": ("film_id", "actor_id", "character"),
    "film_details": ("film_id", "budget_usd", "tagline"),
    "recent_films": ("id", "title", "year", "director_id", "rating"),
}
_EMBEDS = {
    "films": ("directors(first_name,last_name)", "roles(character,actors(last_name))", "actors(*)",
              "film_details(*)", "lead_actor(first_name)", "sequel_of(title)"),
    "directors": ("films(title,year)", "films(id,roles(character))"),
    "actors": ("films(title)", "roles(character)"),
    "roles": ("films(title)", "actors(first_name,last_name)"),
    "film_details": ("films(title,directors(last_name))",),
    "recent_films": ("directors(last_name)",),
}
_FILTERS = {
    "id": ("eq.1", "gt.2", "in.(1,3,5)", "lte.4", "not.eq.2", "is.null"),
    "year": ("gte.2000", "lt.2017", "eq.2021", "in.(1962,2024)"),
    "rating": ("gt.8.2", "is.null", "not.is.null"),
    "title": ("like.*Dune*", "ilike.*a*", "eq.Arrival", "fts.dune", "match.^D"),
    "genre": ("eq.drama", "in.(comedy,animation)", "neq.documentary"),
    "last_name": ("eq.Villeneuve", "like.*a*", "isdistinct.Varda"),
    "first_name": ("ilike.a*", "eq.Amy"),
    "character": ("like.*Paul*", "eq.Chani"),
    "film_id": ("eq.4", "in.(3,4)"),
    "budget_usd": ("gt.20000000",),
}
_ACCEPTS = ("application/json", "text/csv", "application/vnd.pgrst.object+json", "application/geo+json",
            "*/*", "application/vnd.pgrst.array+json;nulls=stripped")


def _read(rng: random.Random) -> Request:
    table = rng.choice(list(_COLUMNS))
    columns = _COLUMNS[table]
    select = rng.sample(columns, rng.randint(1, min(3, len(columns))))
    if rng.random() < 0.5:
        select.append(rng.choice(_EMBEDS[table]))
    if table == "directors" and rng.random() < 0.3:
        select.append("full_name")
    params = ["select=" + ",".join(select)]
    for column in rng.sample(columns, rng.randint(0, 2)):
        if column in _FILTERS:
            params.append(f"{column}={rng.choice(_FILTERS[column])}")
    if rng.random() < 0.6:
        order = rng.choice(columns) + rng.choice(("", ".asc", ".desc", ".desc.nullslast", ".asc.nullsfirst"))
        params.append("order=" + order)
    if rng.random() < 0.4:
        params.append(f"limit={rng.randint(0, 4)}")
    if rng.random() < 0.2:
        params.append(f"offset={rng.randint(0, 3)}")
    headers: list[tuple[str, str]] = []
    if rng.random() < 0.3:
        headers.append(("Accept", rng.choice(_ACCEPTS)))
    if rng.random() < 0.3:
        headers.append(("Prefer", rng.choice(("count=exact", "count=planned", "count=estimated"))))
    if rng.random() < 0.15:
        headers.append(("Prefer", "timezone=America/Los_Angeles"))
    if rng.random() < 0.15:
        headers.append(("Range", f"{rng.randint(0, 2)}-{rng.randint(2, 5)}"))
    method = "HEAD" if rng.random() < 0.1 else "GET"
    return Request(method, f"/{table}?" + "&".join(params), tuple(headers), label="read")


def _write(rng: random.Random) -> Request:
    kind = rng.randrange(6)
    prefer = ("Prefer", "tx=rollback, return=" + rng.choice(("representation", "minimal", "headers-only")))
    json_type = ("Content-Type", "application/json")
    if kind == 0:
        body = {"id": rng.randint(100, 999), "first_name": "Ann", "last_name": rng.choice(("Lee", "Ñu", "O'Neil"))}
        return Request("POST", "/directors", (json_type, prefer), json.dumps(body).encode(), "insert")
    if kind == 1:
        body = {"rating": rng.choice((1.5, 9.9, None)), "language": "Esperanto"}
        target = f"/films?id=eq.{rng.randint(1, 8)}&select=id,rating,language"
        return Request("PATCH", target, (json_type, prefer), json.dumps(body).encode(), "update")
    if kind == 2:
        return Request("DELETE", f"/roles?film_id=eq.{rng.randint(1, 6)}", (prefer,), label="delete")
    if kind == 3:
        rows = [{"id": n, "first_name": "X", "last_name": f"Y{n}"} for n in rng.sample(range(1, 9), 2)]
        upsert = ("Prefer", "tx=rollback, return=representation, resolution=merge-duplicates")
        return Request("POST", "/actors?on_conflict=id", (json_type, upsert), json.dumps(rows).encode(), "upsert")
    if kind == 4:
        body = {"film_id": 3, "budget_usd": rng.randint(1, 10**9), "tagline": "again"}
        return Request("PUT", "/film_details?film_id=eq.3", (json_type, prefer), json.dumps(body).encode(), "put")
    csv = f"id,first_name,last_name\n{rng.randint(100, 999)},Csv,\"Row, quoted\"\n".encode()
    return Request("POST", "/directors", (("Content-Type", "text/csv"), prefer), csv, "csv insert")


def _rpc(rng: random.Random) -> Request:
    kind = rng.randrange(4)
    if kind == 0:
        q = quote(rng.choice(("Dune", "a", "é", "%", "zzz")))
        return Request("GET", f"/rpc/search_films?q={q}&select=title,year&order=year", label="rpc")
    if kind == 1:
        body = json.dumps({"min_year": rng.randint(1950, 2020)}).encode()
        return Request("POST", "/rpc/films_between?select=id,title&order=id", (("Content-Type", "application/json"),),
                       body, "rpc")
    if kind == 2:
        return Request("GET", f"/rpc/films_between?min_year=2000&max_year={rng.randint(2000, 2030)}&limit=2", label="rpc")
    return Request("HEAD", "/rpc/search_films?q=Dune", label="rpc")


def _meta(rng: random.Random) -> Request:
    kind = rng.randrange(5)
    if kind == 0:
        return Request("GET", "/", label="root")
    if kind == 1:
        return Request("GET", "/", (("Accept", rng.choice(("application/openapi+json", "application/json"))),), label="root")
    if kind == 2:
        return Request("HEAD", "/", label="root")
    if kind == 3:
        return Request("OPTIONS", rng.choice(("/films", "/", "/rpc/search_films", "/recent_films")), label="options")
    return Request("GET", "/", (("Accept", "text/csv"),), label="root, unacceptable")


_ERRORS: tuple[Request, ...] = (
    Request("GET", "/nope", label="error: no such table"),
    Request("GET", "/films?select=nope", label="error: no such column"),
    Request("GET", "/films?id=eq.abc", label="error: 22P02"),
    Request("GET", "/films?order=title.sideways", label="error: bad order"),
    Request("GET", "/films?select=id,nosuch(*)", label="error: no relationship"),
    Request("GET", "/films?select=actors(*),roles(*)&actors.id=gt.x", label="error: embedded filter"),
    Request("POST", "/films", (("Content-Type", "application/json"), ROLLBACK), b"{not json", "error: bad JSON"),
    Request("POST", "/films", (("Content-Type", "application/json"), ROLLBACK), b'{"title":"No year"}', "error: 23502"),
    Request("POST", "/films", (("Content-Type", "application/json"), ROLLBACK),
            b'{"id":900,"title":"Old","year":1700}', "error: 23514"),
    Request("POST", "/films", (("Content-Type", "application/json"), ROLLBACK),
            b'{"id":901,"title":"T","year":1999,"director_id":999}', "error: 23503"),
    Request("POST", "/directors", (("Content-Type", "application/json"), ROLLBACK),
            b'{"id":1,"first_name":"a","last_name":"b"}', "error: 23505"),
    Request("PATCH", "/films?id=eq.1", (("Content-Type", "application/json"), ROLLBACK),
            b'{"genre":"opera"}', "error: 22P02 enum"),
    Request("POST", "/rpc/nonexistent", (("Content-Type", "application/json"),), b"{}", "error: PGRST202"),
    Request("GET", "/rpc/films_between", label="error: missing argument"),
    Request("GET", "/films", (("Accept", "application/xml"),), label="error: 406"),
    Request("GET", "/films?limit=1", (("Accept", "application/vnd.pgrst.object+json"),), label="singular"),
    Request("GET", "/films", (("Accept", "application/vnd.pgrst.object+json"),), label="error: PGRST116"),
    Request("GET", "/films?select=title::nosuchtype", label="error: bad cast"),
    Request("GET", "/films?rating=gt.1e999", label="error: numeric overflow"),
    Request("DELETE", "/films?id=eq.1", (ROLLBACK,), label="error: 23503 on delete"),
    Request("GET", "/films", (("Range", "5-2"),), label="error: bad range"),
)


def _error(rng: random.Random) -> Request:
    return rng.choice(_ERRORS)


_KINDS: tuple[tuple[Callable[[random.Random], Request], int], ...] = (
    (_read, 40), (_write, 20), (_rpc, 12), (_meta, 13), (_error, 15),
)


def demo_requests(rng: random.Random, count: int) -> list[Request]:
    """`count` distinct requests (fewer if the generator keeps repeating itself)."""
    makers = [maker for maker, _ in _KINDS]
    weights = [weight for _, weight in _KINDS]
    found: dict[Request, None] = {}
    for _ in range(count * 5):
        if len(found) >= count:
            break
        found[rng.choices(makers, weights)[0](rng)] = None
    return list(found)
