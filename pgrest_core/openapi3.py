"""The root endpoint's OpenAPI 3.1 document: what the Swagger 2.0 one (openapi.py) cannot say.

    openapi31_document(cache, OpenApiOptions(schema="api"), visible) -> dict   # json.dumps it

It describes the same paths and operations as the 2.0 document, for the same relations and
functions (openapi-mode and privileges decide, through `visible`), and adds what 2.0 has no
words for:

- nullable columns, as JSON Schema type lists (`["integer", "null"]`);
- every error response, with PostgREST's error body (`code`, `message`, `details`, `hint`);
- the `Prefer`, `Range`, `Range-Unit`, `Accept-Profile` and `Content-Profile` headers;
- `Content-Range` on reads;
- JSON, single-object JSON and CSV bodies, in and out;
- function arguments, typed, for GET (query) and POST (JSON body);
- the JWT bearer scheme (optional: anonymous requests use db-anon-role).

Response rows list their columns without `required`: `select` may pick some of them. Types are
described only as far as the JSON PostgreSQL writes is certain; a type pgrest cannot place
(composites, custom types) is left open rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from pgrest_core.ast import MediaType
from pgrest_core.openapi import (
    DEFAULT_DESCRIPTION,
    DEFAULT_TITLE,
    DOCS_VERSION,
    OpenApiOptions,
    Visible,
    _column_description,
    _default_value,
    _operation,
    _plain_type,
    _server,
    _split_description,
    described,
)
from pgrest_core.schema.model import Column, QualifiedName, Routine, RoutineParam, SchemaCache, Table

JsonObject = dict[str, Any]

OPENAPI31_CONTENT_TYPE = "application/openapi+json; version=3.1; charset=utf-8"
_VERSIONS = ("2.0", "3.1")

_JSON = "application/json"
_OBJECT = "application/vnd.pgrst.object+json"
_ARRAY = "application/vnd.pgrst.array+json"
_CSV = "text/csv"
_OCTET_STREAM = "application/octet-stream"

# PostgreSQL types whose JSON form is certain: (JSON Schema type, OpenAPI format or None).
_INTEGERS = {"smallint": "int32", "integer": "int32", "bigint": "int64"}
_NUMBERS = {"real": "float", "double precision": "double", "numeric": None}
_STRINGS = (
    "text", "character varying", "character", "char", "name", "citext", "uuid", "date",
    "time without time zone", "time with time zone", "timestamp without time zone",
    "timestamp with time zone", "interval", "inet", "cidr", "macaddr", "macaddr8", "bytea",
    "money", "tsvector", "tsquery", "xml", "bit", "bit varying", "int4range", "int8range",
    "numrange", "tsrange", "tstzrange", "daterange", "point", "line", "lseg", "box", "path",
    "polygon", "circle", "oid", "regclass", "regproc", "regtype",
)  # fmt: skip


def openapi_version(accept: tuple[MediaType, ...], default: str) -> str:
    """Which document the root answers: `application/openapi+json;version=3.1` (or 2.0) as the
    first acceptable media type asks, else the configured default (openapi-default-version)."""
    for media in accept:
        if media.q <= 0:
            continue
        if media.essence == "application/openapi+json" and media.param("version") in _VERSIONS:
            return str(media.param("version"))
        if media.essence in ("application/openapi+json", "application/json", "*/*"):
            return default
    return default


def json_schema_for(type_name: str) -> JsonObject:
    """The JSON Schema of a PostgreSQL type's JSON form; `{}` (any value) when not certain."""
    plain = _plain_type(type_name)
    if plain.endswith("[]"):
        return {"type": "array", "items": _array_element(json_schema_for(plain.removesuffix("[]")))}
    if plain == "boolean":
        return {"type": "boolean"}
    if plain in _INTEGERS:
        return {"type": "integer", "format": _INTEGERS[plain]}
    if plain in _NUMBERS:
        number_format = _NUMBERS[plain]
        number = {"type": "number"} if number_format is None else {"type": "number", "format": number_format}
        # PostgreSQL writes the special values of floats and numeric as JSON strings
        return {"anyOf": [number, {"type": "string", "enum": list(_SPECIAL_NUMBERS)}]}
    if plain in _STRINGS:
        return {"type": "string"}
    return {}  # json, jsonb, composites, custom types: any JSON value


