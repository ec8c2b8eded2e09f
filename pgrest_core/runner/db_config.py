"""The in-database configuration: `pgrst.*` settings of the authenticator role, and db-pre-config.

    ALTER ROLE authenticator IN DATABASE mydb SET pgrst.db_schemas = 'api';   -- wins
    ALTER ROLE authenticator SET pgrst.db_schemas = 'other';                  -- next
    CREATE FUNCTION postgrest.pre_config() ... set_config('pgrst.db_schemas', 'x', true)  -- last

A setting of the database alone (`ALTER DATABASE ... SET pgrst.x`) does not count, nor does one
of another role. `pgrest_core.configfile.settings_from_db` turns the pairs into `Settings`.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pgrest_core.fragment import quote_ident
from pgrest_core.settings import DB_KEYS, Settings, db_setting_name

# The role's settings for this database (setdatabase = its oid) rank before its settings for
# every database (setdatabase = 0); the pre-config function's values (database NULL) rank last.
_ROLE_SETTINGS = """
with role_settings as (
  select s.setdatabase as db, split_part(item, '=', 1) as name,
         substr(item, strpos(item, '=') + 1) as value
  from pg_catalog.pg_db_role_setting s, unnest(s.setconfig) as item
  where s.setrole = (select oid from pg_catalog.pg_roles where rolname = current_user)
    and s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
){pre_config}
select distinct on (name) name, value
from {source}
where name = any(%s::text[]) and value is not null
order by name, db desc nulls last
"""

# Calling the function first (a CTE the next one joins) makes its set_config calls visible to
# current_setting in the same statement.
_PRE_CONFIG = """,
pre_config_call as materialized (select 1 from {function}()),
pre_config_settings as (
  select null::oid as db, name, current_setting(name, true) as value
  from unnest(%s::text[]) as name, pre_config_call
),
all_settings as (select * from role_settings union all select * from pre_config_settings)"""


def db_config_query(pre_config: str | None) -> tuple[str, tuple[list[str], ...]]:
    """The query (psycopg placeholders) and its parameters: (name, value) per in-database
    setting that is set, the winner for each name."""
    names = [db_setting_name(key) for key in DB_KEYS]
    if not pre_config:
        return _ROLE_SETTINGS.format(pre_config="", source="role_settings"), (names,)
    pre = _PRE_CONFIG.format(function=_qualified(pre_config))
    return _ROLE_SETTINGS.format(pre_config=pre, source="all_settings"), (names, names)


def _qualified(name: str) -> str:
    """`schema.function` or `function`, each part quoted as an identifier."""
    schema, dot, function = name.rpartition(".")
    return (quote_ident(schema) + "." if dot else "") + quote_ident(function)


async def read_db_config(conn: psycopg.AsyncConnection[Any], pre_config: str | None) -> dict[str, str]:
    """Run the query on `conn` (autocommit) in a read-only transaction; the pre-config
    function's set_config calls stay inside it (they are transaction-local)."""
    text, params = db_config_query(pre_config)
    async with conn.transaction():
        await conn.execute("SET TRANSACTION READ ONLY")
        cursor = await conn.execute(text, params)
        rows = await cursor.fetchall()
    return {str(name): str(value) for name, value in rows}


async def apply_db_config(conn: psycopg.AsyncConnection[Any], base: Settings) -> Settings:
    """`base` (the file and PGRST_*) with the in-database configuration over it.

    db-pre-config may itself be set in the database; then the settings are read once more
    with that function, so that what it sets counts too.
    """
    from pgrest_core.configfile import settings_from_db

    settings = settings_from_db(await read_db_config(conn, base.db_pre_config), base)
    if settings.db_pre_config and settings.db_pre_config != base.db_pre_config:
        settings = settings_from_db(await read_db_config(conn, settings.db_pre_config), base)
    return settings
