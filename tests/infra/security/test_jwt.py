from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bastion.infra.security import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    IssuedToken,
    JwtAlgorithm,
    JwtCodec,
    JwtSettings,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    generate_rsa_private_key_pem,
)
from bastion.infra.security import _jwt as jwt_module
from bastion.infra.security._encoding import b64url_decode, b64url_encode
from bastion.kernel.ids import ClientId, RoleName, SessionId, TenantId, UserId
from bastion.kernel.tiers import Tier

NOW = 1_750_000_000
SECRET = "s3cr3t-" * 8


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def key_material(rsa_pem: str, ed25519_pem: str) -> dict[str, str]:
    return {"HS256": SECRET, "RS256": rsa_pem, "EdDSA": ed25519_pem}


def codec(material: str, clock: Clock, **settings: Any) -> JwtCodec:
    return JwtCodec(JwtSettings(**settings), material, clock=clock)


def issue(c: JwtCodec, **overrides: Any) -> IssuedToken:
    args: dict[str, Any] = {
        "user_id": UserId("usr_1"),
        "tenant_id": TenantId("acme"),
        "role": RoleName("user"),
        "tier": Tier.USER,
        "scopes": ["mcp:call", "llm:invoke"],
    }
    args.update(overrides)
    return c.issue(**args)


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return (
        orjson.loads(b64url_decode(header)),
        orjson.loads(b64url_decode(payload)),
        signature,
    )


def hs256(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    signing_input = b64url_encode(orjson.dumps(header)) + "." + b64url_encode(orjson.dumps(payload))
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url_encode(signature)


def valid_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": "bastion",
        "aud": "bastion",
        "sub": "usr_1",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
        "jti": "j1",
        "tenant": "acme",
        "role": "user",
        "tier": "user",
        "scopes": ["llm:invoke"],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def forged(payload: dict[str, Any], **header: Any) -> str:
    """An HS256 token signed with the test secret, with any header and payload."""
    return hs256({"alg": "HS256", "typ": "JWT", **header}, payload, SECRET.encode())


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "EdDSA"])
def test_round_trip(algorithm: JwtAlgorithm, key_material: dict[str, str], clock: Clock) -> None:
    c = codec(key_material[algorithm], clock, algorithm=algorithm)
    issued = issue(c, session_id=SessionId("ses_1"), client_id=ClientId("sp_cowork"))

    claims = c.verify(issued.token)

    assert claims == issued.claims
    assert claims.user_id == "usr_1"
    assert claims.tenant_id == "acme"
    assert claims.role == "user"
    assert claims.tier is Tier.USER
    assert claims.scopes == frozenset({"llm:invoke", "mcp:call"})
    assert claims.session_id == "ses_1"
    assert claims.client_id == "sp_cowork"
    assert (claims.issued_at, claims.not_before, claims.expires_at) == (NOW, NOW, NOW + 3600)
    assert claims.audience == ("bastion",)
    assert claims.issuer == "bastion"


def test_issued_token_layout(clock: Clock) -> None:
    c = codec(SECRET, clock)
    header, payload, _ = segments(issue(c).token)

    assert header == {"alg": "HS256", "typ": "JWT"}
    assert payload == {
        "iss": "bastion",
        "aud": "bastion",
        "sub": "usr_1",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 3600,
        "jti": payload["jti"],
        "tenant": "acme",
        "role": "user",
        "tier": "user",
        "scopes": ["llm:invoke", "mcp:call"],
    }
    assert re.fullmatch(r"[0-9a-f]{32}", payload["jti"])  # 128 bits, never '-' first


def test_each_token_has_a_fresh_jti(clock: Clock) -> None:
    c = codec(SECRET, clock)
    assert issue(c).claims.token_id != issue(c).claims.token_id


def test_ttl_override(clock: Clock) -> None:
    c = codec(SECRET, clock)
    claims = issue(c, ttl_seconds=60).claims
    assert claims.expires_at - claims.issued_at == 60
    with pytest.raises(ValueError, match=r"^ttl_seconds must be positive, got 0$"):
        issue(c, ttl_seconds=0)


