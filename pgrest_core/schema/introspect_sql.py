"""The catalog query that feeds the schema cache, as text (running it is the runner's job).

One statement, one round trip: `CATALOG_QUERY` returns a single JSON document with the raw
catalog facts; `pgrest_core.schema.derive` turns them into a `SchemaCache` (relationships,
view tracing, computed fields). It reads pg_catalog directly: information_schema is much slower
and hides objects the current role has no privileges on.

Parameter: `%(schemas)s`, a text[] of the exposed schemas (psycopg placeholder style; the text
contains no other `%`). Its JSON shape:

    relations:   [{oid, schema, name, kind, exposed, description, updatable_events, columns}]
                 kind is pg_class.relkind; updatable_events is pg_relation_is_updatable's bitmask;
                 columns of exposed relations carry every detail, other relations only num/name
    constraints: [{name, type ('p'|'u'|'f'), relid, columns, frelid, fcolumns}]   (attnums, in order)
    views:       [{oid, definition}]   the view's query tree (pg_rewrite.ev_action) as text
    functions:   [{schema, name, volatility, set_of, rows, description, return_schema,
                   return_name, return_relid, return_record, nargs, ndefaults, args}]
    schemas:     [{name, description}]   the exposed schemas that exist
    media_types: [{schema, name, base_type}]   domains named after a media type (`"text/csv"`)
    media_handlers: [{schema, name, media_type, base_type, target_schema, target}]
                 aggregates of the exposed schemas over one argument, a relation's row type
                 (target_*) or anyelement (target_* null), returning a media type domain

User objects live outside pg_catalog, information_schema and pg_toast/pg_temp: relations and
constraints are read from all of them, because a view in an exposed schema may select from a
private schema whose foreign keys then give the view its relationships.
"""

from __future__ import annotations

from typing import Final

# A transaction-local search_path makes format_type() print types of the exposed schemas
# unqualified, exactly as the API's own statements will resolve them.
SET_SEARCH_PATH: Final = "SELECT set_config('search_path', %(search_path)s, true)"

# The bits of pg_relation_is_updatable(): 1 << CMD_UPDATE, 1 << CMD_INSERT, 1 << CMD_DELETE.
UPDATE_EVENT: Final = 4
INSERT_EVENT: Final = 8
DELETE_EVENT: Final = 16