_SPECIAL_NUMBERS = ("NaN", "Infinity", "-Infinity")


def _array_element(element: JsonObject) -> JsonObject:
    """An item of a PostgreSQL array's JSON: the element, NULL (arrays hold NULLs whatever the
    column's nullability), or a nested array (one column type holds arrays of any dimension)."""
    if not element:
        return element
    return {"anyOf": [_nullable(element), {"type": "array"}]}


def _nullable(schema: JsonObject) -> JsonObject:
    """Allow null too: a type list for typed schemas; an open schema already allows it."""
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    if "type" not in schema:
        return schema
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in nullable:
        nullable["enum"] = [*nullable["enum"], None]
    return nullable


# --- the document --------------------------------------------------------------------------------


def openapi31_document(
    cache: SchemaCache, options: OpenApiOptions, visible: Visible | None = None
) -> JsonObject:
    """The OpenAPI 3.1 document for `options.schema`; `visible=None` shows everything in it."""
    tables, routines = described(cache, options.schema, visible)
    scheme, host, port, base_path = _server(options)
    title, description = _split_description(cache.descriptions.get(options.schema))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title or DEFAULT_TITLE,
            "description": DEFAULT_DESCRIPTION if description is None else description,
            "version": options.version,
        },
        "externalDocs": {
            "description": "PostgREST Documentation",
            "url": f"https://postgrest.org/en/{DOCS_VERSION}/references/api.html",
        },
        "servers": [{"url": _server_url(scheme, host, port, base_path)}],
        "paths": _paths(cache, tables, routines),
        "components": _components(cache, tables, cache.schemas),
        "security": [{}, {"JWT": []}],  # a token is optional: without one, db-anon-role answers
    }


_COMPONENT_KEY_CHARACTER = re.compile(r"[a-zA-Z0-9.\-]")


def component_key(name: str) -> str:
    """A name as a key of `components`, which OpenAPI restricts to `[a-zA-Z0-9._-]`: a key
    that fits is kept; in one that does not, `_` and every other character outside `[a-zA-Z0-9.-]`
    become `_` and their UTF-8 bytes in hex (`Server Today` -> `Server_20Today`)."""
    if re.fullmatch(r"[a-zA-Z0-9._-]+", name):
        return name
    return "".join(char if _COMPONENT_KEY_CHARACTER.fullmatch(char) else _hex(char) for char in name)


def _hex(char: str) -> str:
    return "".join(f"_{byte:02X}" for byte in char.encode())


def _row_filter_key(table: Table, column: Column) -> str:
    return f"rowFilter.{component_key(table.name)}.{component_key(column.name)}"


def _server_url(scheme: str, host: str, port: int, base_path: str) -> str:
    default_port = {"http": 80, "https": 443}.get(scheme)
    authority = host if port == default_port else f"{host}:{port}"
    return f"{scheme}://{authority}{base_path.rstrip('/')}"


def _components(cache: SchemaCache, tables: list[Table], schemas: tuple[str, ...]) -> JsonObject:
    return {
        "schemas": {
            "Error": _ERROR_SCHEMA,
            **{component_key(table.name): _row_schema(cache, table) for table in tables},
        },
        "parameters": _parameters(tables, schemas),
        "headers": {
            "Content-Range": {
                "description": "The range of rows in the body and the total, when counted: `0-24/100`, `*/0`",
                "schema": {"type": "string"},
            },
            "Location": {"description": "The URL of the created row", "schema": {"type": "string"}},
        },
        "responses": {
            "Error": {
                "description": "A PostgREST error (the status says which kind; see the `code`)",
                "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "NoContent": {"description": "No Content"},
        },
        "securitySchemes": {
            "JWT": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A JWT whose role claim names the database role to switch to",
            }
        },
    }


_ERROR_SCHEMA: JsonObject = {
    "type": "object",
    "description": "PostgREST's error body: a PGRSTxxx code or PostgreSQL's SQLSTATE",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": ["string", "null"]},
        "hint": {"type": ["string", "null"]},
    },
    "required": ["code", "message"],
}


