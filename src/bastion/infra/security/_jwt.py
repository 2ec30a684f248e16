"""Self-issued JWTs: one codec, one algorithm, one key, built once at boot.

Compact JWS serialisation is done here rather than through PyJWT's ``decode``: the
checks are the same (signature, ``exp``, ``nbf``, ``iat``, ``iss``, ``aud`` with a leeway)
but verification costs a few microseconds instead of ~50, and there is exactly one
accepted ``alg`` instead of a list to get wrong. Interoperability with PyJWT is tested
in both directions.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from bastion.infra.security._encoding import (
    COMPACT_JWS,
    MAX_TOKEN_LENGTH,
    b64url_decode,
    b64url_encode,
)
from bastion.infra.security._jwt_keys import SigningKey, load_signing_key
from bastion.infra.security._jwt_settings import JwtAlgorithm, JwtSettings
from bastion.infra.security.errors import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from bastion.kernel.ids import ClientId, RoleName, SessionId, TenantId, UserId
from bastion.kernel.tiers import Tier

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

    Only the configured algorithm is accepted: an ``alg`` of ``none``, another algorithm
    (algorithm confusion) or a ``kid`` naming another key is rejected before the
    signature is looked at. Thread-safe and free of per-request state.
    """

    __slots__ = (
        "_audience_claim",
        "_audience_tuple",
        "_audiences",
        "_clock",
        "_header_segment",
        "_issuer",
        "_jwks",
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
        self._issuer = settings.issuer
        self._audiences = frozenset(settings.audiences)
        self._audience_tuple = tuple(settings.audiences)
        self._audience_claim: str | list[str] = (
            settings.audiences[0] if len(settings.audiences) == 1 else list(settings.audiences)
        )
        self._ttl = settings.ttl_seconds
        self._leeway = settings.leeway_seconds
        self._clock = clock
        header: dict[str, str] = {"alg": key.algorithm, "typ": "JWT"}
        if key.key_id is not None:
            header["kid"] = key.key_id
        self._header_segment = b64url_encode(orjson.dumps(header))
        public = key.public_jwk()
        self._jwks: tuple[dict[str, str], ...] = ()
        if public is not None and key.key_id is not None:
            self._jwks = ({**public, "kid": key.key_id, "alg": key.algorithm, "use": "sig"},)

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
        token_id = secrets.token_urlsafe(16)
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
        signing_input = self._header_segment + "." + b64url_encode(orjson.dumps(payload))
        signature = self._key.sign(signing_input.encode("ascii"))
        claims = TokenClaims(
            user_id=user_id,
            tenant_id=tenant_id,
            role=role,
            tier=tier,
            scopes=frozenset(scope_list),
            token_id=token_id,
            issuer=self._issuer,
            audience=self._audience_tuple,
            issued_at=now,
            not_before=now,
            expires_at=now + ttl,
            session_id=session_id,
            client_id=client_id,
        )
        return IssuedToken(signing_input + "." + b64url_encode(signature), claims)

    def verify(self, token: str) -> TokenClaims:
        """Return the claims of a valid token; raise an ``InvalidTokenError`` subclass if not.

        Order: shape, header (alg, crit, typ, kid), signature, then claims. Nothing from
        the payload is read before the signature has been checked.
        """
        if len(token) > MAX_TOKEN_LENGTH:
            raise MalformedTokenError(f"token is longer than {MAX_TOKEN_LENGTH} characters")
        if COMPACT_JWS.fullmatch(token) is None:
            raise MalformedTokenError(
                "token is not a compact JWS (three base64url segments separated by dots)"
            )
        header_segment, payload_segment, signature_segment = token.split(".")
        # Our own header, byte for byte, was validated when it was built.
        if header_segment != self._header_segment:
            self._check_header(_decode_object(header_segment, "header"))
        try:
            signature = b64url_decode(signature_segment)
        except ValueError:
            raise InvalidSignatureError("token signature is invalid") from None
        signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii")
        # The canonical-encoding check stops one token having several valid spellings.
        if b64url_encode(signature) != signature_segment or not self._key.verify(
            signing_input, signature
        ):
            raise InvalidSignatureError("token signature is invalid")
        return self._claims(_decode_object(payload_segment, "payload"))

    def _check_header(self, header: dict[str, Any]) -> None:
        alg = header.get("alg")
        if alg != self._key.algorithm:
            if isinstance(alg, str) and alg.lower() == "none":
                raise UnsupportedAlgorithmError("unsigned tokens (alg 'none') are not accepted")
            raise UnsupportedAlgorithmError(
                f"token algorithm is not accepted; expected '{self._key.algorithm}'"
            )
        if "crit" in header:
            raise MalformedTokenError("token header lists critical extensions ('crit')")
        typ = header.get("typ")
        if typ is not None and not (isinstance(typ, str) and typ.upper() == "JWT"):
            raise MalformedTokenError("token type ('typ') is not 'JWT'")
        if "kid" in header and (self._key.key_id is None or header["kid"] != self._key.key_id):
            raise UnknownKeyError("token key id ('kid') does not name this issuer's key")

    def _claims(self, payload: dict[str, Any]) -> TokenClaims:
        issuer = payload.get("iss")
        if issuer is None:
            raise MalformedTokenError("token is missing required claim 'iss'")
        if issuer != self._issuer:
            raise InvalidIssuerError(f"token issuer is not accepted; expected '{self._issuer}'")
        if "aud" not in payload:
            raise MalformedTokenError("token is missing required claim 'aud'")
        audience = self._audiences_of(payload["aud"])
        if self._audiences.isdisjoint(audience):
            raise InvalidAudienceError(
                "token audience is not accepted; expected one of "
                + ", ".join(f"'{a}'" for a in sorted(self._audiences))
            )
        expires_at = _numeric_date(payload, "exp")
        not_before = _numeric_date(payload, "nbf")
        issued_at = _numeric_date(payload, "iat")
        now = self._clock()
        if now >= expires_at + self._leeway:
            raise TokenExpiredError("token has expired")
        if not_before > now + self._leeway:
            raise TokenNotYetValidError("token is not valid yet ('nbf' is in the future)")
        if issued_at > now + self._leeway:
            raise TokenNotYetValidError("token is not valid yet ('iat' is in the future)")
        for name in _REQUIRED_STRINGS:
            value = payload.get(name)
            if not isinstance(value, str) or not value:
                raise _claim_error(payload, name, "a non-empty string")
        tier_name = payload.get("tier")
        tier = _TIERS.get(tier_name) if isinstance(tier_name, str) else None
        if tier is None:
            raise _claim_error(payload, "tier", "a tier name")
        scopes = payload.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise _claim_error(payload, "scopes", "a list of strings")
        session_id = _optional_str(payload, "sid")
        client_id = _optional_str(payload, "client_id")
        return TokenClaims(
            user_id=UserId(payload["sub"]),
            tenant_id=TenantId(payload["tenant"]),
            role=RoleName(payload["role"]),
            tier=tier,
            scopes=frozenset(scopes),
            token_id=payload["jti"],
            issuer=issuer,
            audience=audience,
            issued_at=int(issued_at),
            not_before=int(not_before),
            expires_at=int(expires_at),
            session_id=None if session_id is None else SessionId(session_id),
            client_id=None if client_id is None else ClientId(client_id),
        )

    @staticmethod
    def _audiences_of(value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(a, str) for a in value):
            return tuple(value)
        raise MalformedTokenError("token claim 'aud' must be a string or a list of strings")


def _decode_object(segment: str, part: str) -> dict[str, Any]:
    try:
        value = orjson.loads(b64url_decode(segment))
    except ValueError:
        raise MalformedTokenError(f"token {part} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise MalformedTokenError(f"token {part} is not a JSON object")
    return value


def _numeric_date(payload: dict[str, Any], name: str) -> float:
    value = payload.get(name)
    if value is None:
        raise MalformedTokenError(f"token is missing required claim '{name}'")
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


def _claim_error(payload: dict[str, Any], name: str, expected: str) -> MalformedTokenError:
    if name not in payload:
        return MalformedTokenError(f"token is missing required claim '{name}'")
    return MalformedTokenError(f"token claim '{name}' must be {expected}")
