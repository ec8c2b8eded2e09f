"""The examples/ programs, run against the demo database."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from examples import fastapi_host, fastapi_mount, flask_view, sync_script


def test_the_sync_script_reads_writes_and_reports_errors(demo_db_uri: str) -> None:
    read, created, found, missing = sync_script.main(demo_db_uri)
    assert read.status == 200
    assert [film["year"] > 2000 for film in json.loads(read.body)] == [True, True, True]
    assert created.status == 201
    assert dict(created.headers)["Location"].startswith("/directors?id=eq.")
    assert json.loads(found.body) == [{"first_name": "Akira"}]
    assert (missing.status, json.loads(missing.body)["code"]) == (404, "PGRST205")


def test_the_fastapi_host_serves_the_api_under_rest(demo_db_uri: str) -> None:
    with TestClient(fastapi_host.create_app(demo_db_uri)) as client:
        films = client.get("/rest/films", params={"select": "title", "year": "lt.2010", "order": "year"})
        assert films.status_code == 200
        assert films.headers["content-location"].startswith("/rest/films?")
        assert films.headers["content-range"] == f"0-{len(films.json()) - 1}/*"
        created = client.post(
            "/rest/actors", json={"first_name": "Ada", "last_name": "Lovelace"},
            headers={"Prefer": "return=headers-only"},
        )
        assert created.status_code == 201
        assert created.headers["location"].startswith("/rest/actors?id=eq.")
        assert client.options("/rest/films").headers["allow"] == "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"
        assert client.get("/rest/", headers={"Host": "example.org:8000"}).json()["basePath"] == "/rest"
        singular = client.patch(
            "/rest/films", json={"rating": 1}, headers={"Accept": "application/vnd.pgrst.object+json"}
        )
        assert (singular.status_code, singular.json()["code"]) == (406, "PGRST116")
        assert all(film["rating"] != 1 for film in client.get("/rest/films").json())  # rolled back


def test_the_flask_view_serves_the_api_under_rest(demo_db_uri: str) -> None:
    app = flask_view.create_app(demo_db_uri)
    try:
        client = app.test_client()
        films = client.get("/rest/films?select=title&id=eq.1")
        assert films.status_code == 200 and len(films.get_json()) == 1
        deleted = client.delete("/rest/roles?film_id=eq.1")
        assert deleted.status_code == 204 and "Content-Type" not in deleted.headers
        assert client.get("/rest/roles?film_id=eq.1").get_json() == []
        missing = client.get("/rest/films?nope=eq.1")
        assert (missing.status_code, missing.get_json()["code"]) == (400, "42703")
        assert client.get("/rest/").get_json()["swagger"] == "2.0"
    finally:
        app.extensions["pgrest_pool"].close()


def test_the_mounted_server_example_starts_on_its_first_request(demo_db_uri: str) -> None:
    with TestClient(fastapi_mount.create_app(demo_db_uri)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        films = client.get("/api/films?select=id&limit=1")
        assert films.status_code == 200, films.text
        assert films.headers["content-location"] == "/api/films?limit=1&select=id"
