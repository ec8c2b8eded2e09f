"""Respond: the statement's one result row + the recipe -> status, headers and body."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple
from urllib.parse import quote

from pgrest_core.ast import Preferences
from pgrest_core.errors import ApiRequestError, PgrstError, invalid_range
from pgrest_core.prepared import Response, ResponseRecipe, ResultRow
from pgrest_core.request.preferences import preference_items
from pgrest_core.request.ranges import content_range
from pgrest_core.request.raw_shape import split_filter

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

# What a read honours of `Prefer` (tx is the server's to add; max-affected only binds writes).
_READ_HONOURED = ("count", "handling", "timezone")


@lru_cache(maxsize=256)
def read_preferences_applied(preferences: Preferences) -> tuple[str, ...]:
    """`Preference-Applied` items for a read or a function call (cached: requests send the same
    few `Prefer` headers, mostly none)."""
    return tuple(f"{k}={v}" for k, v in preference_items(preferences) if k in _READ_HONOURED)


def canonical_location(path: str, pairs: tuple[tuple[str, str], ...]) -> str:
    """`/table?a=eq.1&b=eq.1`: the query parameters sorted by name (stable), percent-encoded."""
    if not pairs:
        return path
    ordered = sorted(pairs, key=itemgetter(0))
    return path + "?" + "&".join(f"{_encoded_key(k)}={percent_encoded(v)}" for k, v in ordered)


# The characters `quote` never escapes: most keys and values are made of them only.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def percent_encoded(text: str) -> str:
    """`quote(text, safe="")`, skipped when it would change nothing (a regex test is cheaper, and
    the letters-and-digits test cheaper still, for the commonest values: ids, numbers, words)."""
    if (text.isalnum() and text.isascii()) or _UNRESERVED.fullmatch(text):
        return text
    return quote(text, safe="")


# Query keys are the same few names from request to request; values vary.
_encoded_key = lru_cache(maxsize=512)(percent_encoded)


class LocationTemplate(NamedTuple):
    """`canonical_location` for the requests of one raw shape (request/raw_shape.py). The order
    and everything but the filter values are the same for all of them, so only the values are
    encoded per request."""

    path: str
    pieces: tuple[tuple[str, int], ...]  # (encoded text, index of the value after it or -1)

    @classmethod
    def of(cls, path: str, pairs: tuple[tuple[str, str], ...]) -> LocationTemplate:
        pieces: list[tuple[str, str, int]] = []  # (key, encoded text, value index)
        index = 0
        for key, value in pairs:
            split = split_filter(key, value)
            if split is None:
                pieces.append((key, f"{_encoded_key(key)}={percent_encoded(value)}", -1))
            else:
                pieces.append((key, f"{_encoded_key(key)}={percent_encoded(split[0] + '.')}", index))
                index += 1
        pieces.sort(key=itemgetter(0))  # stable, as canonical_location sorts
        return cls(path, tuple((text, slot) for _key, text, slot in pieces))

    def fill(self, values: tuple[str, ...]) -> str:
        if not self.pieces:
            return self.path
        if len(self.pieces) == 1 and values:  # the usual `?id=eq.3`: no join needed
            return self.path + "?" + self.pieces[0][0] + percent_encoded(values[0])
        return self.path + "?" + "&".join(
            [text if slot < 0 else text + percent_encoded(values[slot]) for text, slot in self.pieces]
        )


# Content-Location repeats the request's query, whose size the client chooses: above this it is
# omitted (nginx, by default, refuses to proxy a response whose headers exceed 4 KiB or 8 KiB).
MAX_CONTENT_LOCATION = 4096

# Responses differ by these request headers (a pre-request function may set its own Vary).
VARY = ("Vary", "Accept, Prefer, Range")


def _total(recipe: ResponseRecipe, row: ResultRow) -> int | None:
    if recipe.count == "exact":
        return row.total_count
    if recipe.count == "planned":
        return row.planned_count
    if recipe.count == "estimated":
        # Exact while the result is small (within db-max-rows); beyond it the planner's estimate,
        # never less than what was counted.
        exact = row.total_count
        if exact is None or recipe.max_rows is None or exact <= recipe.max_rows:
            return exact
        return max(exact, row.planned_count or 0)
    return None


def _guc_headers(raw: str | None) -> list[tuple[str, str]]:
    """`response.headers`: a JSON array of single-key objects with string values (else PGRST111)."""
    if raw is None:
        return []
    error = ApiRequestError(
        "PGRST111",
        500,
        "response.headers guc must be a JSON array composed of objects with a single key and a string value",
    )
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise error from None
    if not isinstance(parsed, list):
        raise error
    out: list[tuple[str, str]] = []
    for item in parsed:
        if not isinstance(item, dict) or len(item) != 1:
            raise error
        ((name, value),) = item.items()
        if not isinstance(value, str):
            raise error
        out.append((name, value))
    return out


def _guc_status(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        status = int(raw)
    except ValueError:
        status = 0
    if not 100 <= status <= 599:
        raise ApiRequestError("PGRST112", 500, "response.status guc must be a valid status code")
    return status


def respond_read(recipe: ResponseRecipe, row: ResultRow, content_location: str | None = None) -> Response:
    total = _total(recipe, row)
    page = row.page_count
    if recipe.body_format == "object" and page != 1:
        raise singular_error(page)
    status = recipe.success_status
    if total is not None and recipe.offset > total:
        error = invalid_range(f"An offset of {recipe.offset} was requested, but there are only {total} rows.")
        error.headers = (("Content-Range", f"*/{total}"),)
        raise error
    if total is not None and page < total and recipe.body_format != "object":
        status = 206
    headers: list[tuple[str, str]] = [("Content-Type", recipe.content_type), VARY]
    if recipe.body_format != "plan":
        headers.append(("Content-Range", content_range(recipe.offset, page, total)))
    if content_location is not None and len(content_location) <= MAX_CONTENT_LOCATION:
        headers.append(("Content-Location", content_location))
    if recipe.preference_applied:
        headers.append(("Preference-Applied", ", ".join(recipe.preference_applied)))
    return _with_gucs(Response(status, tuple(headers), _body(recipe, row.body)), row)


def _with_gucs(response: Response, row: ResultRow) -> Response:
    """Apply `response.headers` (replacing same-named headers) and `response.status` set by SQL."""
    extra = _guc_headers(row.response_headers)
    override = _guc_status(row.response_status)
    names = {name.lower() for name, _ in extra}
    headers = [(n, v) for n, v in response.headers if n.lower() not in names] + extra
    return Response(override or response.status, tuple(headers), response.body)


def _body(recipe: ResponseRecipe, text: str | None) -> bytes:
    if recipe.head or text is None:
        return b""
    if recipe.body_format == "binary":
        return bytes.fromhex(text)  # a bytea value, sent as hex by the statement
    return text.encode()


def respond_no_content(row: ResultRow) -> Response:
    """A call to a void function: 204 without body or Content-Type, unless the GUCs say otherwise."""
    return _with_gucs(Response(204, (), b""), row)


# --- writes ----------------------------------------------------------------------------------


# The warn-agent of PostgREST 16's `Warning` headers, as its documentation shows them.
WARN_AGENT = "PostgRESTv16"


def legacy_names_warning(names: tuple[tuple[str, str], ...]) -> str | None:
    """The `Warning` header for embeds named by their target although they have an alias
    (allowed by url-use-legacy-target-names, deprecated): `299 <agent> "<text>"`."""
    if not names:
        return None
    replacements = ", ".join(f"`{target}` to `{alias}`" for target, alias in names)
    text = (
        "Embedded resource was referenced by relation name even though it has an alias. This is "
        "deprecated and will stop working in a future release. "
        f"Update {replacements} in query string filters, orders or limits."
    )
    return f'299 {WARN_AGENT} "{text}"'


def with_warning(response: Response, warning: str | None) -> Response:
    if warning is None:
        return response
    return Response(response.status, (*response.headers, ("Warning", warning)), response.body)


def singular_error(rows: int) -> ApiRequestError:
    """PGRST116. Like PostgREST, the details say "rows" whatever the number (also "0 rows")."""
    return ApiRequestError(
        "PGRST116",
        406,
        "Cannot coerce the result to a single JSON object",
        f"The result contains {rows} rows",
    )


def max_affected_error(rows: int) -> ApiRequestError:
    return ApiRequestError(
        "PGRST124",
        400,
        "Query result exceeds max-affected preference constraint",
        f"The query affects {rows} rows",
    )


def put_mismatch_error() -> ApiRequestError:
    return ApiRequestError("PGRST115", 400, "Payload values do not match URL in primary key column(s)")


def _location(recipe: ResponseRecipe, row: ResultRow) -> str | None:
    """`/films?id=eq.1&code=is.null` from the inserted row's key values (a JSON array of text)."""
    if recipe.location_path is None or not recipe.location_columns or row.location is None:
        return None
    values = json.loads(row.location)
    pairs = []
    for column, value in zip(recipe.location_columns, values, strict=False):
        rhs = "is.null" if value is None else "eq." + quote(str(value), safe="-_.~")
        pairs.append(quote(column, safe="-_.~") + "=" + rhs)
    return recipe.location_path + "?" + "&".join(pairs)