def _row_schema(cache: SchemaCache, table: Table) -> JsonObject:
    schema: JsonObject = {"type": "object"}
    if table.description is not None:
        schema["description"] = table.description
    schema["properties"] = {column.name: _column_schema(cache, table, column) for column in table.columns}
    return schema


def _column_schema(cache: SchemaCache, table: Table, column: Column) -> JsonObject:
    declared = _plain_type(column.type)
    base = _plain_type(column.nominal_type) if column.nominal_type else declared  # domains
    schema = json_schema_for(base)
    if column.enum_values:
        schema = {"type": "string", "enum": list(column.enum_values)}
    if column.max_length is not None and schema.get("type") == "string":
        schema["maxLength"] = column.max_length
    if column.nullable:
        schema = _nullable(schema)
    schema["x-postgresql-type"] = declared
    default = _default_value(base, declared, column.default)
    if default is not None:
        schema["default"] = default
    description = _column_description(cache, table, column)
    if description is not None:
        schema["description"] = description
    return schema


def _insert_schema(table: Table) -> JsonObject:
    """A row to write: the row schema with the columns that need a value required."""
    required = [c.name for c in table.columns if not c.nullable and c.default is None and not c.generated]
    reference: JsonObject = {"$ref": f"#/components/schemas/{component_key(table.name)}"}
    return {"allOf": [reference, {"required": required}]} if required else reference


# --- paths ---------------------------------------------------------------------------------------


def _ref(name: str) -> JsonObject:
    return {"$ref": "#/components/parameters/" + name}


def _errors() -> JsonObject:
    """Every operation's error answers: PostgREST's error body, whichever the status."""
    return {"default": {"$ref": "#/components/responses/Error"}}


def _rows_content(item: JsonObject) -> JsonObject:
    """A read's body: rows as a JSON array, one row as an object, or CSV."""
    array = {"type": "array", "items": item}
    return {
        _JSON: {"schema": array},
        _ARRAY: {"schema": array},
        _OBJECT: {"schema": item},
        _CSV: {"schema": {"type": "string"}},
    }


def _rows_response(description: str, item: JsonObject) -> JsonObject:
    return {
        "description": description,
        "headers": {"Content-Range": {"$ref": "#/components/headers/Content-Range"}},
        "content": _rows_content(item),
    }


def _written(item: JsonObject, *, created: bool) -> JsonObject:
    """A write's answers: rows with return=representation, else no body."""
    responses: JsonObject = {
        "200": _rows_response("OK (return=representation)", item),
        "204": {"$ref": "#/components/responses/NoContent"},
    }
    if created:
        responses["201"] = {**_rows_response("Created", item), "headers": {
            "Location": {"$ref": "#/components/headers/Location"},
            "Content-Range": {"$ref": "#/components/headers/Content-Range"},
        }}  # fmt: skip
    return {**responses, **_errors()}


def _paths(cache: SchemaCache, tables: list[Table], routines: list[Routine]) -> JsonObject:
    paths: JsonObject = {
        "/": {
            "get": {
                "tags": ["Introspection"],
                "summary": "OpenAPI description (this document)",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/openapi+json": {"schema": {"type": "object"}},
                            _JSON: {"schema": {"type": "object"}},
                        },
                    },
                    **_errors(),
                },
            }
        }
    }
    for table in tables:
        paths["/" + table.name] = _table_path(table)
    # a function returning a described table's rows: its columns, typed
    rows = {(table.schema, table.name): _function_row_schema(cache, table) for table in tables}
    for routine in routines:  # overloads share a path: the one listed last describes it
        paths["/rpc/" + routine.name] = _routine_path(cache, routine, rows)
    return paths


