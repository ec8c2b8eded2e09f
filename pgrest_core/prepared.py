"""What the compile and respond stages need to know: the result of planning a request.

A `Prepared` request is one SQL statement (text + params kept together in a `Fragment`) plus
the `ResponseRecipe` that turns its one result row into an HTTP response. The statement always
returns exactly one row with the columns named in `RESULT_COLUMNS`.

The recipe depends only on the request's shape, never on its filter values; what does depend on
them (the statement's parameters, Content-Location) is on `Prepared` itself, so that a request
served from a compiled-shape template (pgrest_core/shape_cache.py) shares the template's recipe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pgrest_core.fragment import Fragment

# The one row every main statement returns, in this order.
# Writes add `location` and `inserted` (reads leave them out; they read back as None).
RESULT_COLUMNS = (
    "total_count",
    "page_count",
    "body",
    "response_headers",
    "response_status",
    "location",
    "inserted",
)

CountMethod = Literal["exact", "planned", "estimated"]
BodyFormat = Literal["json", "object", "csv", "geojson", "text", "binary", "plan"]  # binary: hex text


@dataclass(frozen=True, slots=True)
class ResponseRecipe:
    """How to turn the result row into status, headers and body."""

    content_type: str  # e.g. "application/json; charset=utf-8"
    body_format: BodyFormat
    success_status: int = 200
    offset: int = 0  # first row of the page, for Content-Range
    count: CountMethod | None = None
    head: bool = False  # HEAD: headers only
    range_requested: bool = False  # a Range header or limit/offset asked for a page
    max_rows: int | None = None
    preference_applied: tuple[str, ...] = ()
    # A call to a function returning void: 204, no body and no Content-Type.
    no_content: bool = False
    # Writes: which one ("insert", "put", "update", "delete"); None for reads and calls.
    mutation: str | None = None
    with_body: bool = True  # False: return=minimal/headers-only, no body and no Content-Type
    location_path: str | None = None  # "/films": headers-only inserts answer a Location under it
    location_columns: tuple[str, ...] = ()
    max_affected: int | None = None  # handling=strict: more affected rows is PGRST124
    created_unless_all_updated: bool = False  # merge-duplicates: 200 when no row was inserted
    warning: str | None = None  # a `Warning` header (PostgREST's deprecation warning)
    # With several exposed schemas, the one that answered (sent as Content-Profile).
    content_profile: str | None = None
    # A response built from the row by a function of its own: `GET /` with
    # openapi-mode=follow-privileges, whose row says what the role may see in the document.
    build: Callable[[ResultRow], Response] | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready to run: one statement, its transaction mode, and its response recipe."""

    statement: Fragment
    recipe: ResponseRecipe
    read_only: bool = True
    # For `count=planned|estimated`: a statement whose EXPLAIN gives the row estimate.
    count_statement: Fragment | None = None
    # The response can still fail (singular, max-affected, PUT's key check): build it before
    # COMMIT, so that a failure rolls the transaction back.
    check_before_commit: bool = False
    # The response when it is known without running anything (OPTIONS, the OpenAPI document
    # with openapi-mode=ignore-privileges). `statement` then selects one empty result row, so
    # a runner that runs it anyway still gets this response from `respond`.
    answer: Response | None = None
    # The OpenAPI document's privileges query: it runs as the request's role but without the
    # pre-request function, and its transaction is rolled back.
    is_metadata: bool = False
    # A called function's SET clause: the server applies those named in db-hoisted-tx-settings
    # to the whole transaction (a SET clause alone only lasts while the function runs).
    function_settings: tuple[tuple[str, str], ...] = ()
    # Reads: the canonical URL of what was read (the Content-Location header).
    content_location: str | None = None

    def with_values(
        self, statement: Fragment, count_statement: Fragment | None, content_location: str | None
    ) -> Prepared:
        """This request with other values: `dataclasses.replace` without re-running `__init__`.

        Written out field by field because it runs on every request served from a template,
        where `replace` costs several microseconds; a test checks that it copies every field.
        """
        copy: Prepared = object.__new__(Prepared)
        _set_statement(copy, statement)
        _set_recipe(copy, self.recipe)
        _set_read_only(copy, self.read_only)
        _set_count_statement(copy, count_statement)
        _set_check_before_commit(copy, self.check_before_commit)
        _set_answer(copy, self.answer)
        _set_is_metadata(copy, self.is_metadata)
        _set_function_settings(copy, self.function_settings)
        _set_content_location(copy, content_location)
        return copy


# The slots' own setters: they bypass the frozen dataclass's __setattr__ (which refuses).
_Setter = Callable[[Prepared, object], None]
_set_statement: _Setter = vars(Prepared)["statement"].__set__
_set_recipe: _Setter = vars(Prepared)["recipe"].__set__
_set_read_only: _Setter = vars(Prepared)["read_only"].__set__
_set_count_statement: _Setter = vars(Prepared)["count_statement"].__set__
_set_check_before_commit: _Setter = vars(Prepared)["check_before_commit"].__set__
_set_answer: _Setter = vars(Prepared)["answer"].__set__
_set_is_metadata: _Setter = vars(Prepared)["is_metadata"].__set__
_set_function_settings: _Setter = vars(Prepared)["function_settings"].__set__
_set_content_location: _Setter = vars(Prepared)["content_location"].__set__


@dataclass(frozen=True, slots=True)
class ResultRow:
    """The one row the main statement returns (see RESULT_COLUMNS)."""

    total_count: int | None
    page_count: int
    body: str | None
    response_headers: str | None = None
    response_status: str | None = None
    planned_count: int | None = None  # filled by the runner from EXPLAIN when asked
    location: str | None = None  # writes: JSON array of the inserted row's key values (as text)
    inserted: int | None = None  # upserts: how many rows were inserted rather than updated


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: status, headers in order (names as sent), and the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
