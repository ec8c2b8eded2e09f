"""The DDL reader never crashes: whatever the text, it returns a cache and warnings."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgrest_core.schema.ddl import read_ddl

# Pieces of PostgreSQL DDL, valid and broken, recombined at random.
_PIECES = [
    "create table t (id int primary key, a text default 'x', b int references t)",
    "create table u (", "create table s.t (x int)", "create schema s", "create view v as select",
    "create view v as select * from t", "create view w as select a, count(*) from t group by a",
    "create function f(a int default 1) returns setof t language sql as $$ select * from t $$",
    "create function g(", "create function h() returns table (", "returns", "setof", "variadic",
    "alter table t add constraint c foreign key (a) references", "alter table t rename to",
    "alter table t alter column a set default", "comment on column t.", "comment on function f(int) is 'x'",
    "create type e as enum (", "create domain d as", "create aggregate a(t) (stype = d)",
    "create cast (d as json) with function f(d)", "set search_path =", "set search_path = s, public",
    "drop table t", "drop schema s cascade", "drop function", "create trigger x instead of insert on v",
    "create rule r as on delete to v do instead nothing", "create table x as select 1",
    ")", "(", ",", "'", '"', "$$", "int[]", "oid[]", "now()", "not null", "unique", "primary key",
    "generated always as identity", "partition of t for values in (1)", "inherits (t)",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=4), min_size=1, max_size=6))
def test_random_ddl_never_crashes(statements: list[list[str]]) -> None:
    script = ";\n".join(" ".join(pieces) for pieces in statements)
    result = read_ddl([script], ["public", "s"])
    assert all(warning.reason for warning in result.warnings)