def _table_path(table: Table) -> JsonObject:
    filters = [_ref(_row_filter_key(table, column)) for column in table.columns]
    row: JsonObject = {"$ref": f"#/components/schemas/{component_key(table.name)}"}
    base = _operation([table.name], table.description)
    read_headers = [_ref(name) for name in ("range", "rangeUnit", "preferRead", "acceptProfile")]
    page = [_ref(name) for name in ("select", "order", "offset", "limit")]
    path: JsonObject = {
        "get": {
            **base,
            "parameters": [*filters, *page, *read_headers],
            "responses": {
                "200": _rows_response("OK", row),
                "206": _rows_response("Partial Content", row),
                **_errors(),
            },
        }
    }
    if not (table.insertable or table.updatable or table.deletable):
        return path
    one = _insert_schema(table)
    body = {
        "required": True,
        "content": {
            _JSON: {"schema": {"oneOf": [one, {"type": "array", "items": one}]}},
            _CSV: {"schema": {"type": "string"}},
        },
    }
    write_headers = [_ref("preferWrite"), _ref("contentProfile")]
    path["post"] = {
        **base,
        "parameters": [_ref("select"), _ref("columns"), _ref("on_conflict"), *write_headers],
        "requestBody": body,
        "responses": _written(row, created=True),
    }
    patch_body = {**body, "content": {_JSON: {"schema": row}, _CSV: {"schema": {"type": "string"}}}}
    path["patch"] = {
        **base,
        "parameters": [*filters, *(_ref(n) for n in ("select", "columns", "limit", "order")), *write_headers],
        "requestBody": patch_body,
        "responses": _written(row, created=False),
    }
    path["delete"] = {
        **base,
        "parameters": [*filters, _ref("select"), _ref("limit"), _ref("order"), *write_headers],
        "responses": _written(row, created=False),
    }
    return path


RowSchemas = dict[tuple[str, str], JsonObject]


def _function_row_schema(cache: SchemaCache, table: Table) -> JsonObject:
    """A table's row type as a function returns it: the table's columns and types, but every
    one nullable, since a composite value is not bound by the table's NOT NULL constraints
    (`SELECT NULL::films` is a row of NULLs)."""
    properties = {
        column.name: _column_schema(cache, table, replace(column, nullable=True)) for column in table.columns
    }
    return {"type": "object", "properties": properties}


def _routine_row(routine: Routine, rows: RowSchemas) -> JsonObject:
    """A row a function returns: typed columns when the document describes its table."""
    return rows.get((routine.returns.schema, routine.returns.name), {"type": "object"})


def _routine_result(routine: Routine, rows: RowSchemas) -> JsonObject:
    """What a call answers with: the function's rows or its value; `{}` when not certain."""
    returns = routine.returns
    if returns.composite:
        item: JsonObject = _routine_row(routine, rows)
    else:
        item = json_schema_for(returns.name)
        if item:
            item = _nullable(item)  # a scalar function may return NULL
    return {"type": "array", "items": item} if returns.set_of else item


def _routine_path(cache: SchemaCache, routine: Routine, rows: RowSchemas) -> JsonObject:
    base = _operation(["(rpc) " + routine.name], routine.description)
    result = _routine_result(routine, rows)
    void = routine.returns.name == "void" and not routine.returns.set_of
    content = {_JSON: {"schema": result}, **_raw_content(cache, routine)}
    ok: JsonObject = {"description": "OK", "content": content}
    if routine.returns.set_of and routine.returns.composite:
        ok = _rows_response("OK", _routine_row(routine, rows))
    responses: JsonObject = {"204": {"$ref": "#/components/responses/NoContent"}} if void else {"200": ok}
    responses["default"] = _routine_errors(result)
    headers = [_ref("preferCall"), _ref("contentProfile")]
    path: JsonObject = {}
    if routine.volatility != "volatile":
        path["get"] = {
            **base,
            "parameters": [*(_query_argument(p) for p in routine.params), _ref("acceptProfile")],
            "responses": responses,
        }
    path["post"] = {
        **base,
        "parameters": headers,
        "requestBody": {"required": False, "content": {_JSON: {"schema": _arguments_schema(routine)}}},
        "responses": responses,
    }
    return path


def _raw_content(cache: SchemaCache, routine: Routine) -> JsonObject:
    """A function returning one value of a domain named after a media type (`"text/html"`)
    answers that value as the body, in that media type (a `"*/*"` domain's as octet-stream)."""
    returns = routine.returns
    if returns.set_of or QualifiedName(returns.schema, returns.name) not in cache.media_types:
        return {}
    media_type = returns.name.lower()
    return {_OCTET_STREAM if media_type == "*/*" else media_type: {"schema": {"type": "string"}}}


