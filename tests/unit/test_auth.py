"""pgrest_core.auth: PostgREST's JWT checks, codes, messages and WWW-Authenticate headers."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from typing import Any

import jwt as pyjwt
import pytest

from pgrest_core import auth
from pgrest_core.auth import (
    Authenticator,
    AuthResult,
    HmacKey,
    OtherKey,
    PublicKey,
    bearer_token,
    decode_error,
    parse_jwt_keys,
)
from pgrest_core.config import ConfigError, Settings
from pgrest_core.jspath import parse_jspath
from pgrest_core.errors import JwtError

# Tokens minted here use short HMAC keys on purpose (PostgREST accepts them in JWKs).
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECRET = "reallyreallyreallyreallyverysafe"
NOW = 1_700_000_000


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(claims: dict[str, Any], secret: str | bytes = SECRET, alg: str = "HS256", **headers: Any) -> str:
    return pyjwt.encode(claims, secret, algorithm=alg, headers=headers or None)


def authenticator(**overrides: Any) -> Authenticator:
    settings = Settings(jwt_secret=SECRET, db_anon_role="anon")
    for name, value in overrides.items():
        settings = settings.__class__(**{**_fields(settings), name: value})
    return Authenticator.from_settings(settings)


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


def fails(a: Authenticator, header: str | None, now: float = NOW) -> JwtError:
    with pytest.raises(JwtError) as info:
        a.authenticate(header, now=now)
    return info.value


def www_authenticate(error: JwtError) -> str | None:
    return dict(error.headers).get("WWW-Authenticate")


# --- no token --------------------------------------------------------------------------------


def test_no_header_is_the_anonymous_role() -> None:
    assert authenticator().authenticate(None) == AuthResult("anon", {}, authenticated=False)


def test_other_schemes_are_anonymous() -> None:
    assert authenticator().authenticate("Basic dXNlcjpwYXNz").role == "anon"


def test_no_anonymous_role() -> None:
    error = fails(authenticator(db_anon_role=None), None)
    assert (error.code, error.status, error.message) == ("PGRST302", 401, "Anonymous access is disabled")
    assert www_authenticate(error) == "Bearer"
    assert error.body() == {
        "code": "PGRST302",
        "details": None,
        "hint": None,
        "message": "Anonymous access is disabled",
    }


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "bearer "])
def test_empty_token(header: str) -> None:
    error = fails(authenticator(), header)
    assert (error.code, error.status) == ("PGRST301", 401)
    assert error.message == "Empty JWT is sent in Authorization header"
    assert www_authenticate(error) == (
        'Bearer error="invalid_token", error_description="Empty JWT is sent in Authorization header"'
    )


def test_bearer_token_extraction() -> None:
    assert bearer_token(None) is None
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("BEARER abc") == "abc"
    assert bearer_token("Bearer  abc") == ""  # as PostgREST splits on single spaces
    assert bearer_token("Token abc") is None


def test_token_without_secret() -> None:
    error = fails(authenticator(jwt_secret=None), "Bearer " + mint({"role": "r"}))
    assert (error.code, error.status, error.message) == ("PGRST300", 500, "Server lacks JWT secret")
    assert error.headers == ()
    assert authenticator(jwt_secret=None).authenticate(None).role == "anon"


# --- a valid token ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BeArEr"])
def test_valid_token(scheme: str) -> None:
    claims = {"role": "author", "id": "jdoe", "n": 1}
    result = authenticator().authenticate(f"{scheme} {mint(claims)}", now=NOW)
    assert result == AuthResult("author", claims, authenticated=True)


def test_claims_are_returned_unchanged() -> None:
    claims = {"role": "author", "nested": {"a": [1, None, True]}, "iss": "joe"}
    assert authenticator().authenticate("Bearer " + mint(claims), now=NOW).claims == claims


def test_missing_role_claim_falls_back_to_anonymous() -> None:
    result = authenticator().authenticate("Bearer " + mint({"id": "jdoe"}), now=NOW)
    assert result == AuthResult("anon", {"id": "jdoe"}, authenticated=False)


def test_missing_role_claim_without_anonymous_role() -> None:
    error = fails(authenticator(db_anon_role=None), "Bearer " + mint({"id": 1}))
    assert error.code == "PGRST302"


def test_custom_role_claim_key() -> None:
    a = authenticator(jwt_role_claim_key=parse_jspath('."https://x.com/claims".roles[1]'))
    token = mint({"https://x.com/claims": {"roles": ["user", "admin"]}, "role": "ignored"})
    assert a.authenticate("Bearer " + token, now=NOW).role == "admin"


def test_role_claim_key_with_filter() -> None:
    a = authenticator(jwt_role_claim_key=parse_jspath('$.roles[?@ ^== "app_"]'))
    assert a.authenticate("Bearer " + mint({"roles": ["x", "app_editor"]}), now=NOW).role == "app_editor"


@pytest.mark.parametrize(
    ("value", "role"), [(1, "1"), (True, "true"), ({"a": 1}, '{"a":1}'), ([1, "x"], '[1,"x"]')]
)
def test_non_string_roles_are_json_text(value: Any, role: str) -> None:
    assert authenticator().authenticate("Bearer " + mint({"role": value}), now=NOW).role == role


# --- malformed tokens ------------------------------------------------------------------------


@pytest.mark.parametrize(("token", "parts"), [("abc", 1), ("a.b", 2), ("a.b.c.d", 4), ("..", 3)])
def test_wrong_number_of_parts(token: str, parts: int) -> None:
    if parts == 3:
        assert fails(authenticator(), "Bearer " + token).message == "JWT cryptographic operation failed"
        return
    error = fails(authenticator(), "Bearer " + token)
    assert (error.code, error.message) == ("PGRST301", f"Expected 3 parts in JWT; got {parts}")
    assert www_authenticate(error) == (
        f'Bearer error="invalid_token", error_description="Expected 3 parts in JWT; got {parts}"'
    )


def _with_header(header: Any, payload: str = b64url(b"{}"), signature: str = "c2ln") -> str:
    return f"{b64url(json.dumps(header).encode())}.{payload}.{signature}"


@pytest.mark.parametrize(
    "token",
    [
        "quifquirndsjagnrgniur.fonvoienqhhdj.iuqvnvhojah",  # the corpus's random characters
        b64url(b"not json") + ".e30.c2ln",
        _with_header([1, 2]),
        _with_header({"typ": "JWT"}),  # no alg
        _with_header({"alg": "HS999"}),
        _with_header({"alg": "HS256", "kid": 5}),
        _with_header({"alg": "HS256"}, payload="***"),
        _with_header({"alg": "HS256"}, signature="a"),
    ],
)
def test_unreadable_tokens(token: str) -> None:
    error = fails(authenticator(), "Bearer " + token)
    assert (error.code, error.status, error.message, error.details) == (
        "PGRST301",
        401,
        "JWT cryptographic operation failed",
        None,
    )


def test_alg_none_is_refused() -> None:
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.e30.yOBhlOIqn56T-4NvyEXCjfi3UmyQZ-BzXtePMO2NgRI"
    error = fails(authenticator(), "Bearer " + token)
    assert error.message == "Wrong or unsupported encoding algorithm"
    assert error.details == "JWT is unsecured but expected 'alg' was not 'none'"


def test_wrong_secret() -> None:
    error = fails(authenticator(), "Bearer " + mint({"role": "r"}, secret="another-secret-of-32-characters!"))
    assert (error.code, error.message) == ("PGRST301", "No suitable key or wrong key type")
    assert error.details == "None of the keys was able to decode the JWT"


def test_tampered_payload() -> None:
    header, _, signature = mint({"role": "anon"}).split(".")
    forged = f"{header}.{b64url(json.dumps({'role': 'admin'}).encode())}.{signature}"
    assert fails(authenticator(), "Bearer " + forged).details == "None of the keys was able to decode the JWT"


@pytest.mark.parametrize("alg", ["HS384", "HS512", "RS256"])
def test_plain_secret_is_an_hs256_key(alg: str) -> None:
    if alg.startswith("HS"):
        token = mint({"role": "r"}, alg=alg)
    else:
        token = _with_header({"alg": alg}, payload=b64url(b'{"role":"r"}'))
    error = fails(authenticator(), "Bearer " + token)
    assert error.message == "No suitable key or wrong key type"
    assert error.details == "No suitable key was found to decode the JWT"


@pytest.mark.parametrize("payload", [b"[1, 2]", b"not json", b'"text"', b"\xff\xfe"])
def test_payload_that_is_not_an_object(payload: bytes) -> None:
    key = SECRET.encode()
    header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    signing_input = f"{header}.{b64url(payload)}".encode()
    import hmac

    signature = b64url(hmac.new(key, signing_input, hashlib.sha256).digest())
    error = fails(authenticator(), f"Bearer {signing_input.decode()}.{signature}")
    assert (error.code, error.status, error.message) == ("PGRST303", 401, "Parsing claims failed")


# --- time claims -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": NOW - 31}, "JWT expired"),
        ({"nbf": NOW + 31}, "JWT not yet valid"),
        ({"iat": NOW + 31}, "JWT issued at future"),
        ({"exp": "soon"}, "The JWT 'exp' claim must be a number"),
        ({"nbf": [1]}, "The JWT 'nbf' claim must be a number"),
        ({"iat": True}, "The JWT 'iat' claim must be a number"),
        ({"exp": NOW - 31, "nbf": NOW + 31}, "JWT expired"),  # exp is checked first
        ({"nbf": NOW + 31, "iat": "x"}, "JWT not yet valid"),
        ({"exp": float(NOW) + 0.5}, "JWT expired"),  # PostgREST reads a non-integral time as 0
    ],
)
def test_time_claims_rejected(claims: dict[str, Any], message: str) -> None:
    error = fails(authenticator(), "Bearer " + mint({"role": "r", **claims}))
    assert (error.code, error.status, error.message, error.details) == ("PGRST303", 401, message, None)
    assert www_authenticate(error) == f'Bearer error="invalid_token", error_description="{message}"'


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": NOW - 29},  # within the 30 s clock skew
        {"exp": NOW - 30},
        {"nbf": NOW + 29},
        {"iat": NOW + 30},
        {"exp": None, "nbf": None, "iat": None, "aud": None},
        {"exp": float(NOW + 100)},
        {"exp": NOW + 1, "nbf": NOW - 1, "iat": NOW},
    ],
)
def test_time_claims_accepted(claims: dict[str, Any]) -> None:
    assert authenticator().authenticate("Bearer " + mint({"role": "r", **claims}), now=NOW).role == "r"


def test_time_relative_to_the_real_clock() -> None:
    import time

    now = int(time.time())
    a = authenticator()
    assert a.authenticate("Bearer " + mint({"role": "r", "exp": now + 60})).role == "r"
    assert fails(a, "Bearer " + mint({"role": "r", "exp": now - 60}), now=now).message == "JWT expired"


# --- audience --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aud", "ok"),
    [
        ("youraudience", True),
        ("notyouraudience", False),
        ("", False),
        (["youraudience"], True),
        (["a", "youraudience", "b"], True),
        (["a", "b"], False),
        ([], True),
    ],
)
def test_audience_configured(aud: Any, ok: bool) -> None:
    a = authenticator(jwt_aud="youraudience")
    header = "Bearer " + mint({"role": "r", "aud": aud})
    if ok:
        assert a.authenticate(header, now=NOW).role == "r"
    else:
        assert fails(a, header).message == "JWT not in audience"


@pytest.mark.parametrize("aud", ["anything", "", ["x", "y"], []])
def test_audience_not_configured_accepts_any(aud: Any) -> None:
    assert authenticator().authenticate("Bearer " + mint({"role": "r", "aud": aud}), now=NOW).role == "r"


def test_no_audience_claim_is_accepted() -> None:
    assert authenticator(jwt_aud="x").authenticate("Bearer " + mint({"role": "r"}), now=NOW).role == "r"


@pytest.mark.parametrize("aud", [{"invalid": "value"}, [{"invalid": "value"}, "test"], 5])
def test_audience_of_the_wrong_type(aud: Any) -> None:
    error = fails(authenticator(), "Bearer " + mint({"role": "r", "aud": aud}))
    assert error.message == "The JWT 'aud' claim must be a string or an array of strings"


# --- secrets and key sets --------------------------------------------------------------------


def test_base64_secret() -> None:
    raw = bytes(range(40))
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().replace("=", ".")):
        a = authenticator(jwt_secret=encoded, jwt_secret_is_base64=True)
        assert a.authenticate("Bearer " + mint({"role": "bin"}, secret=raw), now=NOW).role == "bin"


def test_bad_base64_secret() -> None:
    with pytest.raises(ConfigError, match="'jwt-secret'"):
        parse_jwt_keys("not base64!!", is_base64=True)


@pytest.mark.parametrize("secret", ["short", '{"kty": "RSA"}', '{"keys": [{"kty": "oct"}]}', "[1,2]"])
def test_short_secret_is_refused(secret: str) -> None:
    with pytest.raises(ConfigError, match="at least 32 characters"):
        parse_jwt_keys(secret)


def test_unread_secret_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="'jwt-secret'"):
        Authenticator.from_settings(Settings(jwt_secret="@/run/secret"))


def test_key_parsing() -> None:
    assert parse_jwt_keys(SECRET) == (HmacKey(SECRET.encode(), use="sig", alg="HS256"),)
    keys = parse_jwt_keys(
        json.dumps(
            {
                "keys": [
                    {"kty": "oct", "k": b64url(b"k" * 8), "kid": "1", "alg": "HS512"},
                    {"kty": "RSA", "n": b64url(b"\x01\x00\x01"), "e": "AQAB", "use": "sig"},
                    {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"},
                ]
            }
        )
    )
    assert keys == (
        HmacKey(b"kkkkkkkk", kid="1", alg="HS512"),
        RsaPublicKey(65537, 65537, use="sig"),
        OtherKey("EC"),
    )


def _oct(secret: bytes, **fields: str) -> dict[str, str]:
    return {"kty": "oct", "k": b64url(secret), **fields}


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_oct_jwk_without_alg_accepts_every_hmac(alg: str) -> None:
    key = b"a short jwk key is fine"
    a = authenticator(jwt_secret=json.dumps(_oct(key)))
    assert a.authenticate("Bearer " + mint({"role": alg}, secret=key, alg=alg), now=NOW).role == alg


def test_key_set_chooses_by_kid_and_alg() -> None:
    one, two = b"first key", b"second key"
    a = authenticator(
        jwt_secret=json.dumps({"keys": [_oct(one, kid="k1"), _oct(two, kid="k2", alg="HS384")]})
    )
    assert a.authenticate("Bearer " + mint({"role": "one"}, secret=one, kid="k1"), now=NOW).role == "one"
    assert a.authenticate("Bearer " + mint({"role": "two"}, secret=two, alg="HS384"), now=NOW).role == "two"
    assert fails(a, "Bearer " + mint({"role": "x"}, secret=two, kid="k3")).details == (
        "No suitable key was found to decode the JWT"
    )
    wrong_alg = mint({"role": "x"}, secret=two, alg="HS512", kid="k2")
    assert fails(a, "Bearer " + wrong_alg).details == "No suitable key was found to decode the JWT"


def test_token_kid_needs_a_key_with_that_kid() -> None:
    error = fails(authenticator(), "Bearer " + mint({"role": "r"}, kid="mine"))
    assert error.details == "No suitable key was found to decode the JWT"


def test_encryption_keys_never_verify() -> None:
    key = b"an encryption key"
    a = authenticator(jwt_secret=json.dumps(_oct(key, use="enc")))
    assert (
        fails(a, "Bearer " + mint({"role": "r"}, secret=key)).message == "No suitable key or wrong key type"
    )


# --- RSA -------------------------------------------------------------------------------------

# The conformance corpus's RS256 case (AsymmetricJwtSpec): a public JWK and a token it signed.
CORPUS_RSA_JWK = {
    "alg": "RS256",
    "e": "AQAB",
    "key_ops": ["verify"],
    "kty": "RSA",
    "n": "0etQ2Tg187jb04MWfpuogYGV75IFrQQBxQaGH75eq_FpbkyoLcEpRUEWSbECP2eeFya2yZ9vIO5ScD-lPmovePk4Aa4"
    "SzZ8jdjhmAbNyk"
    "leRPCxMg0481kz6PQhnHRUv3nF5WP479CnObJKqTVdEagVL66oxnX9VhZG9IZA7k0Th5PfKQwrKGyUeTGczpOjaPqbxlunP73j9AfnAt4XC"
    "S8epa-n3WGz1j-wfpr_ys57Aq-zBCfqP67UYzNpeI1AoXsJhD9xSDOzvJgFRvc3vm2wjAW4LEMwi48rCplamOpZToIHEPIaPzpveYQwDnB1"
    "HFTR1ove9bpKJsHmi-e2uzQ",
    "use": "sig",
}
CORPUS_RSA_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9.eyJyb2xlIjogInBvc3RncmVzdF90ZXN0X2F1dGhvciJ9Cg.CBOYWDvqgAR0YYnZnyDGTQi6AJLc2Pds6_eV3YuB"
    "G6I36mj_h05eLhkEKNEDA5ZteMzCiY83P60rC_xtxVd7B6vo3BeF5uoanPS3rrbuHzKPwzsrgrD_CqvEuJ4n7Q9epkQiLsNkcexneENZDRqF"
    "jbwZx3DrXiCWwlK3Ytr5NAIGxmy0od-0xNpb2U1nXQyO_Q3mumWFViRt4tmFn_3goDHNKG3Ha_AzImfUNvHnWL78kAc4rbn15vLtWXD8Pwt"
    "SnZaB4lY4V6RfsaW937srQsmRetvytM1i_bHBnjkjQLAqGbXPyItjtlXPs0uGNBadE8-wgkLtfmSCC4v2DjUthw"
)


@pytest.mark.parametrize("secret", [CORPUS_RSA_JWK, {"keys": [CORPUS_RSA_JWK]}])
def test_corpus_rs256_token(secret: dict[str, Any]) -> None:
    a = authenticator(jwt_secret=json.dumps(secret))
    assert a.authenticate("Bearer " + CORPUS_RSA_TOKEN, now=NOW).role == "postgrest_test_author"
    header, payload, signature = CORPUS_RSA_TOKEN.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert (
        fails(a, f"Bearer {header}.{payload}.{flipped}").details
        == "None of the keys was able to decode the JWT"
    )
    assert fails(a, "Bearer " + mint({"role": "r"})).details == "No suitable key was found to decode the JWT"


def _probable_prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if all(candidate % p for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31)) and _miller_rabin(
            candidate, rng
        ):
            return candidate


def _miller_rabin(n: int, rng: random.Random, rounds: int = 20) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


@pytest.fixture(scope="module")
def rsa_key() -> tuple[int, int, int]:
    """(n, e, d) of a 1024-bit test key, made with integer arithmetic only."""
    rng = random.Random(20240601)
    e = 65537
    while True:
        p, q = _probable_prime(512, rng), _probable_prime(512, rng)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e:
            return p * q, e, pow(e, -1, phi)


_DIGEST_INFO = {
    "RS256": ("sha256", "3031300d060960864801650304020105000420"),
    "RS384": ("sha384", "3041300d060960864801650304020205000430"),
    "RS512": ("sha512", "3051300d060960864801650304020305000440"),
}


def rsa_sign(claims: dict[str, Any], key: tuple[int, int, int], alg: str, kid: str | None = None) -> str:
    n, _, d = key
    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    hash_name, prefix = _DIGEST_INFO[alg]
    digest = bytes.fromhex(prefix) + hashlib.new(hash_name, signing_input.encode()).digest()
    size = (n.bit_length() + 7) // 8
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    signature = pow(int.from_bytes(encoded, "big"), d, n).to_bytes(size, "big")
    return f"{signing_input}.{b64url(signature)}"


def _rsa_jwk(key: tuple[int, int, int], **fields: str) -> dict[str, str]:
    n, e, _ = key
    return {
        "kty": "RSA",
        "n": b64url(n.to_bytes((n.bit_length() + 7) // 8, "big")),
        "e": b64url(e.to_bytes(3, "big")),
        **fields,
    }


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_rsa_algorithms(rsa_key: tuple[int, int, int], alg: str) -> None:
    a = authenticator(jwt_secret=json.dumps(_rsa_jwk(rsa_key)))
    assert a.authenticate("Bearer " + rsa_sign({"role": alg}, rsa_key, alg), now=NOW).role == alg


def test_rsa_and_hmac_keys_in_one_set(rsa_key: tuple[int, int, int]) -> None:
    hmac_key = b"the hmac key"
    secret = json.dumps({"keys": [_oct(hmac_key), _rsa_jwk(rsa_key, kid="rsa1")]})
    a = authenticator(jwt_secret=secret)
    assert (
        a.authenticate("Bearer " + rsa_sign({"role": "rsa"}, rsa_key, "RS256", "rsa1"), now=NOW).role == "rsa"
    )
    assert a.authenticate("Bearer " + mint({"role": "hmac"}, secret=hmac_key), now=NOW).role == "hmac"


def test_rsa_key_with_alg_refuses_other_algorithms(rsa_key: tuple[int, int, int]) -> None:
    a = authenticator(jwt_secret=json.dumps(_rsa_jwk(rsa_key, alg="RS256")))
    error = fails(a, "Bearer " + rsa_sign({"role": "r"}, rsa_key, "RS512"))
    assert error.details == "No suitable key was found to decode the JWT"


def test_rsa_signature_of_the_wrong_length(rsa_key: tuple[int, int, int]) -> None:
    a = authenticator(jwt_secret=json.dumps(_rsa_jwk(rsa_key)))
    header, payload, _ = rsa_sign({"role": "r"}, rsa_key, "RS256").split(".")
    error = fails(a, f"Bearer {header}.{payload}.{b64url(b'short')}")
    assert error.details == "None of the keys was able to decode the JWT"


# --- the token cache -------------------------------------------------------------------------


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = auth.decode_token

    def counting(token: str, keys: Any) -> dict[str, Any]:
        calls.append(token)
        return real(token, keys)

    monkeypatch.setattr(auth, "decode_token", counting)
    return calls


def test_cache_decodes_a_token_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_decodes(monkeypatch)
    a = authenticator(jwt_cache_max_entries=10)
    header = "Bearer " + mint({"role": "r"})
    assert a.authenticate(header, now=NOW).role == "r"
    assert a.authenticate(header, now=NOW).role == "r"
    assert len(calls) == 1 and a.cache_size() == 1


def test_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    a = authenticator(jwt_cache_max_entries=10)
    header = "Bearer " + mint({"role": "r", "exp": NOW + 10})
    assert a.authenticate(header, now=NOW).role == "r"
    assert fails(a, header, now=NOW + 41).message == "JWT expired"


def test_cache_evicts_the_least_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_decodes(monkeypatch)
    a = authenticator(jwt_cache_max_entries=2)
    first, second, third = ("Bearer " + mint({"role": role}) for role in ("a", "b", "c"))
    for header in (first, second, first, third):  # `second` is the least recently used
        a.authenticate(header, now=NOW)
    assert a.cache_size() == 2
    a.authenticate(first, now=NOW)
    a.authenticate(second, now=NOW)
    assert len(calls) == 4  # a, b, c, then b again


def test_cache_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_decodes(monkeypatch)
    a = authenticator(jwt_cache_max_entries=0)
    header = "Bearer " + mint({"role": "r"})
    a.authenticate(header, now=NOW)
    a.authenticate(header, now=NOW)
    assert len(calls) == 2 and a.cache_size() == 0


def test_errors_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_decodes(monkeypatch)
    a = authenticator()
    header = "Bearer " + mint({"role": "r"}, secret="the-wrong-secret-of-32-characters")
    fails(a, header)
    fails(a, header)
    assert len(calls) == 2 and a.cache_size() == 0


# --- the WWW-Authenticate description --------------------------------------------------------


def test_error_description_is_quoted_and_escaped() -> None:
    error = decode_error('say "hi" \\ é')
    assert (
        www_authenticate(error) == 'Bearer error="invalid_token", error_description="say \\"hi\\" \\\\ \\233"'
    )
