"""jwt-secret as a JWKS URL: a key server on loopback rotates its keys mid-test."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from jwt.algorithms import RSAAlgorithm

from pgrest_core.config import Settings
from pgrest_server.jwks import DEFAULT_MAX_AGE, RemoteKeySet, max_age
from tests.integration.test_asgi import asgi_uri, serving, settings

__all__ = ["asgi_uri", "settings"]  # fixtures shared with the ASGI tests


@dataclass
class KeyServer:
    """What the loopback JWKS endpoint answers; change it to rotate keys or misbehave."""

    keys: dict[str, RSAPrivateKey] = field(default_factory=dict)
    cache_control: str | None = "max-age=600"
    garbage: bool = False
    hang_seconds: float = 0.0
    fetches: int = 0
    url: str = ""

    def body(self) -> bytes:
        if self.garbage:
            return b"<html>not a key set</html>"
        keys = []
        for kid, private in self.keys.items():
            jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return json.dumps({"keys": keys}).encode()

    def sign(self, kid: str, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


def new_key() -> RSAPrivateKey:
    return generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture()
def key_server() -> Iterator[KeyServer]:
    state = KeyServer(keys={"k1": new_key()})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state.fetches += 1
            if state.hang_seconds:
                time.sleep(state.hang_seconds)
            body = state.body()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if state.cache_control:
                self.send_header("Cache-Control", state.cache_control)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.hang_seconds = 0
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, DEFAULT_MAX_AGE),
        ("public, max-age=60", 60.0),
        ('max-age="5", must-revalidate', 5.0),
        ("no-store", 0.0),
        ("private", DEFAULT_MAX_AGE),
    ],
)
def test_cache_control_sets_how_long_keys_are_kept(header: str | None, seconds: float) -> None:
    assert max_age(header) == seconds


def test_stale_sets_are_fetched_again_after_max_age(key_server: KeyServer) -> None:
    now = [0.0]
    key_server.cache_control = "max-age=10"
    keys = RemoteKeySet(key_server.url, min_refresh_interval=0, clock=lambda: now[0])

    async def scenario() -> None:
        assert keys.stale and keys.current is None
        await keys.refresh_if_stale()
        assert key_server.fetches == 1 and not keys.stale
        now[0] = 5.0
        await keys.refresh_if_stale()
        assert key_server.fetches == 1  # still fresh
        now[0] = 11.0
        await keys.refresh_if_stale()
        assert key_server.fetches == 2

    asyncio.run(scenario())


def test_unknown_kid_refetches_at_most_once_per_interval(key_server: KeyServer) -> None:
    now = [100.0]
    keys = RemoteKeySet(key_server.url, min_refresh_interval=30, clock=lambda: now[0])

    async def scenario() -> None:
        await keys.refresh()
        assert not await keys.refresh_for_unknown_kid()  # too soon after the last fetch
        now[0] += 31
        key_server.keys["k2"] = new_key()
        assert await keys.refresh_for_unknown_kid()
        assert key_server.fetches == 2

    asyncio.run(scenario())


def test_garbage_keeps_the_keys_there_are(key_server: KeyServer) -> None:
    keys = RemoteKeySet(key_server.url, min_refresh_interval=0)

    async def scenario() -> None:
        await keys.refresh()
        before = keys.current
        key_server.garbage = True
        assert not await keys.refresh()
        assert keys.current == before and before is not None

    asyncio.run(scenario())


def test_a_hung_endpoint_is_bounded_by_the_timeout(key_server: KeyServer) -> None:
    key_server.hang_seconds = 10
    keys = RemoteKeySet(key_server.url, timeout=0.5)
    started = time.monotonic()
    assert not asyncio.run(keys.refresh())
    assert time.monotonic() - started < 3
    assert keys.current is None


def test_an_unreachable_endpoint_changes_nothing() -> None:
    keys = RemoteKeySet("http://127.0.0.1:9/jwks.json", timeout=0.5)
    assert not asyncio.run(keys.refresh())
    assert keys.current is None


# --- through the app ------------------------------------------------------------------------------


def _jwks_settings(settings: Settings, url: str) -> Settings:
    return replace(settings, jwt_secret=url, db_anon_role="asgi_anon")



def test_rotation_without_restart(settings: Settings, key_server: KeyServer) -> None:
    claims = {"role": "asgi_user"}

    async def scenario() -> None:
        async with serving(_jwks_settings(settings, key_server.url)) as (app, client):
            assert app.jwks is not None
            for _ in range(50):  # the first fetch runs in the background
                if app.jwks.current is not None:
                    break
                await asyncio.sleep(0.05)
            app.jwks.min_refresh_interval = 0
            old = key_server.sign("k1", claims)
            response = await client.get("/items", headers={"Authorization": f"Bearer {old}"})
            assert response.status_code == 200, response.text

            # The issuer rotates: k2 is added, then k1 is removed.
            key_server.keys = {"k2": new_key()}
            new = key_server.sign("k2", claims)
            response = await client.get("/items", headers={"Authorization": f"Bearer {new}"})
            assert response.status_code == 200, response.text
            response = await client.get("/items", headers={"Authorization": f"Bearer {old}"})
            assert response.status_code == 401
            assert response.json()["code"] == "PGRST301"

    asyncio.run(scenario())



def test_tokens_get_401_while_the_key_set_cannot_be_fetched(settings: Settings, key_server: KeyServer) -> None:
    key_server.hang_seconds = 5
    token = key_server.sign("k1", {"role": "asgi_user"})

    async def scenario() -> None:
        async with serving(_jwks_settings(settings, key_server.url)) as (app, client):
            assert app.jwks is not None
            app.jwks.timeout = 0.5
            started = time.monotonic()
            response = await client.get("/items", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401
            assert response.json()["code"] == "PGRST301"
            assert time.monotonic() - started < 4  # bounded, never a hang
            anonymous = await client.get("/items")
            assert anonymous.status_code == 200  # requests without a token are unaffected

    asyncio.run(scenario())