def _routine_errors(result: JsonObject) -> JsonObject:
    """A call's other answers: PostgREST's errors, or the function's own value with the status
    it chose (`response.status`), e.g. 403 `{"message": "invalid user or password"}`."""
    return {
        "description": "A PostgREST error, or the function's result with the status it set",
        "content": {_JSON: {"schema": {"anyOf": [{"$ref": "#/components/schemas/Error"}, result]}}},
    }


def _query_argument(parameter: RoutineParam) -> JsonObject:
    """A function argument in the query string: text that PostgreSQL casts to the type;
    a variadic one is repeated (`?v=1&v=2`)."""
    schema: JsonObject = {"type": "string"}
    if parameter.variadic:
        schema = {"type": "array", "items": {"type": "string"}}
    return {
        "name": parameter.name,
        "in": "query",
        "required": parameter.required,
        "schema": {**schema, "x-postgresql-type": _plain_type(parameter.type)},
        **({"style": "form", "explode": True} if parameter.variadic else {}),
    }


def _arguments_schema(routine: Routine) -> JsonObject:
    """The JSON object POST /rpc/fn takes: one property per argument."""
    properties = {
        # SQL NULL is always a valid argument
        p.name: {**_nullable(json_schema_for(p.type)), "x-postgresql-type": _plain_type(p.type)}
        for p in routine.params
    }
    arguments: JsonObject = {"type": "object", "properties": properties}
    required = [p.name for p in routine.params if p.required]
    if required:
        arguments["required"] = required
    return arguments


# --- shared parameters ---------------------------------------------------------------------------


def _query(name: str, description: str) -> JsonObject:
    schema = {"type": "string"}
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _header(name: str, description: str, **schema: Any) -> JsonObject:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


_PREFER_READ = ("count=exact", "count=planned", "count=estimated", "handling=lenient", "handling=strict")
_PREFER_WRITE = (
    "return=representation", "return=minimal", "return=headers-only", "resolution=merge-duplicates",
    "resolution=ignore-duplicates", "missing=default", "tx=commit", "tx=rollback", "count=exact",
)  # fmt: skip
_PREFER_CALL = ("params=single-object", "count=exact", "tx=commit", "tx=rollback", "handling=lenient")


def _prefer(values: tuple[str, ...]) -> JsonObject:
    return _header("Prefer", "Preferences, comma-separated: " + ", ".join(values), examples=list(values))


def _parameters(tables: list[Table], schemas: tuple[str, ...]) -> JsonObject:
    profile = {"enum": list(schemas)} if schemas else {}
    parameters: JsonObject = {
        "select": _query("select", "Columns, renames, casts and embeds: `select=id,name,author(name)`"),
        "order": _query("order", "Ordering: `order=name.desc.nullslast,id`"),
        "offset": _query("offset", "Rows to skip"),
        "limit": _query("limit", "Most rows to return"),
        "columns": _query("columns", "Columns to write from the body: `columns=id,name`"),
        "on_conflict": _query("on_conflict", "Unique columns for an upsert: `on_conflict=name`"),
        "range": _header("Range", "Rows to return, zero-based and inclusive: `0-24`"),
        "rangeUnit": _header("Range-Unit", "Unit of the Range header", default="items"),
        "preferRead": _prefer(_PREFER_READ),
        "preferWrite": _prefer(_PREFER_WRITE),
        "preferCall": _prefer(_PREFER_CALL),
        "acceptProfile": _header("Accept-Profile", "The schema to read from", **profile),
        "contentProfile": _header("Content-Profile", "The schema to write to", **profile),
    }
    for table in tables:
        for column in table.columns:
            description = f"Filter on `{column.name}`: `operator.value`, e.g. `eq.1`, `in.(1,2)`, `is.null`"
            if column.description is not None:
                description = column.description + "\n\n" + description
            parameters[_row_filter_key(table, column)] = _query(column.name, description)
    return parameters


__all__ = [
    "OPENAPI31_CONTENT_TYPE", "component_key", "json_schema_for", "openapi31_document", "openapi_version",
]