def test_issued_token_repr_hides_the_token(clock: Clock) -> None:
    issued = issue(codec(SECRET, clock))
    assert issued.token not in repr(issued)


def test_several_audiences(clock: Clock) -> None:
    issuer = codec(SECRET, clock, audiences=["gateway", "mcp"])
    _, payload, _ = segments(issue(issuer).token)
    assert payload["aud"] == ["gateway", "mcp"]

    verifier = codec(SECRET, clock, audiences=["mcp", "agents"])
    assert verifier.verify(issue(issuer).token).audience == ("gateway", "mcp")


# --- time claims and leeway ---------------------------------------------------------------


def test_expired(clock: Clock) -> None:
    c = codec(SECRET, clock, ttl_seconds=60)
    token = issue(c).token
    clock.now = NOW + 60 + 30
    with pytest.raises(TokenExpiredError) as info:
        c.verify(token)
    assert str(info.value) == "token has expired"


def test_leeway_honoured_at_expiry(clock: Clock) -> None:
    c = codec(SECRET, clock, ttl_seconds=60, leeway_seconds=30)
    token = issue(c).token
    clock.now = NOW + 60 + 29
    assert c.verify(token).user_id == "usr_1"


def test_zero_leeway_expires_at_exp(clock: Clock) -> None:
    c = codec(SECRET, clock, ttl_seconds=60, leeway_seconds=0)
    token = issue(c).token
    clock.now = NOW + 59.5
    c.verify(token)
    clock.now = NOW + 60
    with pytest.raises(TokenExpiredError):
        c.verify(token)


def test_not_yet_valid(clock: Clock) -> None:
    future = codec(SECRET, Clock(NOW + 31))
    token = issue(future).token
    with pytest.raises(TokenNotYetValidError) as info:
        codec(SECRET, clock).verify(token)
    assert str(info.value) == "token is not valid yet ('nbf' is in the future)"


def test_leeway_honoured_at_not_before(clock: Clock) -> None:
    token = issue(codec(SECRET, Clock(NOW + 30))).token
    assert codec(SECRET, clock).verify(token).not_before == NOW + 30


def test_issued_in_the_future(clock: Clock) -> None:
    token = forged(valid_payload(iat=NOW + 120, nbf=NOW - 10))
    with pytest.raises(TokenNotYetValidError) as info:
        codec(SECRET, clock).verify(token)
    assert str(info.value) == "token is not valid yet ('iat' is in the future)"


# --- issuer and audience ------------------------------------------------------------------


def test_wrong_audience(clock: Clock) -> None:
    token = issue(codec(SECRET, clock, audiences=["elsewhere"])).token
    with pytest.raises(InvalidAudienceError) as info:
        codec(SECRET, clock, audiences=["bastion", "mcp"]).verify(token)
    assert str(info.value) == "token audience is not accepted; expected one of 'bastion', 'mcp'"


def test_empty_audience_list(clock: Clock) -> None:
    with pytest.raises(InvalidAudienceError):
        codec(SECRET, clock).verify(forged(valid_payload(aud=[])))


def test_audience_of_the_wrong_type(clock: Clock) -> None:
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(forged(valid_payload(aud=7)))
    assert str(info.value) == "token claim 'aud' must be a string or a list of strings"


def test_wrong_issuer(clock: Clock) -> None:
    token = issue(codec(SECRET, clock, issuer="someone-else")).token
    with pytest.raises(InvalidIssuerError) as info:
        codec(SECRET, clock).verify(token)
    assert str(info.value) == "token issuer is not accepted; expected 'bastion'"


# --- tampering ----------------------------------------------------------------------------


