"""JWT authentication: an `Authorization` header in, the role and claims for the request out.

Pure given the key set and the clock. It follows PostgREST's order of checks, so a bad token
fails with the same code and message:

1. no `Authorization: Bearer` header → the anonymous role (PGRST302 when there is none);
2. an empty token → PGRST301; no `jwt-secret` → PGRST300;
3. not three dot-separated parts → PGRST301 "Expected 3 parts in JWT; got N";
4. an unreadable header or part → PGRST301 "JWT cryptographic operation failed";
   `alg: none` → PGRST301 "Wrong or unsupported encoding algorithm";
5. no key fits the header's `alg`/`kid`, or none verifies the signature → PGRST301
   "No suitable key or wrong key type" (the details say which);
6. a payload that is not a JSON object → PGRST303 "Parsing claims failed";
7. `exp`, `nbf`, `iat` (30 s of clock skew allowed) and `aud` → PGRST303;
8. the role is the first value `jwt-role-claim-key` selects, else the anonymous role.

Keys come from `jwt-secret`: a JSON Web Key Set, a single JSON Web Key, a PEM public key, or a
plain secret of at least 32 bytes, which is an HS256 key (as in PostgREST, an HS384/HS512 token
needs an `oct` JWK without `alg`). PyJWT loads the keys and verifies the signatures, with
`cryptography` underneath: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 (each on
its own curve) and EdDSA (Ed25519, Ed448). A key without `alg` verifies every algorithm of its
type; a key with one verifies only that.

Steps 3-6 are cached per token (`jwt-cache-max-entries`, least recently used first out); the
time and audience checks run on every request, so a cached token still expires.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey, Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509 import load_pem_x509_certificate
from jwt import PyJWK
from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.exceptions import PyJWTError

from pgrest_core.config import ConfigError, Settings
from pgrest_core.errors import JwtError
from pgrest_core.jspath import JSPath

CLOCK_SKEW_SECONDS = 30
MIN_SECRET_LENGTH = 32


# --- errors --------------------------------------------------------------------------------


def _haskell_show(text: str) -> str:
    """A string quoted the way PostgREST writes it into `error_description="..."`."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\{ord(char)}")
    out.append('"')
    return "".join(out)


def _invalid_token_header(message: str) -> tuple[tuple[str, str], ...]:
    return (
        ("WWW-Authenticate", f'Bearer error="invalid_token", error_description={_haskell_show(message)}'),
    )


def decode_error(message: str, details: str | None = None) -> JwtError:
    """PGRST301: the token could not be decoded or verified."""
    return JwtError("PGRST301", 401, message, details, None, _invalid_token_header(message))


def claims_error(message: str) -> JwtError:
    """PGRST303: the token verified but its claims are not acceptable now."""
    return JwtError("PGRST303", 401, message, None, None, _invalid_token_header(message))


def secret_missing() -> JwtError:
    """PGRST300: a token was sent but no `jwt-secret` is configured."""
    return JwtError("PGRST300", 500, "Server lacks JWT secret")


def anonymous_disabled() -> JwtError:
    """PGRST302: no token, and no `db-anon-role` to fall back to."""
    return JwtError(
        "PGRST302", 401, "Anonymous access is disabled", headers=(("WWW-Authenticate", "Bearer"),)
    )


def _bad_crypto() -> JwtError:
    return decode_error("JWT cryptographic operation failed")


def _no_suitable_key(details: str) -> JwtError:
    return decode_error("No suitable key or wrong key type", details)


# --- keys ----------------------------------------------------------------------------------

KeyUse = Literal["sig", "enc"]

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
# An ECDSA algorithm names its curve: an ES256 token needs a P-256 key.
EC_ALGORITHMS: Mapping[str, str] = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
EDDSA = "EdDSA"

# Every `alg` a JOSE header may name; others make the header unreadable.
_KNOWN_ALGORITHMS = frozenset({*HMAC_ALGORITHMS, *RSA_ALGORITHMS, *EC_ALGORITHMS.values(), EDDSA, "none"})

