"""What the OpenAPI fuzzing requires of pgrest, and the ONE place where schemathesis' built-in
checks are filtered for PostgREST's own OpenAPI 2.0 conventions.

Required of every response (our checks, below):
* `no_server_error_but_the_databases`: no 5xx, except a database error whose SQLSTATE PostgREST's
  status table maps to 5xx (https://docs.postgrest.org/en/v12/references/errors.html: 08*, 53* ->
  503; 09*, 25* but 25006, 2D*, 38*, 39*, 3B*, 40*, 53400, 54*, 55*, 57*, 58*, F0*, HV*, P0* but
  P0001, XX*, 42P17 -> 500; 21000 -> 500, see issue 8 item 6), answered with exactly that status.
  Two more come from the database by PostgREST's design: a function's `RAISE SQLSTATE 'PT5xx'`
  (status 5xx) or `'PTxyz'` with xyz not a number (500), PGRST121 (500: a function raised SQLSTATE
  'PGRST' with a MESSAGE that is not the JSON PostgREST requires) and PGRST112 (500: a function set
  a `response.status` that is no status code). Any other PGRST-coded 5xx (PGRSTX00 internal error, PGRST001 for
  a data error, ...) fails.
* `postgrest_shaped_error`: every 4xx/5xx body (but HEAD's) is a JSON object with exactly the keys
  `code`, `message`, `details`, `hint` (code and message strings, details and hint string or null).
  Except a function's own answer: an RPC may choose its status (`response.status` GUC) and body,
  e.g. 403 `{"message": "invalid user or password"}`; such an answer is no PostgREST error and
  carries no `Proxy-Status: PostgREST; error=...` header, which every PostgREST error has.

Built-in checks that run as well: `response_headers_conformance`, `missing_required_header`, and
`content_type_conformance` (a response answers one of the media types the document says the
operation produces), but only for a response with a body in one of the media types PostgREST
documents (JSON, singular JSON, CSV): a body-less answer (`201` with `return=minimal`, `204`) has
no Content-Type, and PostgREST never lists the others it can answer in `produces` (text/plain,
application/octet-stream, GeoJSON, plans, and any media type handler's, e.g. a function over a
domain named `*/*` answers application/octet-stream).

Built-in checks filtered out, each because of how PostgREST (and so pgrest) writes its document:
* `not_a_server_error`: replaced by `no_server_error_but_the_databases`; PostgREST answers some
  database errors with 5xx by design (the table above).
* `status_code_conformance`: PostgREST documents only the success responses of each operation
  (200/201/204/206), never an error response, so every 4xx would count as undocumented.
* `response_schema_conformance`: OpenAPI 2.0 has no `nullable`, and PostgREST marks no column
  schema as nullable, so every NULL in a nullable column would fail; the document also describes
  rows, while `Prefer: return=minimal`, `count`, CSV and singular media types change the shape.
* `negative_data_rejection`: PostgREST documents filters (rowFilter parameters) as plain strings
  and request bodies without `additionalProperties: false`, so "invalid" generated data is often
  valid for it (an unknown body key can be ignored with `columns`, a string filter is accepted as
  a value to compare), and it answers 2xx by design.
* `positive_data_acceptance`: a generated value that matches the documented `string` type of a
  filter (`id=abc`) is not PostgREST filter syntax (`id=eq.abc`), so valid-looking data gets 400.
* `unsupported_method`, `allow_header_conformance`: PostgREST's routing is by resource, not by the
  documented operations: e.g. every table accepts OPTIONS, HEAD and any write the role may do, so
  an undocumented method is not a 405.
* `use_after_free`, `ensure_resource_availability`, `object_level_authorization`, `ignored_auth`:
  stateful or security-scheme checks; the document has no links and (by default) no security.
"""

from __future__ import annotations

import json
from typing import Any

from schemathesis import CheckContext, Response
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    response_headers_conformance,
)

ERROR_KEYS = frozenset({"code", "message", "details", "hint"})

# SQLSTATE prefix -> the HTTP status PostgREST gives it, for the 5xx rows of its table.
# Longest prefixes first: a full code overrides its class.
_DATABASE_5XX: tuple[tuple[str, int | None], ...] = (
    ("25006", None), ("P0001", None), ("53400", 500), ("42P17", 500), ("21000", 500),
    ("08", 503), ("53", 503),
    ("09", 500), ("25", 500), ("2D", 500), ("38", 500), ("39", 500), ("3B", 500), ("40", 500),
    ("54", 500), ("55", 500), ("57", 500), ("58", 500), ("F0", 500), ("HV", 500), ("P0", 500),
    ("XX", 500),
)


def database_5xx_status(code: object) -> int | None:
    """The 5xx status PostgREST's table gives this SQLSTATE, or None if it gives no 5xx."""
    if code in ("PGRST121", "PGRST112"):
        return 500
    if not isinstance(code, str) or len(code) != 5 or code.startswith("PGRST"):
        return None
    if code.startswith("PT"):
        if not code[2:].isdigit():
            return 500  # PostgREST's RpcSpec: "defaults to status 500 if RAISE code is PT not followed by a number"
        return int(code[2:]) if code[2] == "5" else None
    for prefix, status in _DATABASE_5XX:
        if code.startswith(prefix):
            return status
    return None


def _error_body(response: Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def no_server_error_but_the_databases(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    if response.status_code < 500:
        return None
    body = _error_body(response)
    code = body.get("code") if isinstance(body, dict) else None
    allowed = database_5xx_status(code)
    if allowed != response.status_code:
        raise AssertionError(
            f"{response.status_code} that PostgREST's status table does not give ({code}): "
            + response.content[:500].decode("utf-8", "replace")
        )
    return True


def _is_postgrest_error(response: Response) -> bool:
    return any("error=" in value for value in response.headers.get("proxy-status", []))


def postgrest_shaped_error(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    if case.path.startswith("/rpc/") and not _is_postgrest_error(response):
        return None  # the function chose this status and body
    body = _error_body(response)
    shaped = (
        isinstance(body, dict)
        and set(body) == ERROR_KEYS
        and isinstance(body["code"], str)
        and isinstance(body["message"], str)
        and all(body[key] is None or isinstance(body[key], str) for key in ("details", "hint"))
    )
    if not shaped:
        raise AssertionError(
            f"{response.status_code} error body is not PostgREST-shaped (code, message, details, hint): "
            + response.content[:500].decode("utf-8", "replace")
        )
    return True


DOCUMENTED_MEDIA_TYPES = frozenset({"application/json", "application/vnd.pgrst.object+json", "text/csv"})


def content_type_when_documentable(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip().lower()
    if not response.content or media_type not in DOCUMENTED_MEDIA_TYPES:
        return None
    return content_type_conformance(ctx, response, case)


CHECKS = [
    no_server_error_but_the_databases,
    postgrest_shaped_error,
    content_type_when_documentable,
    response_headers_conformance,
    missing_required_header,
]