CATALOG_QUERY: Final = """
WITH
user_namespaces AS (
  SELECT n.oid, n.nspname
  FROM pg_namespace n
  WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
),
relations AS (
  SELECT
    c.oid,
    n.nspname,
    c.relname,
    c.relkind,
    n.nspname = ANY (%(schemas)s::text[]) AS exposed,
    obj_description(c.oid, 'pg_class') AS description,
    CASE WHEN c.relkind IN ('r', 'p') THEN 28  -- tables accept every write
         ELSE pg_relation_is_updatable(c.oid::regclass, true)
    END AS updatable_events
  FROM pg_class c
  JOIN user_namespaces n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
),
columns AS (
  SELECT
    a.attrelid,
    json_agg(
      CASE WHEN r.exposed THEN json_build_object(
        'num', a.attnum,
        'name', a.attname,
        'type', format_type(a.atttypid, a.atttypmod),
        'nominal_type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
        'nullable', NOT (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)),
        -- A column default, else its identity sequence, else its domain's default.
        'default', CASE WHEN a.attgenerated = '' THEN coalesce(
          pg_get_expr(ad.adbin, ad.adrelid),
          -- (the identity's sequence from pg_depend: pg_get_serial_sequence needs schema USAGE)
          CASE WHEN a.attidentity <> '' THEN (
            SELECT format('nextval(%%L::regclass)', d.objid::regclass::text)
            FROM pg_depend d
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
            LIMIT 1) END,
          CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END) END,
        'max_length',
          CASE WHEN coalesce(nullif(t.typbasetype, 0), t.oid) IN ('bpchar'::regtype, 'varchar'::regtype)
                    AND (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END) > 0
               THEN (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END) - 4
          END,
        'enum_values', coalesce(
          (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)
           FROM pg_enum e
           WHERE e.enumtypid = coalesce(nullif(t.typbasetype, 0), t.oid)),
          '[]'),
        'description', col_description(a.attrelid, a.attnum),
        'generated', a.attgenerated <> '' OR a.attidentity = 'a'
      )
      ELSE json_build_object('num', a.attnum, 'name', a.attname)
      END
      ORDER BY a.attnum
    ) AS columns
  FROM pg_attribute a
  JOIN relations r ON r.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  WHERE a.attnum > 0 AND NOT a.attisdropped
  GROUP BY a.attrelid
),
constraints AS (
  -- conparentid <> 0 marks the per-partition copies of a constraint on a partitioned table.
  SELECT con.conname, con.contype, con.conrelid, con.conkey, con.confrelid, con.confkey
  FROM pg_constraint con
  JOIN relations r ON r.oid = con.conrelid
  WHERE con.contype IN ('p', 'u', 'f') AND con.conparentid = 0
    AND (con.contype <> 'f' OR con.confrelid IN (SELECT oid FROM relations))
),
views AS (
  SELECT rw.ev_class, rw.ev_action::text AS definition
  FROM pg_rewrite rw
  JOIN relations r ON r.oid = rw.ev_class
  WHERE r.relkind IN ('v', 'm') AND rw.rulename = '_RETURN'
),
function_args AS (
  SELECT
    p.oid,
    json_agg(
      json_build_object(
        'name', coalesce(arg.name, ''),
        'type', format_type(arg.type, NULL),
        'mode', coalesce(arg.mode, 'i'),
        'relid', coalesce(t.typrelid, 0)
      )
      ORDER BY arg.position
    ) AS args
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  CROSS JOIN LATERAL unnest(
    coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames, p.proargmodes::text[]
  ) WITH ORDINALITY AS arg(type, name, mode, position)
  LEFT JOIN pg_type t ON t.oid = arg.type
  WHERE n.nspname = ANY (%(schemas)s::text[]) AND p.prokind = 'f'
  GROUP BY p.oid
),
media_types AS (
  -- Domains named like `type/subtype` (RFC 6838 characters) or `*/*`.
  SELECT t.oid, n.nspname, t.typname, lower(t.typname) AS media_type, bt.typname AS base_type
  FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  JOIN pg_type bt ON bt.oid = t.typbasetype
  WHERE t.typtype = 'd' AND (
    t.typname ~ '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$' OR t.typname = '*/*')
),
media_handlers AS (
  SELECT n.nspname, p.proname, mt.media_type, mt.base_type, rn.nspname AS target_schema, c.relname AS target
  FROM pg_aggregate a
  JOIN pg_proc p ON p.oid = a.aggfnoid
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN media_types mt ON mt.oid = p.prorettype
  JOIN pg_type arg ON arg.oid = p.proargtypes[0]
  LEFT JOIN pg_class c ON c.oid = arg.typrelid AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
  LEFT JOIN pg_namespace rn ON rn.oid = c.relnamespace
  WHERE n.nspname = ANY (%(schemas)s::text[]) AND p.pronargs = 1 AND a.aggkind = 'n'
    AND (c.oid IS NOT NULL OR arg.oid = 'anyelement'::regtype)
),
functions AS (
  SELECT
    n.nspname,
    p.proname,
    p.provolatile,
    p.proretset,
    p.prorows,
    obj_description(p.oid, 'pg_proc') AS description,
    -- A domain over a table's row type returns that table's rows.
    CASE WHEN rt.typtype = 'd' AND bt.typrelid <> 0 THEN bn.nspname ELSE rn.nspname END AS return_schema,
    CASE WHEN rt.typtype = 'd' AND bt.typrelid <> 0 THEN bt.typname ELSE rt.typname END AS return_name,
    CASE WHEN rt.typtype = 'd' THEN coalesce(bt.typrelid, 0) ELSE rt.typrelid END AS return_relid,
    rt.oid = 'record'::regtype AS return_record,
    p.pronargs,
    p.pronargdefaults,
    coalesce(p.proconfig, '{}') AS settings,
    coalesce(fa.args, '[]') AS args
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_type rt ON rt.oid = p.prorettype
  JOIN pg_namespace rn ON rn.oid = rt.typnamespace
  LEFT JOIN pg_type bt ON bt.oid = rt.typbasetype
  LEFT JOIN pg_namespace bn ON bn.oid = bt.typnamespace
  LEFT JOIN function_args fa ON fa.oid = p.oid
  WHERE n.nspname = ANY (%(schemas)s::text[]) AND p.prokind = 'f'
)
SELECT json_build_object(
  'relations', (
    SELECT coalesce(json_agg(json_build_object(
      'oid', r.oid, 'schema', r.nspname, 'name', r.relname, 'kind', r.relkind, 'exposed', r.exposed,
      'description', r.description, 'updatable_events', r.updatable_events,
      'columns', coalesce(c.columns, '[]')
    )), '[]')
    FROM relations r LEFT JOIN columns c ON c.attrelid = r.oid
  ),
  'constraints', (
    SELECT coalesce(json_agg(json_build_object(
      'name', k.conname, 'type', k.contype, 'relid', k.conrelid, 'columns', k.conkey,
      'frelid', k.confrelid, 'fcolumns', coalesce(k.confkey, '{}')
    )), '[]')
    FROM constraints k
  ),
  'views', (
    SELECT coalesce(json_agg(json_build_object('oid', v.ev_class, 'definition', v.definition)), '[]')
    FROM views v
  ),
  'functions', (
    SELECT coalesce(json_agg(json_build_object(
      'schema', f.nspname, 'name', f.proname, 'volatility', f.provolatile, 'set_of', f.proretset,
      'rows', f.prorows, 'description', f.description, 'return_schema', f.return_schema,
      'return_name', f.return_name, 'return_relid', f.return_relid, 'return_record', f.return_record,
      'nargs', f.pronargs, 'ndefaults', f.pronargdefaults, 'args', f.args, 'settings', f.settings
    )), '[]')
    FROM functions f
  ),
  'representations', (
    SELECT coalesce(json_agg(json_build_object(
      'source', format_type(c.castsource, NULL), 'target', format_type(c.casttarget, NULL),
      'function_schema', fn.nspname, 'function', f.proname
    )), '[]')
    FROM pg_cast c
    JOIN pg_proc f ON f.oid = c.castfunc
    JOIN pg_namespace fn ON fn.oid = f.pronamespace
    JOIN pg_type src ON src.oid = c.castsource
    JOIN pg_type dst ON dst.oid = c.casttarget
    WHERE c.castfunc <> 0
      AND (src.typtype = 'd' OR dst.typtype = 'd')
      AND ('json'::regtype IN (c.castsource, c.casttarget) OR 'text'::regtype IN (c.castsource, c.casttarget))
  ),
  'media_types', (
    SELECT coalesce(json_agg(json_build_object(
      'schema', m.nspname, 'name', m.typname, 'base_type', m.base_type
    )), '[]')
    FROM media_types m
  ),
  'media_handlers', (
    SELECT coalesce(json_agg(json_build_object(
      'schema', h.nspname, 'name', h.proname, 'media_type', h.media_type, 'base_type', h.base_type,
      'target_schema', h.target_schema, 'target', h.target
    )), '[]')
    FROM media_handlers h
  ),
  'schemas', (
    SELECT coalesce(json_agg(json_build_object(
      'name', n.nspname, 'description', obj_description(n.oid, 'pg_namespace')
    )), '[]')
    FROM pg_namespace n
    WHERE n.nspname = ANY (%(schemas)s::text[])
  )
)
"""