def test_tampered_payload(clock: Clock) -> None:
    c = codec(SECRET, clock)
    header, _, signature = issue(c).token.split(".")
    _, payload, _ = segments(issue(c).token)
    payload.update(role="admin", tier="admin", scopes=["*"])
    tampered = f"{header}.{b64url_encode(orjson.dumps(payload))}.{signature}"
    with pytest.raises(InvalidSignatureError) as info:
        c.verify(tampered)
    assert str(info.value) == "token signature is invalid"


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "EdDSA"])
def test_tampered_signature(
    algorithm: JwtAlgorithm, key_material: dict[str, str], clock: Clock
) -> None:
    c = codec(key_material[algorithm], clock, algorithm=algorithm)
    head, _, signature = issue(c).token.rpartition(".")
    raw = bytearray(b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(InvalidSignatureError) as info:
        c.verify(f"{head}.{b64url_encode(bytes(raw))}")
    assert str(info.value) == "token signature is invalid"


def test_signature_from_another_secret(clock: Clock) -> None:
    token = issue(codec("another-secret-" * 4, clock)).token
    with pytest.raises(InvalidSignatureError):
        codec(SECRET, clock).verify(token)


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def respelled(segment: str) -> str:
    """The same bytes spelled differently: the last character's low bits carry no data."""
    assert len(segment) % 4 in (2, 3)
    other = segment[:-1] + ALPHABET[ALPHABET.index(segment[-1]) ^ 0b01]
    assert other != segment
    assert b64url_decode(other) == b64url_decode(segment)
    return other


def spare_bits(make: Callable[[str], str]) -> str:
    """A segment ``make(padding)`` whose length leaves spare bits in its last character."""
    return next(s for s in (make("x" * n) for n in range(3)) if len(s) % 4)


def test_non_canonical_signature_encoding(clock: Clock) -> None:
    # PyJWT accepts exactly one spelling of each segment; the signature is checked over
    # the segments as sent, so a second spelling would be a second valid token.
    c = codec(SECRET, clock)
    head, _, signature = issue(c).token.rpartition(".")
    with pytest.raises(MalformedTokenError) as info:
        c.verify(f"{head}.{respelled(signature)}")
    assert str(info.value) == "token is not a well-formed JWS"


@pytest.mark.parametrize("part", ["header", "payload"])
def test_non_canonical_segment_encoding_even_when_signed(part: str, clock: Clock) -> None:
    header = spare_bits(
        lambda pad: b64url_encode(orjson.dumps({"alg": "HS256", "typ": "JWT", "x": pad}))
    )
    payload = spare_bits(lambda pad: b64url_encode(orjson.dumps(valid_payload(x=pad))))
    if part == "header":
        header = respelled(header)
    else:
        payload = respelled(payload)
    signing_input = f"{header}.{payload}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(f"{signing_input}.{b64url_encode(signature)}")
    assert str(info.value) == "token is not a well-formed JWS"


def test_empty_signature(clock: Clock) -> None:
    head, _, _ = issue(codec(SECRET, clock)).token.rpartition(".")
    with pytest.raises(InvalidSignatureError):
        codec(SECRET, clock).verify(head + ".")


# --- algorithm and key confusion ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none(alg: str, clock: Clock) -> None:
    header = b64url_encode(orjson.dumps({"alg": alg, "typ": "JWT"}))
    unsigned = f"{header}.{b64url_encode(orjson.dumps(valid_payload()))}."
    with pytest.raises(UnsupportedAlgorithmError) as info:
        codec(SECRET, clock).verify(unsigned)
    assert str(info.value) == "unsigned tokens (alg 'none') are not accepted"


def test_hs256_token_keyed_with_the_rs256_public_key(rsa_pem: str, clock: Clock) -> None:
    c = codec(rsa_pem, clock, algorithm="RS256")
    private = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hs256(
        {"alg": "HS256", "typ": "JWT", "kid": c.key_id},
        valid_payload(role="admin", tier="admin", scopes=["*"]),
        public_pem,
    )
    with pytest.raises(UnsupportedAlgorithmError) as info:
        c.verify(token)
    assert str(info.value) == "token algorithm is not accepted; expected 'RS256'"


def test_rs256_token_presented_to_hs256(rsa_pem: str, clock: Clock) -> None:
    token = issue(codec(rsa_pem, clock, algorithm="RS256")).token
    with pytest.raises(UnsupportedAlgorithmError) as info:
        codec(SECRET, clock).verify(token)
    assert str(info.value) == "token algorithm is not accepted; expected 'HS256'"


def test_eddsa_token_presented_to_rs256(rsa_pem: str, ed25519_pem: str, clock: Clock) -> None:
    token = issue(codec(ed25519_pem, clock, algorithm="EdDSA")).token
    with pytest.raises(UnsupportedAlgorithmError) as info:
        codec(rsa_pem, clock, algorithm="RS256").verify(token)
    assert str(info.value) == "token algorithm is not accepted; expected 'RS256'"


def test_missing_alg(clock: Clock) -> None:
    header = b64url_encode(orjson.dumps({"typ": "JWT"}))
    token = f"{header}.{b64url_encode(orjson.dumps(valid_payload()))}.AAAA"
    with pytest.raises(UnsupportedAlgorithmError) as info:
        codec(SECRET, clock).verify(token)
    assert str(info.value) == "token algorithm is not accepted; expected 'HS256'"


def test_kid_pointing_nowhere(rsa_pem: str, clock: Clock) -> None:
    c = codec(rsa_pem, clock, algorithm="RS256")
    _, payload, signature = issue(c).token.split(".")
    other = b64url_encode(orjson.dumps({"alg": "RS256", "typ": "JWT", "kid": "rotated-away"}))
    with pytest.raises(UnknownKeyError) as info:
        c.verify(f"{other}.{payload}.{signature}")
    assert str(info.value) == "token key id ('kid') does not name this issuer's key"


def test_kid_sent_to_an_issuer_without_one(clock: Clock) -> None:
    with pytest.raises(UnknownKeyError):
        codec(SECRET, clock).verify(forged(valid_payload(), kid="k1"))


def test_kid_absent_is_accepted_for_the_single_key(clock: Clock) -> None:
    c = codec(SECRET, clock, key_id="k1")
    assert segments(issue(c).token)[0] == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    assert c.verify(forged(valid_payload())).user_id == "usr_1"
    assert c.verify(forged(valid_payload(), kid="k1")).user_id == "usr_1"


def test_embedded_jwk_header_is_not_trusted(rsa_pem: str, clock: Clock) -> None:
    c = codec(rsa_pem, clock, algorithm="RS256")
    attacker_pem = generate_rsa_private_key_pem()
    attacker = codec(attacker_pem, clock, algorithm="RS256", key_id=c.key_id)
    jwk = attacker.jwks()["keys"][0]
    token = jwt.encode(
        valid_payload(role="admin", tier="admin", scopes=["*"]),
        attacker_pem,
        algorithm="RS256",
        headers={"kid": c.key_id, "jwk": jwk},
    )
    with pytest.raises(InvalidSignatureError):
        c.verify(token)


def test_critical_header_extensions_rejected(clock: Clock) -> None:
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(forged(valid_payload(), crit=["b64"], b64=False))
    assert str(info.value) == "token header lists critical extensions ('crit')"


def test_foreign_token_type_rejected(clock: Clock) -> None:
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(forged(valid_payload(), typ="dpop+jwt"))
    assert str(info.value) == "token type ('typ') is not 'JWT'"


def test_header_variants_that_are_still_ours(clock: Clock) -> None:
    c = codec(SECRET, clock)
    assert c.verify(forged(valid_payload(), typ="jwt")).user_id == "usr_1"
    no_typ = hs256({"alg": "HS256"}, valid_payload(), SECRET.encode())
    assert c.verify(no_typ).user_id == "usr_1"


# --- malformed input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "a..c", "a.b.c=", "a b.c.d", "é.b.c", "a.b.c\n"],
)
def test_not_a_compact_jws(token: str, clock: Clock) -> None:
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(token)
    assert str(info.value) == (
        "token is not a compact JWS (three base64url segments separated by dots)"
    )