def _mutation_status(recipe: ResponseRecipe, row: ResultRow) -> int:
    if recipe.mutation == "insert":
        nothing_inserted = row.inserted is not None and row.inserted <= 0
        return 200 if recipe.created_unless_all_updated and nothing_inserted else 201
    if not recipe.with_body:
        return 204
    if recipe.mutation == "put":
        return 201 if (row.inserted or 0) > 0 else 200
    return 200


def check_mutation(recipe: ResponseRecipe, row: ResultRow) -> None:
    """The failures a write can only know from its result; raised before COMMIT (rolled back)."""
    affected = row.page_count
    if recipe.mutation == "put" and affected != 1:
        raise put_mismatch_error()
    if recipe.body_format == "object" and affected != 1:
        raise singular_error(affected)
    if recipe.max_affected is not None and affected > recipe.max_affected:
        raise max_affected_error(affected)


def respond_mutation(recipe: ResponseRecipe, row: ResultRow) -> Response:
    """Status, headers and body of a POST/PUT/PATCH/DELETE, as PostgREST answers them."""
    check_mutation(recipe, row)
    affected = row.page_count
    total = affected if recipe.count is not None else None
    headers: list[tuple[str, str]] = []
    location = _location(recipe, row)
    if location is not None:
        headers.append(("Location", location))
    if recipe.mutation == "update":
        headers.append(("Content-Range", content_range(0, affected, total)))
    elif recipe.mutation in ("insert", "delete"):
        headers.append(("Content-Range", "*/" + ("*" if total is None else str(total))))
    if recipe.preference_applied:
        headers.append(("Preference-Applied", ", ".join(recipe.preference_applied)))
    if recipe.with_body:
        headers.append(("Content-Type", recipe.content_type))
    body = (row.body or "").encode() if recipe.with_body else b""
    return _with_gucs(Response(_mutation_status(recipe, row), tuple(headers), body), row)


def error_response(error: PgrstError, *, verbose: bool = True) -> Response:
    """The HTTP answer for a PgrstError: its status and headers, its JSON body.

    With client-error-verbosity=minimal (`verbose=False`) the body keeps only code and message.
    """
    headers = (
        ("Content-Type", JSON_CONTENT_TYPE),
        ("Proxy-Status", f"PostgREST; error={error.code}"),
        *error.headers,
    )
    if verbose:
        body = error.to_json()
    else:
        minimal = {"code": error.code, "message": error.message}
        body = json.dumps(minimal, ensure_ascii=False, separators=(",", ":"))
    return Response(error.status, headers, body.encode())


def with_response_gucs(response: Response, headers: str | None, status: str | None) -> Response:
    """`response.headers`/`response.status` read apart from a result row (streamed reads)."""
    return _with_gucs(response, ResultRow(None, 0, None, response_headers=headers, response_status=status))
