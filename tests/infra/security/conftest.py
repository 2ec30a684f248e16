from __future__ import annotations

import pytest

from bastion.infra.security import (
    JwtAlgorithm,
    generate_ed25519_private_key_pem,
    generate_rsa_private_key_pem,
)

NOW = 1_750_000_000.0
HMAC_SECRET = "s3cr3t-" * 8


class Clock:
    """A settable stand-in for ``time.time``."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    return generate_rsa_private_key_pem()


@pytest.fixture(scope="session")
def ed25519_pem() -> str:
    return generate_ed25519_private_key_pem()


@pytest.fixture(scope="session")
def key_material(rsa_pem: str, ed25519_pem: str) -> dict[JwtAlgorithm, str]:
    return {"HS256": HMAC_SECRET, "RS256": rsa_pem, "EdDSA": ed25519_pem}