def test_too_long(clock: Clock) -> None:
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify("a" * 8193)
    assert str(info.value) == "token is longer than 8192 characters"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("e30xx", "token header is not base64url-encoded JSON"),  # impossible length
        (b64url_encode(b"{not json"), "token header is not base64url-encoded JSON"),
        (b64url_encode(b'["HS256"]'), "token header is not a JSON object"),
    ],
)
def test_bad_header(header: str, message: str, clock: Clock) -> None:
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(f"{header}.e30.AAAA")
    assert str(info.value) == message


def test_bad_payload(clock: Clock) -> None:
    header = b64url_encode(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    signing_input = f"{header}.{b64url_encode(b'[1, 2]')}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(f"{signing_input}.{b64url_encode(signature)}")
    assert str(info.value) == "token payload is not a JSON object"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iss": None}, "token is missing required claim 'iss'"),
        ({"aud": None}, "token is missing required claim 'aud'"),
        ({"exp": None}, "token is missing required claim 'exp'"),
        ({"nbf": None}, "token is missing required claim 'nbf'"),
        ({"iat": None}, "token is missing required claim 'iat'"),
        ({"sub": None}, "token is missing required claim 'sub'"),
        ({"jti": None}, "token is missing required claim 'jti'"),
        ({"tenant": None}, "token is missing required claim 'tenant'"),
        ({"role": None}, "token is missing required claim 'role'"),
        ({"tier": None}, "token is missing required claim 'tier'"),
        ({"scopes": None}, "token is missing required claim 'scopes'"),
        ({"exp": "tomorrow"}, "token claim 'exp' must be a number of seconds"),
        ({"exp": True}, "token claim 'exp' must be a number of seconds"),
        ({"sub": ""}, "token claim 'sub' must be a non-empty string"),
        ({"tenant": 3}, "token claim 'tenant' must be a non-empty string"),
        ({"tier": "root"}, "token claim 'tier' must be a tier name"),
        ({"tier": 100}, "token claim 'tier' must be a tier name"),
        ({"scopes": "llm:invoke"}, "token claim 'scopes' must be a list of strings"),
        ({"scopes": ["llm:invoke", 1]}, "token claim 'scopes' must be a list of strings"),
        ({"sid": 5}, "token claim 'sid' must be a non-empty string"),
        ({"client_id": ""}, "token claim 'client_id' must be a non-empty string"),
    ],
)
def test_bad_claims(change: dict[str, Any], message: str, clock: Clock) -> None:
    payload = valid_payload()
    for name, value in change.items():
        if value is None:
            del payload[name]
        else:
            payload[name] = value
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(forged(payload))
    assert str(info.value) == message


