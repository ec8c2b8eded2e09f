"""pgrest_core.auth: PostgREST's JWT checks, codes, messages and WWW-Authenticate headers."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, TypeAlias

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

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
from pgrest_core.errors import JwtError
from pgrest_core.jspath import parse_jspath

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
    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    keys = parse_jwt_keys(
        json.dumps(
            {
                "keys": [
                    {"kty": "oct", "k": b64url(b"k" * 8), "kid": "1", "alg": "HS512"},
                    {**RSAAlgorithm.to_jwk(rsa_public, as_dict=True), "use": "sig"},
                    {"kty": "XYZ", "kid": "future"},
                ]
            }
        )
    )
    assert keys == (
        HmacKey(b"kkkkkkkk", kid="1", alg="HS512"),
        PublicKey(rsa_public, use="sig"),
        OtherKey("XYZ", kid="future"),
    )
    assert keys[1].algorithms == {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    assert keys[2].algorithms == frozenset()


@pytest.mark.parametrize(
    "bad_key",
    [
        {"kty": "RSA", "n": b64url(b"\x01\x00\x01"), "e": "AQAB"},  # e >= n
        {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"},  # not a point
        {"kty": "EC", "crv": "P-999", "x": "a", "y": "b"},
        {"kty": "OKP", "crv": "X25519", "x": b64url(b"x" * 32)},  # an encryption curve
    ],
)
def test_unusable_jwk_makes_the_secret_a_plain_one(bad_key: dict[str, str]) -> None:
    """As PostgREST: text that does not decode as a JWK(S) is an HMAC secret, if long enough."""
    text = json.dumps({"keys": [bad_key]})
    assert parse_jwt_keys(text) == (HmacKey(text.encode(), use="sig", alg="HS256"),)


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


# --- the corpus's RSA key -------------------------------------------------------------------

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


# --- asymmetric keys made by `cryptography`, tokens signed by PyJWT ----------------------------

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey | Ed448PrivateKey


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_keys() -> dict[str, ec.EllipticCurvePrivateKey]:
    """A key per curve, by the algorithm that curve signs."""
    curves = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
    return {alg: ec.generate_private_key(curve) for alg, curve in curves.items()}


def sign(claims: dict[str, Any], key: PrivateKey, alg: str, kid: str | None = None) -> str:
    return pyjwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


def public_jwk(key: PrivateKey, **fields: str) -> dict[str, Any]:
    """The public half of a key as a JWK, written by PyJWT."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, **fields}


def public_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_algorithms(rsa_key: rsa.RSAPrivateKey, alg: str) -> None:
    a = authenticator(jwt_secret=json.dumps(public_jwk(rsa_key)))
    assert a.authenticate("Bearer " + sign({"role": alg}, rsa_key, alg), now=NOW).role == alg


def test_rs256_token(rsa_key: rsa.RSAPrivateKey) -> None:
    a = authenticator(jwt_secret=json.dumps({"keys": [public_jwk(rsa_key, alg="RS256", use="sig")]}))
    claims = {"role": "rsa_user", "exp": NOW + 60, "aud": ["x"]}
    token = sign(claims, rsa_key, "RS256")
    assert a.authenticate("Bearer " + token, now=NOW) == AuthResult("rsa_user", claims, authenticated=True)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    error = fails(a, "Bearer " + sign({"role": "r"}, other, "RS256"))
    assert (error.code, error.message) == ("PGRST301", "No suitable key or wrong key type")
    assert error.details == "None of the keys was able to decode the JWT"
    assert fails(a, "Bearer " + sign(claims, rsa_key, "RS256"), now=NOW + 91).message == "JWT expired"


def test_es256_token(ec_keys: dict[str, ec.EllipticCurvePrivateKey]) -> None:
    key = ec_keys["ES256"]
    a = authenticator(jwt_secret=json.dumps(public_jwk(key, kid="ec1")))
    token = sign({"role": "ec_user"}, key, "ES256", kid="ec1")
    assert a.authenticate("Bearer " + token, now=NOW).role == "ec_user"
    header, payload, signature = token.split(".")
    forged = f"{header}.{b64url(json.dumps({'role': 'admin'}).encode())}.{signature}"
    assert fails(a, "Bearer " + forged).details == "None of the keys was able to decode the JWT"
    truncated = f"{header}.{payload}.{signature[:-4]}"
    assert fails(a, "Bearer " + truncated).details == "None of the keys was able to decode the JWT"


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_each_curve_verifies_its_own_algorithm(
    ec_keys: dict[str, ec.EllipticCurvePrivateKey], alg: str
) -> None:
    key = ec_keys[alg]
    a = authenticator(jwt_secret=json.dumps(public_jwk(key)))
    assert a.authenticate("Bearer " + sign({"role": alg}, key, alg), now=NOW).role == alg


def test_ec_key_refuses_another_curves_algorithm(ec_keys: dict[str, ec.EllipticCurvePrivateKey]) -> None:
    a = authenticator(jwt_secret=json.dumps(public_jwk(ec_keys["ES256"])))
    token = sign({"role": "r"}, ec_keys["ES384"], "ES384")
    assert fails(a, "Bearer " + token).details == "No suitable key was found to decode the JWT"


