"""Self-issued JWTs: one codec, one algorithm, one key, built once at boot.

PyJWT does the JWS and the registered claims: compact serialisation (strict, canonical
base64url), the signature with exactly the configured ``alg`` allowed, the required
claims, ``iss`` and ``aud``. This module adds what PyJWT cannot know: Bastion's header
policy (``typ``, ``crit``, ``kid``), the time claims read against an injectable clock
(PyJWT reads the wall clock), the shape of Bastion's own claims, typed errors whose
messages never quote the token, and a cache of verified tokens.

Why the verified-token cache is safe
------------------------------------
Everything ``verify`` establishes apart from the time checks (shape, header policy,
signature, ``iss``, ``aud``, required claims and their types) is a pure function of the
token's bytes and of the codec's key and settings, which never change after
construction; so are the resulting ``TokenClaims``. A token that verified once therefore
verifies again, to the same claims, for as long as its time claims allow, and a cache
hit repeats exactly those time checks (``exp``, ``nbf``, ``iat`` with the leeway, against
the injected clock, on the raw claim values) before returning. Only tokens that passed
every check are stored, so forgeries cannot fill the cache; keys are SHA-256 digests of
the token, so the cache holds no bearer credential; it keeps at most ``CACHE_SIZE``
entries, least recently used evicted first, and an entry whose time is up is dropped
when next looked up, if it has not aged out already. Nothing is served staler than a
fresh verification would be: ``verify`` never consulted revocation state to begin with.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import orjson
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidJTIError, InvalidSubjectError
from jwt.types import Options

from bastion.infra.security._encoding import COMPACT_JWS, MAX_TOKEN_LENGTH, b64url_decode
from bastion.infra.security._jwt_keys import SigningKey, load_signing_key
from bastion.infra.security._jwt_settings import JwtAlgorithm, JwtSettings
from bastion.infra.security.errors import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from bastion.kernel.ids import ClientId, RoleName, SessionId, TenantId, UserId
from bastion.kernel.tiers import Tier

CACHE_SIZE = 10_000

# PyJWT checks presence (a JSON null counts as absent); the types are checked below.
_REQUIRED_CLAIMS = (
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "sub",
    "jti",
    "tenant",
    "role",
    "tier",
    "scopes",
)
_REQUIRED_STRINGS = ("sub", "jti", "tenant", "role")
_TIERS = {tier.label: tier for tier in Tier}


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified content of a Bastion JWT."""

    user_id: UserId
    tenant_id: TenantId
    role: RoleName
    tier: Tier
    scopes: frozenset[str]
    token_id: str
    issuer: str
    audience: tuple[str, ...]
    issued_at: int
    not_before: int
    expires_at: int
    session_id: SessionId | None = None
    client_id: ClientId | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly signed token and the claims it carries."""

    token: str = field(repr=False)
    claims: TokenClaims


class JwtCodec:
    """Issues and verifies Bastion's own JWTs.

    Only the configured algorithm is accepted: PyJWT is given it as the sole allowed
    ``alg`` (and knows no other), so ``none`` and algorithm confusion are refused before
    the signature is looked at; so is a ``kid`` naming another key. Verified tokens are
    cached (see the module docstring). Thread-safe: the cache is the only mutable state
    and a lock guards it.
    """

    __slots__ = (
        "_algorithms",
        "_audience_claim",
        "_audience_list",
        "_cache",
        "_clock",
        "_headers",
        "_issuer",
        "_jwks",
        "_jwt",
        "_key",
        "_leeway",
        "_ttl",
    )

    def __init__(
        self,
        settings: JwtSettings,
        key_material: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Parse ``key_material`` (the HS256 secret or the PEM private key) once.

        Raises ``KeyMaterialError`` if it does not suit ``settings.algorithm``.
        """
        key = load_signing_key(settings.algorithm, key_material, settings.key_id)
        self._key: SigningKey = key
        self._algorithms = [key.algorithm]
        self._issuer = settings.issuer
        self._audience_list = list(settings.audiences)
        self._audience_claim: str | list[str] = (
            settings.audiences[0] if len(settings.audiences) == 1 else list(settings.audiences)
        )
        self._ttl = settings.ttl_seconds
        self._leeway = settings.leeway_seconds
        self._clock = clock
        # PyJWS writes "alg" and "typ": "JWT" itself.
        self._headers = None if key.key_id is None else {"kid": key.key_id}
        self._jwt = _PyJWT(
            key.algorithm,
            {
                "verify_signature": True,
                "require": list(_REQUIRED_CLAIMS),
                "verify_iss": True,
                "verify_aud": True,
                "verify_sub": True,
                "verify_jti": True,
                # Checked by _check_times against the injected clock instead.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "enforce_minimum_key_length": True,
            },
        )
        self._jwks: tuple[dict[str, str], ...] = ()
        if key.public_jwk is not None and key.key_id is not None:
            self._jwks = (
                {**key.public_jwk, "kid": key.key_id, "alg": key.algorithm, "use": "sig"},
            )
        self._cache = _VerifiedTokenCache(CACHE_SIZE)

    @property
    def algorithm(self) -> JwtAlgorithm:
        return self._key.algorithm

    @property
    def key_id(self) -> str | None:
        return self._key.key_id

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set for ``/.well-known/jwks.json``; empty for HS256 (nothing is public)."""
        return {"keys": [dict(jwk) for jwk in self._jwks]}

    def issue(
        self,
        *,
        user_id: UserId,
        tenant_id: TenantId,
        role: RoleName,
        tier: Tier,
        scopes: Iterable[str] = (),
        ttl_seconds: int | None = None,
        session_id: SessionId | None = None,
        client_id: ClientId | None = None,
    ) -> IssuedToken:
        """Sign a token for this principal, valid from now for ``ttl_seconds``."""
        ttl = self._ttl if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl}")
        now = int(self._clock())
        scope_list = sorted(set(scopes))
        # 128 bits in hex: an operator passes it to `tokens revoke`, where a base64url
        # value starting with '-' would be taken for an option.
        token_id = secrets.token_hex(16)
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience_claim,
            "sub": user_id,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": token_id,
            "tenant": tenant_id,
            "role": role,
            "tier": tier.label,
            "scopes": scope_list,
        }
        if session_id is not None:
            payload["sid"] = session_id
        if client_id is not None:
            payload["client_id"] = client_id
        token = self._jwt.encode(
            payload, self._key.signing_key, algorithm=self._key.algorithm, headers=self._headers
        )
        claims = TokenClaims(
            user_id=user_id,
            tenant_id=tenant_id,
            role=role,
            tier=tier,
            scopes=frozenset(scope_list),
            token_id=token_id,
            issuer=self._issuer,
            audience=tuple(self._audience_list),
            issued_at=now,
            not_before=now,
            expires_at=now + ttl,
            session_id=session_id,
            client_id=client_id,
        )
        return IssuedToken(token, claims)

    def verify(self, token: str) -> TokenClaims:
        """Return the claims of a valid token; raise an ``InvalidTokenError`` subclass if not.

        Order: shape, cache, header policy, then PyJWT (alg, signature, required claims,
        ``iss``, ``aud``), then the time claims and Bastion's claims. Nothing from the
        payload is read before the signature has been checked.
        """
        if len(token) > MAX_TOKEN_LENGTH:
            raise MalformedTokenError(f"token is longer than {MAX_TOKEN_LENGTH} characters")
        if COMPACT_JWS.fullmatch(token) is None:
            raise MalformedTokenError(
                "token is not a compact JWS (three base64url segments separated by dots)"
            )
        digest = hashlib.sha256(token.encode("ascii")).digest()
        hit = self._cache.get(digest)
        if hit is not None:
            try:
                self._check_times(hit.expires_at, hit.not_before, hit.issued_at)
            except InvalidTokenError:
                self._cache.discard(digest)
                raise
            return hit.claims
        verified = self._verify(token)
        self._cache.put(digest, verified)
        return verified.claims

    def _verify(self, token: str) -> _Verified:
        header = self._header(token)
        if header.get("alg") == self._key.algorithm:
            # Any other alg is left for PyJWT to refuse, which it does before anything else.
            self._check_header(header)
        try:
            payload = self._jwt.decode(
                token,
                self._key.verifying_key,
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience_list,
            )
        except jwt.InvalidTokenError as exc:
            raise self._translate(exc, header) from None
        return self._claims(payload)

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        # Read only to choose the error to report and to apply the header policy; PyJWT
        # parses the header again, strictly, and verifies it with the signature.
        try:
            header = orjson.loads(b64url_decode(token.partition(".")[0]))
        except ValueError:
            raise MalformedTokenError("token header is not base64url-encoded JSON") from None
        if not isinstance(header, dict):
            raise MalformedTokenError("token header is not a JSON object")
        return header

    def _check_header(self, header: Mapping[str, Any]) -> None:
        if "crit" in header:
            raise MalformedTokenError("token header lists critical extensions ('crit')")
        typ = header.get("typ")
        if typ is not None and not (isinstance(typ, str) and typ.upper() == "JWT"):
            raise MalformedTokenError("token type ('typ') is not 'JWT'")
        if "kid" in header and (self._key.key_id is None or header["kid"] != self._key.key_id):
            raise UnknownKeyError("token key id ('kid') does not name this issuer's key")

    def _translate(
        self, exc: jwt.InvalidTokenError, header: Mapping[str, Any]
    ) -> InvalidTokenError:
        """Our error for PyJWT's, with a message of our own: PyJWT's are not ours to show."""
        match exc:
            case jwt.InvalidAlgorithmError():
                alg = header.get("alg")
                if isinstance(alg, str) and alg.lower() == "none":
                    return UnsupportedAlgorithmError(
                        "unsigned tokens (alg 'none') are not accepted"
                    )
                return UnsupportedAlgorithmError(
                    f"token algorithm is not accepted; expected '{self._key.algorithm}'"
                )
            case jwt.InvalidSignatureError():  # before DecodeError, its base class
                return InvalidSignatureError("token signature is invalid")
            case jwt.MissingRequiredClaimError(claim=claim):
                return MalformedTokenError(f"token is missing required claim '{claim}'")
            case jwt.InvalidIssuerError():
                return InvalidIssuerError(
                    f"token issuer is not accepted; expected '{self._issuer}'"
                )
            case jwt.InvalidAudienceError():
                return InvalidAudienceError(
                    "token audience is not accepted; expected one of "
                    + ", ".join(f"'{a}'" for a in sorted(set(self._audience_list)))
                )
            case InvalidSubjectError():
                return MalformedTokenError("token claim 'sub' must be a non-empty string")
            case InvalidJTIError():
                return MalformedTokenError("token claim 'jti' must be a non-empty string")
            # PyJWT's own time checks are off (see _check_times); mapped all the same.
            case jwt.ExpiredSignatureError():
                return TokenExpiredError("token has expired")
            case jwt.ImmatureSignatureError():
                return TokenNotYetValidError("token is not valid yet")
            case _:  # DecodeError: a segment is not canonical base64url, an odd header...
                return MalformedTokenError("token is not a well-formed JWS")

    def _check_times(self, expires_at: float, not_before: float, issued_at: float) -> None:
        now = self._clock()
        if now >= expires_at + self._leeway:
            raise TokenExpiredError("token has expired")
        if not_before > now + self._leeway:
            raise TokenNotYetValidError("token is not valid yet ('nbf' is in the future)")
        if issued_at > now + self._leeway:
            raise TokenNotYetValidError("token is not valid yet ('iat' is in the future)")

    def _claims(self, payload: dict[str, Any]) -> _Verified:
        # PyJWT has checked that every required claim is present, and iss and aud.
        expires_at = _numeric_date(payload, "exp")
        not_before = _numeric_date(payload, "nbf")
        issued_at = _numeric_date(payload, "iat")
        self._check_times(expires_at, not_before, issued_at)
        for name in _REQUIRED_STRINGS:
            value = payload[name]
            if not isinstance(value, str) or not value:
                raise MalformedTokenError(f"token claim '{name}' must be a non-empty string")
        tier_name = payload["tier"]
        tier = _TIERS.get(tier_name) if isinstance(tier_name, str) else None
        if tier is None:
            raise MalformedTokenError("token claim 'tier' must be a tier name")
        scopes = payload["scopes"]
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise MalformedTokenError("token claim 'scopes' must be a list of strings")
        session_id = _optional_str(payload, "sid")
        client_id = _optional_str(payload, "client_id")
        audience = payload["aud"]
        claims = TokenClaims(
            user_id=UserId(payload["sub"]),
            tenant_id=TenantId(payload["tenant"]),
            role=RoleName(payload["role"]),
            tier=tier,
            scopes=frozenset(scopes),
            token_id=payload["jti"],
            issuer=payload["iss"],
            audience=(audience,) if isinstance(audience, str) else tuple(audience),
            issued_at=int(issued_at),
            not_before=int(not_before),
            expires_at=int(expires_at),
            session_id=None if session_id is None else SessionId(session_id),
            client_id=None if client_id is None else ClientId(client_id),
        )
        return _Verified(claims, expires_at, not_before, issued_at)


class _PyJWT(jwt.PyJWT):
    """PyJWT knowing one algorithm only, with orjson for the payload."""

    def __init__(self, algorithm: str, options: Options) -> None:
        super().__init__(options)
        # Every decode passes algorithms=[algorithm]; registering no other algorithm
        # means that even a call without that allow-list could not use another.
        self._jws = PyJWS(algorithms=[algorithm], options=self._get_sig_options())

    def _encode_payload(
        self,
        payload: dict[str, Any],
        headers: dict[str, Any] | None = None,
        json_encoder: type[Any] | None = None,
    ) -> bytes:
        return orjson.dumps(payload)

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        # PyJWT's hook for payload decoding, called once the signature has verified.
        try:
            payload = orjson.loads(decoded["payload"])
        except orjson.JSONDecodeError:
            raise MalformedTokenError("token payload is not base64url-encoded JSON") from None
        if not isinstance(payload, dict):
            raise MalformedTokenError("token payload is not a JSON object")
        audience = payload.get("aud")
        if audience is not None:
            if not isinstance(audience, str) and not (
                isinstance(audience, list) and all(isinstance(a, str) for a in audience)
            ):
                # PyJWT would call this an audience mismatch; it is a malformed claim.
                raise MalformedTokenError("token claim 'aud' must be a string or a list of strings")
            if not audience:
                # PyJWT would call an empty audience a missing claim; it names nobody.
                raise jwt.InvalidAudienceError("empty audience")
        return payload


@dataclass(frozen=True, slots=True)
class _Verified:
    """A cache entry: the claims, and the raw time claims a hit checks again."""

    claims: TokenClaims
    expires_at: float
    not_before: float
    issued_at: float


class _VerifiedTokenCache:
    """At most ``maxsize`` verified tokens by SHA-256 digest, least recently used evicted."""

    __slots__ = ("_entries", "_lock", "_maxsize")

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[bytes, _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> _Verified | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None:
                self._entries.move_to_end(digest)
            return entry

    def put(self, digest: bytes, entry: _Verified) -> None:
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            if len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def discard(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def __len__(self) -> int:
        return len(self._entries)


def _numeric_date(payload: dict[str, Any], name: str) -> float:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MalformedTokenError(f"token claim '{name}' must be a number of seconds")
    return value


def _optional_str(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedTokenError(f"token claim '{name}' must be a non-empty string")
    return value