def test_null_counts_as_missing(clock: Clock) -> None:
    payload = {**valid_payload(), "tenant": None}
    with pytest.raises(MalformedTokenError) as info:
        codec(SECRET, clock).verify(forged(payload))
    assert str(info.value) == "token is missing required claim 'tenant'"


def test_fractional_numeric_dates_are_accepted(clock: Clock) -> None:
    claims = codec(SECRET, clock).verify(forged(valid_payload(exp=NOW + 10.5)))
    assert claims.expires_at == NOW + 10


def test_messages_never_contain_the_token(rsa_pem: str, clock: Clock) -> None:
    c = codec(SECRET, clock)
    token = issue(c).token
    head, payload, signature = token.split(".")
    candidates = [
        f"{head}.{payload}.{signature[:-2]}AA",
        f"{head}.{payload[:-4]}AAAA.{signature}",
        issue(codec(rsa_pem, clock, algorithm="RS256")).token,
        issue(codec(SECRET, clock, issuer="x")).token,
    ]
    clock.now = NOW + 10**6
    candidates.append(token)
    for candidate in candidates:
        with pytest.raises(InvalidTokenError) as info:
            c.verify(candidate)
        text = str(info.value)
        for part in candidate.split("."):
            assert part not in text


# --- interoperability with PyJWT ----------------------------------------------------------


def test_pyjwt_token_verifies(clock: Clock) -> None:
    token = jwt.encode(valid_payload(), SECRET, algorithm="HS256")
    assert codec(SECRET, clock).verify(token).tier is Tier.USER