@pytest.mark.parametrize("make_key", [Ed25519PrivateKey.generate, Ed448PrivateKey.generate])
def test_eddsa(make_key: Callable[[], Ed25519PrivateKey | Ed448PrivateKey]) -> None:
    key = make_key()
    a = authenticator(jwt_secret=json.dumps(public_jwk(key)))
    assert a.authenticate("Bearer " + sign({"role": "ed"}, key, "EdDSA"), now=NOW).role == "ed"
    assert fails(a, "Bearer " + sign({"role": "ed"}, make_key(), "EdDSA")).details == (
        "None of the keys was able to decode the JWT"
    )


def test_private_jwk_verifies_with_its_public_part(ec_keys: dict[str, ec.EllipticCurvePrivateKey]) -> None:
    key = ec_keys["ES256"]
    private_jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    assert "d" in private_jwk
    (parsed,) = parse_jwt_keys(json.dumps(private_jwk))
    assert isinstance(parsed, PublicKey) and isinstance(parsed.key, ec.EllipticCurvePublicKey)
    a = authenticator(jwt_secret=json.dumps(private_jwk))
    assert a.authenticate("Bearer " + sign({"role": "r"}, key, "ES256"), now=NOW).role == "r"


@pytest.mark.parametrize(
    ("kind", "alg"), [("rsa", "RS256"), ("rsa", "PS512"), ("ec", "ES384"), ("ed", "EdDSA")]
)
def test_pem_public_key_as_secret(
    rsa_key: rsa.RSAPrivateKey, ec_keys: dict[str, ec.EllipticCurvePrivateKey], kind: str, alg: str
) -> None:
    keys: dict[str, PrivateKey] = {"rsa": rsa_key, "ec": ec_keys["ES384"], "ed": Ed25519PrivateKey.generate()}
    key = keys[kind]
    a = authenticator(jwt_secret=public_pem(key))
    assert a.authenticate("Bearer " + sign({"role": kind}, key, alg), now=NOW).role == kind
    b = authenticator(
        jwt_secret=base64.b64encode(public_pem(key).encode()).decode(), jwt_secret_is_base64=True
    )
    assert b.authenticate("Bearer " + sign({"role": kind}, key, alg), now=NOW).role == kind


def test_pem_key_is_never_an_hmac_secret(rsa_key: rsa.RSAPrivateKey) -> None:
    """The classic algorithm confusion: an HS256 token whose HMAC key is the public PEM."""
    pem = public_pem(rsa_key)
    forged_header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    forged_payload = b64url(json.dumps({"role": "admin"}).encode())
    signing_input = f"{forged_header}.{forged_payload}"
    signature = b64url(hmac.new(pem.encode(), signing_input.encode(), hashlib.sha256).digest())
    a = authenticator(jwt_secret=pem)
    error = fails(a, f"Bearer {signing_input}.{signature}")
    assert error.details == "No suitable key was found to decode the JWT"


def test_pem_certificate_as_secret(ec_keys: dict[str, ec.EllipticCurvePrivateKey]) -> None:
    key = ec_keys["ES256"]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pgrest test")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    a = authenticator(jwt_secret=certificate.public_bytes(serialization.Encoding.PEM).decode())
    assert a.authenticate("Bearer " + sign({"role": "cert"}, key, "ES256"), now=NOW).role == "cert"


def _x25519_pem() -> str:
    public = X25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.mark.parametrize(
    "pem",
    [
        "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",  # not DER inside
        _x25519_pem(),  # a key-agreement key cannot verify signatures
    ],
)
def test_unusable_pem_is_refused(pem: str) -> None:
    with pytest.raises(ConfigError, match="'jwt-secret'.*PEM"):
        parse_jwt_keys(pem)


def test_mixed_key_set_chooses_by_kid(
    rsa_key: rsa.RSAPrivateKey, ec_keys: dict[str, ec.EllipticCurvePrivateKey]
) -> None:
    hmac_key = b"the hmac key"
    keys = [_oct(hmac_key), public_jwk(rsa_key, kid="rsa1"), public_jwk(ec_keys["ES256"], kid="ec1")]
    a = authenticator(jwt_secret=json.dumps({"keys": keys}))
    assert a.authenticate("Bearer " + sign({"role": "rsa"}, rsa_key, "RS256", "rsa1"), now=NOW).role == "rsa"
    assert (
        a.authenticate("Bearer " + sign({"role": "ec"}, ec_keys["ES256"], "ES256", "ec1"), now=NOW).role
        == "ec"
    )
    assert a.authenticate("Bearer " + mint({"role": "hmac"}, secret=hmac_key), now=NOW).role == "hmac"
    wrong_kid = sign({"role": "x"}, rsa_key, "RS256", "ec1")
    assert fails(a, "Bearer " + wrong_kid).details == "No suitable key was found to decode the JWT"


def test_rsa_key_with_alg_refuses_other_algorithms(rsa_key: rsa.RSAPrivateKey) -> None:
    a = authenticator(jwt_secret=json.dumps(public_jwk(rsa_key, alg="RS256")))
    for alg in ("RS512", "PS256"):
        error = fails(a, "Bearer " + sign({"role": "r"}, rsa_key, alg))
        assert error.details == "No suitable key was found to decode the JWT"


def test_rsa_signature_of_the_wrong_length(rsa_key: rsa.RSAPrivateKey) -> None:
    a = authenticator(jwt_secret=json.dumps(public_jwk(rsa_key)))
    header, payload, _ = sign({"role": "r"}, rsa_key, "RS256").split(".")
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