# PyJWT's verifiers by `alg` (backed by `cryptography` for everything but HMAC).
_VERIFIERS: Mapping[str, Algorithm] = get_default_algorithms()

VerifyingKey: TypeAlias = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey
_VERIFYING_KEY_TYPES = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey
_PRIVATE_KEY_TYPES = RSAPrivateKey | EllipticCurvePrivateKey | Ed25519PrivateKey | Ed448PrivateKey


@dataclass(frozen=True, slots=True)
class HmacKey:
    """A symmetric key (`kty: oct`, or the plain `jwt-secret`)."""

    secret: bytes
    kid: str | None = None
    use: KeyUse | None = None
    alg: str | None = None

    @property
    def algorithms(self) -> frozenset[str]:
        return HMAC_ALGORITHMS


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An RSA, EC or OKP (Ed25519/Ed448) key; only its public part is kept, to verify."""

    key: VerifyingKey
    kid: str | None = None
    use: KeyUse | None = None
    alg: str | None = None

    @property
    def algorithms(self) -> frozenset[str]:
        """The `alg`s this key can verify, whatever its `alg` member says."""
        if isinstance(self.key, RSAPublicKey):
            return RSA_ALGORITHMS
        if isinstance(self.key, EllipticCurvePublicKey):
            alg = EC_ALGORITHMS.get(self.key.curve.name)
            return frozenset() if alg is None else frozenset({alg})
        return frozenset({EDDSA})


@dataclass(frozen=True, slots=True)
class OtherKey:
    """A key of a type JWS does not sign with (an unknown `kty`): it never fits a token."""

    kty: str
    kid: str | None = None
    use: KeyUse | None = None
    alg: str | None = None

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset()


Jwk: TypeAlias = HmacKey | PublicKey | OtherKey


def _b64url_decode(text: str) -> bytes:
    """Unpadded (or padded) base64url; raises ValueError on anything else."""
    stripped = text.rstrip("=")
    if (
        len(stripped) % 4 == 1
        or not all(c.isalnum() or c in "-_" for c in stripped)
        or not stripped.isascii()
    ):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def _optional_str(obj: Mapping[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string")
    return value


# Which PyJWT algorithm reads a JWK's key material; the key's own `alg` may be one PyJWT does not
# know (an `enc` key's "RSA-OAEP"), and does not restrict which algorithms it verifies here.
_LOADING_ALGORITHM: Mapping[str, str] = {"RSA": "RS256", "OKP": EDDSA}
_LOADING_ALGORITHM_BY_CURVE: Mapping[str, str] = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


def _load_jwk(obj: dict[str, Any]) -> VerifyingKey:
    """The key of an `RSA`, `EC` or `OKP` JWK, read by PyJWT; ValueError if unusable."""
    kty = obj["kty"]
    if kty == "EC":
        algorithm = _LOADING_ALGORITHM_BY_CURVE.get(str(obj.get("crv")))
        if algorithm is None:
            raise ValueError("unsupported curve")
    else:
        algorithm = _LOADING_ALGORITHM[kty]
    try:
        material = PyJWK(obj, algorithm).key
    except (PyJWTError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"unusable {kty} key: {error}") from None
    return _public_part(material)


def _public_part(material: object) -> VerifyingKey:
    """The key itself, or the public key of a private one (a JWK may carry `d`)."""
    if isinstance(material, _PRIVATE_KEY_TYPES):
        material = material.public_key()
    if isinstance(material, _VERIFYING_KEY_TYPES):
        return material
    raise ValueError(f"not a signature verification key: {type(material).__name__}")


def _parse_jwk(obj: Any) -> Jwk:
    """One JSON Web Key; raises ValueError for a malformed one."""
    if not isinstance(obj, dict):
        raise ValueError("a JWK must be a JSON object")
    kty = obj.get("kty")
    use = obj.get("use")
    if use not in (None, "sig", "enc"):
        raise ValueError("'use' must be 'sig' or 'enc'")
    kid, alg = _optional_str(obj, "kid"), _optional_str(obj, "alg")
    if not isinstance(kty, str):
        raise ValueError("'kty' is required")
    if kty == "oct":
        # Read strictly here: PyJWT's base64url decoding skips stray characters.
        k = _optional_str(obj, "k")
        if k is None:
            raise ValueError("'k' is required for a symmetric key")
        return HmacKey(_b64url_decode(k), kid, use, alg)
    if kty not in ("RSA", "EC", "OKP"):
        return OtherKey(kty, kid, use, alg)
    return PublicKey(_load_jwk(obj), kid, use, alg)


def _parse_json_keys(secret: bytes) -> tuple[Jwk, ...] | None:
    """The keys of a JWK Set or a single JWK, or None when the secret is neither."""
    try:
        document = json.loads(secret)
    except (ValueError, UnicodeDecodeError):
        return None
    try:
        if isinstance(document, dict) and isinstance(document.get("keys"), list):
            return tuple(_parse_jwk(key) for key in document["keys"])
        if isinstance(document, dict) and "kty" in document:
            return (_parse_jwk(document),)
    except (ValueError, binascii.Error):
        return None
    return None


_PEM_MARKER = b"-----BEGIN "


def _parse_pem_key(secret: bytes) -> PublicKey:
    """A PEM public key (SPKI or PKCS #1 RSA) or X.509 certificate; ConfigError if unusable."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in secret:
            material: object = load_pem_x509_certificate(secret).public_key()
        else:
            material = load_pem_public_key(secret)
        return PublicKey(_public_part(material), use="sig")
    except (ValueError, UnsupportedAlgorithm) as error:
        raise ConfigError(f"Invalid value for 'jwt-secret': not a usable PEM public key ({error})") from None


def _decode_base64_secret(secret: str) -> bytes:
    """`jwt-secret-is-base64`: standard or URL-safe alphabet, `.` accepted as padding."""
    normalized = secret.replace(".", "=").replace("-", "+").replace("_", "/").strip()
    try:
        return base64.b64decode(normalized, validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"Invalid value for 'jwt-secret': not valid base64 ({exc})") from exc


def parse_jwt_keys(secret: str, is_base64: bool = False) -> tuple[Jwk, ...]:
    """The key set `jwt-secret` describes; raises `ConfigError` as PostgREST refuses to start.

    In order: a JWK Set or one JWK (JSON), a PEM public key or certificate, else a plain HS256
    secret of at least 32 bytes. A JSON document that is not a usable JWK(S) is a plain secret,
    as in PostgREST.
    """
    raw = _decode_base64_secret(secret) if is_base64 else secret.encode("utf-8")
    keys = _parse_json_keys(raw)
    if keys is not None:
        return keys
    if raw.lstrip().startswith(_PEM_MARKER):
        return (_parse_pem_key(raw),)
    if len(raw) < MIN_SECRET_LENGTH:
        raise ConfigError(
            "Invalid value for 'jwt-secret': the JWT secret must be at least 32 characters long"
        )
    return (HmacKey(raw, use="sig", alg="HS256"),)


def is_jwks_url(secret: str | None) -> bool:
    """Whether a jwt-secret value is the URL of a JWK Set to fetch (pgrest_server/jwks.py)."""
    return secret is not None and secret.lower().startswith(("https://", "http://"))


def parse_jwk_set(text: str) -> tuple[Jwk, ...]:
    """The keys of a fetched JWK Set; ValueError for anything else (never a plain secret)."""
    keys = _parse_json_keys(text.encode("utf-8")) if text.lstrip().startswith("{") else None
    if keys is None or '"keys"' not in text:
        raise ValueError("not a JWK Set")
    return keys


def _key_fits(key: Jwk, alg: str, kid: str | None) -> bool:
    """Whether a key may verify a token with this header, as JOSE libraries choose keys."""
    if key.use == "enc" or (kid is not None and key.kid != kid) or (key.alg is not None and key.alg != alg):
        return False
    return alg in key.algorithms


def _verifies(key: Jwk, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """PyJWT's verifier for `alg`; a signature of the wrong size simply does not verify."""
    if isinstance(key, OtherKey):
        return False
    material: bytes | VerifyingKey = key.secret if isinstance(key, HmacKey) else key.key
    return bool(_VERIFIERS[alg].verify(signing_input, material, signature))


# --- decoding ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Header:
    alg: str
    kid: str | None


def _read_header(segment: str) -> _Header:
    try:
        header = json.loads(_b64url_decode(segment))
    except (ValueError, UnicodeDecodeError):
        raise _bad_crypto() from None
    if not isinstance(header, dict):
        raise _bad_crypto()
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in _KNOWN_ALGORITHMS or not isinstance(kid, str | None):
        raise _bad_crypto()
    if alg == "none":
        raise decode_error(
            "Wrong or unsupported encoding algorithm", "JWT is unsecured but expected 'alg' was not 'none'"
        )
    return _Header(alg, kid)


def decode_token(token: str, keys: tuple[Jwk, ...]) -> dict[str, Any]:
    """Verify a compact JWS against the keys and return its claims (not yet time-checked)."""
    if token == "":
        raise decode_error("Empty JWT is sent in Authorization header")
    parts = token.split(".")
    if len(parts) != 3:
        raise decode_error(f"Expected 3 parts in JWT; got {len(parts)}")
    header = _read_header(parts[0])
    try:
        payload, signature = _b64url_decode(parts[1]), _b64url_decode(parts[2])
    except ValueError:
        raise _bad_crypto() from None
    candidates = [key for key in keys if _key_fits(key, header.alg, header.kid)]
    if not candidates:
        raise _no_suitable_key("No suitable key was found to decode the JWT")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    if not any(_verifies(key, header.alg, signing_input, signature) for key in candidates):
        raise _no_suitable_key("None of the keys was able to decode the JWT")
    try:
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise claims_error("Parsing claims failed") from None
    if not isinstance(claims, dict):
        raise claims_error("Parsing claims failed")
    return claims


# --- claims --------------------------------------------------------------------------------


def _whole_seconds(value: int | float) -> int:
    """A NumericDate as PostgREST reads it: a non-integral or out-of-range number counts as 0."""
    if isinstance(value, float):
        if not value.is_integer():
            return 0
        value = int(value)
    return value if -(2**63) <= value < 2**63 else 0


def _time_claim(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise claims_error(f"The JWT '{name}' claim must be a number")
    return _whole_seconds(value)


def validate_claims(claims: Mapping[str, Any], now: int, audience: str | None) -> None:
    """The time and audience checks, in PostgREST's order: exp, nbf, iat, aud."""
    exp = _time_claim(claims, "exp")
    if exp is not None and now - CLOCK_SKEW_SECONDS > exp:
        raise claims_error("JWT expired")
    nbf = _time_claim(claims, "nbf")
    if nbf is not None and now + CLOCK_SKEW_SECONDS < nbf:
        raise claims_error("JWT not yet valid")
    iat = _time_claim(claims, "iat")
    if iat is not None and now + CLOCK_SKEW_SECONDS < iat:
        raise claims_error("JWT issued at future")
    _check_audience(claims.get("aud"), audience)


def _check_audience(aud: Any, audience: str | None) -> None:
    """`aud` is a string or an array of strings; an empty array accepts every audience."""
    if aud is None:
        return
    if isinstance(aud, str):
        accepted = audience is None or aud == audience
    elif isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        accepted = audience is None or not aud or audience in aud
    else:
        raise claims_error("The JWT 'aud' claim must be a string or an array of strings")
    if not accepted:
        raise claims_error("JWT not in audience")


def role_from_claims(claims: Mapping[str, Any], path: JSPath) -> str | None:
    """The first value the role path selects: a string as is, other JSON as compact JSON text."""
    found, value = path.first(dict(claims))
    if not found:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- the authenticator ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Who the request runs as: `role` for SET ROLE, `claims` for request.jwt.claims.

    `authenticated` is whether the role differs from the anonymous role; it decides whether a
    permission error is 401 or 403.
    """

    role: str
    claims: dict[str, Any]
    authenticated: bool


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of a `Bearer` header (scheme in any case), "" when it is missing, None otherwise."""
    if authorization_header is None:
        return None
    words = authorization_header.split(" ")
    if words[0].lower() != "bearer":
        return None
    return words[1] if len(words) > 1 else ""


class Authenticator:
    """Turns `Authorization` headers into `AuthResult`s; holds the keys and the token cache."""

    def __init__(
        self,
        keys: tuple[Jwk, ...] | None,
        anon_role: str | None,
        audience: str | None,
        role_claim_key: JSPath,
        cache_max_entries: int = 1000,
    ) -> None:
        self.keys = keys
        self.anon_role = anon_role
        self.audience = audience
        self.role_claim_key = role_claim_key
        self.cache_max_entries = cache_max_entries
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        # Keys come from a JWKS URL: until they arrive, tokens are unverifiable (401), not a
        # server without a secret (500).
        self.remote_keys = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """Build from settings whose `@file` references are already resolved."""
        secret = settings.jwt_secret
        if secret is not None and secret.startswith("@"):
            raise ConfigError("Invalid value for 'jwt-secret': the file it names has not been read")
        remote = is_jwks_url(secret)
        keys = None
        if secret is not None and not remote:
            keys = parse_jwt_keys(secret, settings.jwt_secret_is_base64)
        authenticator = cls(
            keys,
            settings.db_anon_role,
            settings.jwt_aud,
            settings.jwt_role_claim_key,
            settings.jwt_cache_max_entries,
        )
        authenticator.remote_keys = remote
        return authenticator

    def replace_keys(self, keys: tuple[Jwk, ...]) -> None:
        """Swap in a new key set (a JWKS refresh); tokens verified with the old one are forgotten."""
        with self._lock:
            self.keys = keys
            self._cache.clear()

    def authenticate(self, authorization_header: str | None, now: float | None = None) -> AuthResult:
        """The role and claims for a request; raises `JwtError` as PostgREST answers."""
        token = bearer_token(authorization_header)
        if token is None:
            if self.anon_role is None:
                raise anonymous_disabled()
            return AuthResult(self.anon_role, {}, authenticated=False)
        claims = self._verified_claims(token)
        validate_claims(claims, int(time.time() if now is None else now), self.audience)
        role = role_from_claims(claims, self.role_claim_key)
        if role is None:
            role = self.anon_role
        if role is None:
            raise anonymous_disabled()
        # PostgREST tells the anonymous role apart by name: a valid token without a role claim
        # runs as the anonymous role and is "unauthenticated" (42501 answers 401, not 403).
        return AuthResult(role, dict(claims), authenticated=role != self.anon_role)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        if token == "":
            raise decode_error("Empty JWT is sent in Authorization header")
        if self.keys is None:
            if self.remote_keys:
                raise _no_suitable_key("No suitable key was found to decode the JWT")
            raise secret_missing()
        if self.cache_max_entries <= 0:
            return decode_token(token, self.keys)
        with self._lock:
            cached = self._cache.get(token)
            if cached is not None:
                self._cache.move_to_end(token)
                return cached
        claims = decode_token(token, self.keys)  # errors are never cached
        with self._lock:
            self._cache[token] = claims
            while len(self._cache) > self.cache_max_entries:
                self._cache.popitem(last=False)
        return claims

    def cache_size(self) -> int:
        with self._lock:
            return len(self._cache)