def test_pyjwt_decodes_our_hs256_token() -> None:
    token = issue(JwtCodec(JwtSettings(), SECRET)).token  # PyJWT reads the real clock
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], audience="bastion", issuer="bastion")
    assert decoded["sub"] == "usr_1"
    assert decoded["tier"] == "user"


# --- JWKS ---------------------------------------------------------------------------------


def test_jwks_rs256(rsa_pem: str, clock: Clock) -> None:
    c = codec(rsa_pem, clock, algorithm="RS256")
    (key,) = c.jwks()["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"], key["e"]) == ("RSA", "RS256", "sig", "AQAB")
    assert key["kid"] == c.key_id
    assert len(b64url_decode(key["n"])) == 256


def test_jwks_eddsa(ed25519_pem: str, clock: Clock) -> None:
    c = codec(ed25519_pem, clock, algorithm="EdDSA")
    (key,) = c.jwks()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert key["kid"] == c.key_id
    assert len(b64url_decode(key["x"])) == 32


def test_jwks_hs256_is_empty(clock: Clock) -> None:
    assert codec(SECRET, clock, key_id="k1").jwks() == {"keys": []}


def test_jwks_is_a_fresh_copy(rsa_pem: str, clock: Clock) -> None:
    c = codec(rsa_pem, clock, algorithm="RS256")
    c.jwks()["keys"][0]["kid"] = "mutated"
    assert c.jwks()["keys"][0]["kid"] == c.key_id


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
def test_token_verifies_with_the_published_jwk(
    algorithm: JwtAlgorithm, key_material: dict[str, str]
) -> None:
    c = JwtCodec(JwtSettings(algorithm=algorithm, ttl_seconds=10**10), key_material[algorithm])
    token = issue(c).token
    published = jwt.PyJWK(c.jwks()["keys"][0])

    decoded = jwt.decode(
        token, published.key, algorithms=[algorithm], audience="bastion", issuer="bastion"
    )

    assert jwt.get_unverified_header(token)["kid"] == published.key_id
    assert decoded["sub"] == "usr_1"
    assert decoded["scopes"] == ["llm:invoke", "mcp:call"]


