from __future__ import annotations

import pytest

from bastion.infra.security import generate_ed25519_private_key_pem, generate_rsa_private_key_pem


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    return generate_rsa_private_key_pem()


@pytest.fixture(scope="session")
def ed25519_pem() -> str:
    return generate_ed25519_private_key_pem()
