from __future__ import annotations

import pytest
from pydantic import ValidationError

from bastion.infra.security import JwtSettings


def test_defaults() -> None:
    settings = JwtSettings()
    assert settings.model_dump() == {
        "issuer": "bastion",
        "audiences": ["bastion"],
        "ttl_seconds": 3600,
        "algorithm": "HS256",
        "leeway_seconds": 30,
        "signing_secret": "jwt_signing_key",
        "private_key_secret": "jwt_private_key",
        "key_id": None,
    }


def test_every_field_is_documented() -> None:
    for name, info in JwtSettings.model_fields.items():
        assert info.description, name


def test_key_secret_name_follows_the_algorithm() -> None:
    assert JwtSettings().key_secret_name == "jwt_signing_key"
    assert JwtSettings(algorithm="RS256").key_secret_name == "jwt_private_key"
    assert JwtSettings(algorithm="EdDSA", private_key_secret="ed").key_secret_name == "ed"


@pytest.mark.parametrize(
    ("values", "location"),
    [
        ({"algorithm": "none"}, ("algorithm",)),
        ({"algorithm": "HS512"}, ("algorithm",)),
        ({"audiences": []}, ("audiences",)),
        ({"audiences": [""]}, ("audiences", 0)),
        ({"ttl_seconds": 0}, ("ttl_seconds",)),
        ({"leeway_seconds": -1}, ("leeway_seconds",)),
        ({"leeway_seconds": 301}, ("leeway_seconds",)),
        ({"issuer": ""}, ("issuer",)),
        ({"key_id": ""}, ("key_id",)),
        ({"secret": "inline"}, ("secret",)),
    ],
)
def test_rejected(values: dict[str, object], location: tuple[str | int, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        JwtSettings.model_validate(values)
    assert [error["loc"] for error in info.value.errors()] == [location]
