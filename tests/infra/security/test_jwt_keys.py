from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa

from bastion.infra.security import (
    JwtCodec,
    JwtSettings,
    KeyMaterialError,
    generate_ed25519_private_key_pem,
    generate_hmac_secret,
    generate_key_material,
    generate_rsa_private_key_pem,
    jwk_thumbprint,
)

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq"
    "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
    "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_rfc7638_thumbprint() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    decorated = {**jwk, "kid": "2011-04-29", "alg": "RS256", "use": "sig"}
    assert jwk_thumbprint(decorated) == jwk_thumbprint(jwk)


def test_rfc8037_thumbprint() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_thumbprint_refuses_what_it_cannot_identify() -> None:
    with pytest.raises(ValueError, match=r"^cannot compute a thumbprint for key type 'oct'$"):
        jwk_thumbprint({"kty": "oct", "k": "c2VjcmV0"})
    with pytest.raises(ValueError, match=r"^RSA JWK lacks required member\(s\): n$"):
        jwk_thumbprint({"kty": "RSA", "e": "AQAB"})


def test_generated_keys_load() -> None:
    for algorithm in ("HS256", "RS256", "EdDSA"):
        material = generate_key_material(algorithm)
        assert JwtCodec(JwtSettings(algorithm=algorithm), material).algorithm == algorithm


def test_generated_material_shapes() -> None:
    assert len(generate_hmac_secret()) >= 64
    assert generate_hmac_secret() != generate_hmac_secret()
    rsa_key = serialization.load_pem_private_key(generate_rsa_private_key_pem().encode(), None)
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert rsa_key.key_size == 2048
    assert generate_ed25519_private_key_pem().startswith("-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match=r"^RSA keys need at least 2048 bits$"):
        generate_rsa_private_key_pem(1024)


def test_short_hmac_secret() -> None:
    with pytest.raises(KeyMaterialError) as info:
        JwtCodec(JwtSettings(), "x" * 31)
    assert str(info.value) == "the HS256 signing secret is 31 bytes; at least 32 are required"


def test_public_key_as_hmac_secret(rsa_pem: str) -> None:
    private = serialization.load_pem_private_key(rsa_pem.encode(), None)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(KeyMaterialError) as info:
        JwtCodec(JwtSettings(), public_pem)
    assert str(info.value) == (
        "the HS256 signing secret is a PEM or SSH key; HS256 needs a random shared secret "
        "(RS256 and EdDSA take a private key)"
    )


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
def test_not_a_pem(algorithm: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        JwtCodec(JwtSettings(algorithm=algorithm), "s3cr3t-" * 8)
    assert str(info.value) == f"the {algorithm} signing key is not an unencrypted PEM private key"


def test_encrypted_pem() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()
    with pytest.raises(KeyMaterialError) as info:
        JwtCodec(JwtSettings(algorithm="RS256"), encrypted)
    assert str(info.value) == "the RS256 signing key is not an unencrypted PEM private key"


def test_wrong_key_type_for_the_algorithm(rsa_pem: str, ed25519_pem: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        JwtCodec(JwtSettings(algorithm="RS256"), ed25519_pem)
    assert str(info.value) == (
        "the RS256 signing key must be an RSA private key, not Ed25519PrivateKey"
    )
    with pytest.raises(KeyMaterialError) as info:
        JwtCodec(JwtSettings(algorithm="EdDSA"), rsa_pem)
    assert str(info.value) == (
        "the EdDSA signing key must be an Ed25519 private key, not RSAPrivateKey"
    )
    with pytest.raises(KeyMaterialError):
        JwtCodec(JwtSettings(algorithm="EdDSA"), pem(ed448.Ed448PrivateKey.generate()))
    with pytest.raises(KeyMaterialError):
        JwtCodec(JwtSettings(algorithm="RS256"), pem(ec.generate_private_key(ec.SECP256R1())))


def test_small_rsa_key() -> None:
    small = pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(KeyMaterialError) as info:
        JwtCodec(JwtSettings(algorithm="RS256"), small)
    assert str(info.value) == "the RS256 private key has 1024 bits; at least 2048 are required"


def test_key_material_never_in_messages(rsa_pem: str) -> None:
    for settings, material in [
        (JwtSettings(), "short-secret"),
        (JwtSettings(algorithm="EdDSA"), rsa_pem),
        (JwtSettings(algorithm="RS256"), rsa_pem[:200]),
    ]:
        with pytest.raises(KeyMaterialError) as info:
            JwtCodec(settings, material)
        assert material not in str(info.value)
        assert "MII" not in str(info.value)
