"""A small, readable schema cache for compiler tests: films, directors, actors through roles."""

from __future__ import annotations

from pgrest_core.schema.model import (
    Cardinality,
    Column,
    ComputedRelationship,
    Junction,
    QualifiedName,
    Relationship,
    ReturnType,
    Routine,
    RoutineParam,
    SchemaCache,
    Table,
)

FILMS = QualifiedName("public", "films")
DIRECTORS = QualifiedName("public", "directors")
ACTORS = QualifiedName("public", "actors")
ROLES = QualifiedName("public", "roles")
DETAILS = QualifiedName("public", "film_details")


def _table(name: QualifiedName, columns: list[tuple[str, str]], pk: tuple[str, ...]) -> Table:
    return Table(name.schema, name.name, tuple(Column(c, t) for c, t in columns), primary_key=pk)


def _fk(
    source: QualifiedName,
    target: QualifiedName,
    cardinality: Cardinality,
    name: str,
    cols: tuple[tuple[str, str], ...],
) -> Relationship:
    return Relationship(source, target, cardinality, name, cols)


def films_cache() -> SchemaCache:
    tables = {
        FILMS: _table(
            FILMS,
            [
                ("id", "integer"),
                ("title", "text"),
                ("year", "integer"),
                ("director_id", "integer"),
                ("meta", "jsonb"),
                ("tags", "text[]"),
                ("search", "tsvector"),
            ],
            ("id",),
        ),
        DIRECTORS: _table(
            DIRECTORS, [("id", "integer"), ("first_name", "text"), ("last_name", "text")], ("id",)
        ),
        ACTORS: _table(ACTORS, [("id", "integer"), ("name", "text")], ("id",)),
        ROLES: _table(
            ROLES,
            [("film_id", "integer"), ("actor_id", "integer"), ("character", "text")],
            ("film_id", "actor_id"),
        ),
        DETAILS: _table(DETAILS, [("film_id", "integer"), ("budget", "numeric")], ("film_id",)),
    }
    roles_junction = Junction(
        ROLES, "roles_film_id_fkey", (("id", "film_id"),), "roles_actor_id_fkey", (("id", "actor_id"),)
    )
    relationships = {
        FILMS: (
            _fk(
                FILMS, DIRECTORS, Cardinality.MANY_TO_ONE, "films_director_id_fkey", (("director_id", "id"),)
            ),
            _fk(FILMS, ROLES, Cardinality.ONE_TO_MANY, "roles_film_id_fkey", (("id", "film_id"),)),
            _fk(FILMS, DETAILS, Cardinality.ONE_TO_ONE, "film_details_film_id_fkey", (("id", "film_id"),)),
            Relationship(FILMS, ACTORS, Cardinality.MANY_TO_MANY, "roles", junction=roles_junction),
        ),
        DIRECTORS: (
            _fk(
                DIRECTORS, FILMS, Cardinality.ONE_TO_MANY, "films_director_id_fkey", (("id", "director_id"),)
            ),
        ),
    }
    full_name = Routine(
        "public", "full_name", (RoutineParam("d", "directors"),), ReturnType("pg_catalog", "text"), "stable"
    )
    return SchemaCache(
        schemas=("public",),
        tables=tables,
        relationships=relationships,
        computed_fields={DIRECTORS: (full_name,)},
        computed_relationships=(
            ComputedRelationship(QualifiedName("public", "latest_film"), DIRECTORS, FILMS, single_row=True),
        ),
    )