def test_kid_is_the_rfc8037_thumbprint(clock: Clock) -> None:
    # RFC 8037 appendix A.1 private key; A.3 gives the thumbprint of its public key.
    seed = b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    pem = (
        ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    c = codec(pem, clock, algorithm="EdDSA")
    assert c.key_id == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert c.jwks()["keys"][0]["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert segments(issue(c).token)[0]["kid"] == c.key_id


def test_configured_key_id_wins(rsa_pem: str, clock: Clock) -> None:
    c = codec(rsa_pem, clock, algorithm="RS256", key_id="2026-01")
    assert c.key_id == "2026-01"
    assert c.jwks()["keys"][0]["kid"] == "2026-01"
    assert c.verify(issue(c).token).user_id == "usr_1"


# --- verified-token cache -----------------------------------------------------------------


def cached_entries(c: JwtCodec) -> dict[bytes, Any]:
    return dict(c._cache._entries)


def test_cache_hit_returns_the_same_claims(clock: Clock) -> None:
    c = codec(SECRET, clock)
    issued = issue(c, session_id=SessionId("ses_1"))
    first = c.verify(issued.token)
    second = c.verify(issued.token)
    assert second is first  # a cold verification builds new claims; a hit does not
    assert second == issued.claims
    assert len(cached_entries(c)) == 1


def test_cache_is_keyed_by_digest_and_never_holds_the_token(clock: Clock) -> None:
    c = codec(SECRET, clock)
    token = issue(c).token
    c.verify(token)
    ((key, entry),) = cached_entries(c).items()
    assert key == hashlib.sha256(token.encode()).digest()
    assert isinstance(key, bytes)
    assert len(key) == 32
    held = repr(key) + repr(entry) + repr(cached_entries(c))
    for part in token.split("."):
        assert part not in held


def test_cached_token_expires_when_the_clock_passes_exp_plus_leeway(clock: Clock) -> None:
    c = codec(SECRET, clock, ttl_seconds=60, leeway_seconds=30)
    token = issue(c).token
    claims = c.verify(token)
    clock.now = NOW + 60 + 29.9
    assert c.verify(token) is claims
    clock.now = NOW + 60 + 30
    with pytest.raises(TokenExpiredError) as info:
        c.verify(token)
    assert str(info.value) == "token has expired"
    assert cached_entries(c) == {}
    with pytest.raises(TokenExpiredError):
        c.verify(token)


def test_cached_expiry_uses_the_exact_claim_not_the_rounded_one(clock: Clock) -> None:
    c = codec(SECRET, clock, leeway_seconds=0)
    token = forged(valid_payload(exp=NOW + 10.5))
    claims = c.verify(token)
    assert claims.expires_at == NOW + 10
    clock.now = NOW + 10.25
    assert c.verify(token) is claims
    clock.now = NOW + 10.5
    with pytest.raises(TokenExpiredError):
        c.verify(token)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"nbf": NOW + 20}, "token is not valid yet ('nbf' is in the future)"),
        ({"iat": NOW + 20}, "token is not valid yet ('iat' is in the future)"),
    ],
)
def test_cached_token_is_rechecked_when_the_clock_goes_back(
    claims: dict[str, int], message: str, clock: Clock
) -> None:
    c = codec(SECRET, clock, leeway_seconds=30)
    token = forged(valid_payload(**claims))
    first = c.verify(token)
    clock.now = NOW - 10 - 0.5  # now < claim - leeway
    with pytest.raises(TokenNotYetValidError) as info:
        c.verify(token)
    assert str(info.value) == message
    clock.now = NOW
    assert c.verify(token) == first


def test_failures_are_not_cached(clock: Clock) -> None:
    c = codec(SECRET, clock, ttl_seconds=60)
    token = issue(c).token
    head, _, signature = token.rpartition(".")
    tampered = f"{head}.{signature[:-2]}AA"
    for _ in range(2):
        with pytest.raises(InvalidSignatureError):
            c.verify(tampered)
    clock.now = NOW + 1000
    with pytest.raises(TokenExpiredError):
        c.verify(token)
    assert cached_entries(c) == {}


def test_cache_belongs_to_one_key(clock: Clock) -> None:
    token = issue(codec(SECRET, clock)).token
    mine = codec(SECRET, clock)
    mine.verify(token)
    with pytest.raises(InvalidSignatureError):
        codec("another-secret-" * 4, clock).verify(token)


def test_cache_is_bounded_and_evicts_the_least_recently_used(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    assert jwt_module.CACHE_SIZE == 10_000
    monkeypatch.setattr(jwt_module, "CACHE_SIZE", 3)
    c = codec(SECRET, clock)
    tokens = [issue(c).token for _ in range(5)]
    claims = [c.verify(t) for t in tokens[:3]]
    assert c.verify(tokens[0]) is claims[0]  # tokens[1] is now the least recently used
    c.verify(tokens[3])
    c.verify(tokens[4])
    held = set(cached_entries(c))
    assert len(held) == 3
    digests = [hashlib.sha256(t.encode()).digest() for t in tokens]
    assert held == {digests[0], digests[3], digests[4]}
    assert c.verify(tokens[1]) == claims[1]  # evicted, so verified afresh
    assert c.verify(tokens[1]) is not claims[1]


def test_cache_under_concurrent_use(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    monkeypatch.setattr(jwt_module, "CACHE_SIZE", 8)
    c = codec(SECRET, clock)
    tokens = [issue(c).token for _ in range(32)]
    expected = {t: c.verify(t) for t in tokens}

    def work(offset: int) -> bool:
        picks = [tokens[(offset + i) % len(tokens)] for i in range(500)]
        return all(c.verify(token) == expected[token] for token in picks)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(8)))
    assert len(cached_entries(c)) <= 8
