"""Signing keys for self-issued JWTs: loading, generation, JWK export and thumbprints.

A key is loaded once at boot into a ``SigningKey`` holding parsed key objects (the HMAC
secret as PyJWT's ``prepare_key`` returned it, or ``cryptography`` key objects); PyJWT
signs and verifies with those objects, so no token ever causes key material to be parsed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import InvalidKeyError

from bastion.infra.security._encoding import b64url_encode
from bastion.infra.security._jwt_settings import JwtAlgorithm
from bastion.infra.security.errors import KeyMaterialError

MIN_HMAC_SECRET_BYTES = 32  # RFC 7518 §3.2: a key at least as long as the hash output
MIN_RSA_BITS = 2048

# RFC 7638 §3.2 and RFC 8037 §2: the members that identify a public key, per kty.
_THUMBPRINT_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}

PrivateKey = bytes | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = bytes | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True, slots=True, eq=False)
class SigningKey:
    """One algorithm's key, parsed once, in the form PyJWT signs and verifies with.

    For HS256 both keys are the same secret bytes and ``public_jwk`` is None.
    """

    algorithm: JwtAlgorithm
    key_id: str | None
    signing_key: PrivateKey = field(repr=False)
    verifying_key: PublicKey = field(repr=False)
    public_jwk: Mapping[str, str] | None
    """The public key as a JWK (RFC 7517) without ``kid``/``alg``/``use``."""


def load_signing_key(
    algorithm: JwtAlgorithm, material: str, key_id: str | None = None
) -> SigningKey:
    """Parse ``material`` (an HS256 secret, or a PEM private key) for ``algorithm``."""
    if algorithm == "HS256":
        secret = _hmac_secret(material)
        return SigningKey("HS256", key_id, secret, secret, None)
    try:
        private = serialization.load_pem_private_key(material.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyMaterialError(
            f"the {algorithm} signing key is not an unencrypted PEM private key"
        ) from None
    if algorithm == "RS256":
        if not isinstance(private, rsa.RSAPrivateKey):
            raise KeyMaterialError(
                f"the RS256 signing key must be an RSA private key, not {_kind(private)}"
            )
        if private.key_size < MIN_RSA_BITS:
            raise KeyMaterialError(
                f"the RS256 private key has {private.key_size} bits; at least "
                f"{MIN_RSA_BITS} are required"
            )
        rsa_public = private.public_key()
        numbers = rsa_public.public_numbers()
        jwk = {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
        return SigningKey("RS256", key_id or jwk_thumbprint(jwk), private, rsa_public, jwk)
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise KeyMaterialError(
            f"the EdDSA signing key must be an Ed25519 private key, not {_kind(private)}"
        )
    ed_public = private.public_key()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(ed_public.public_bytes_raw())}
    return SigningKey("EdDSA", key_id or jwk_thumbprint(jwk), private, ed_public, jwk)


def _hmac_secret(material: str) -> bytes:
    raw = material.encode("utf-8")
    if len(raw) < MIN_HMAC_SECRET_BYTES:
        raise KeyMaterialError(
            f"the HS256 signing secret is {len(raw)} bytes; at least "
            f"{MIN_HMAC_SECRET_BYTES} are required"
        )
    try:
        # Refuses PEM, SSH and DER keys (and JWKs): an HMAC keyed with a public key is
        # the classic algorithm-confusion forgery.
        return HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(raw)
    except InvalidKeyError:
        raise KeyMaterialError(
            "the HS256 signing secret is a PEM or SSH key; HS256 needs a random shared "
            "secret (RS256 and EdDSA take a private key)"
        ) from None


def jwk_thumbprint(jwk: Mapping[str, str]) -> str:
    """The RFC 7638 SHA-256 thumbprint of an RSA or OKP public JWK, base64url encoded."""
    kty = jwk.get("kty", "")
    members = _THUMBPRINT_MEMBERS.get(kty)
    if members is None:
        raise ValueError(f"cannot compute a thumbprint for key type {kty!r}")
    missing = [m for m in members if m not in jwk]
    if missing:
        raise ValueError(f"{kty} JWK lacks required member(s): {', '.join(missing)}")
    canonical = orjson.dumps({m: jwk[m] for m in members}, option=orjson.OPT_SORT_KEYS)
    return b64url_encode(hashlib.sha256(canonical).digest())


def generate_hmac_secret() -> str:
    """A fresh HS256 secret: 64 bytes of randomness, url-safe text."""
    return secrets.token_urlsafe(64)


def generate_rsa_private_key_pem(bits: int = MIN_RSA_BITS) -> str:
    """A fresh RSA private key (PKCS#8 PEM, unencrypted) for RS256."""
    if bits < MIN_RSA_BITS:
        raise ValueError(f"RSA keys need at least {MIN_RSA_BITS} bits")
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def generate_ed25519_private_key_pem() -> str:
    """A fresh Ed25519 private key (PKCS#8 PEM, unencrypted) for EdDSA."""
    return _pem(ed25519.Ed25519PrivateKey.generate())


def generate_key_material(algorithm: JwtAlgorithm) -> str:
    """What the profile bootstrap stores in the secret ``JwtSettings.key_secret_name``."""
    if algorithm == "HS256":
        return generate_hmac_secret()
    if algorithm == "RS256":
        return generate_rsa_private_key_pem()
    return generate_ed25519_private_key_pem()


def _pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _b64url_uint(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _kind(key: object) -> str:
    return type(key).__name__.removeprefix("_")
