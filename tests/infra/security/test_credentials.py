from __future__ import annotations

import pytest

from bastion.infra.security import Credential, CredentialKind, extract_credential
from bastion.kernel.context import AuthMethod

API_KEY = "bst_abcd1234_" + "A1b2C3d4E5" * 4 + "xyz"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"


def test_api_key_in_x_api_key() -> None:
    assert extract_credential([(b"x-api-key", API_KEY.encode())]) == Credential(
        CredentialKind.API_KEY, API_KEY
    )


def test_jwt_in_x_api_key() -> None:
    assert extract_credential([(b"x-api-key", JWT.encode())]) == Credential(CredentialKind.JWT, JWT)


@pytest.mark.parametrize("scheme", [b"Bearer", b"bearer", b"BEARER", b"bEaReR"])
def test_bearer_scheme_is_case_insensitive(scheme: bytes) -> None:
    headers = [(b"authorization", scheme + b" " + JWT.encode())]
    assert extract_credential(headers) == Credential(CredentialKind.JWT, JWT)


def test_api_key_as_bearer() -> None:
    headers = [(b"authorization", b"Bearer   " + API_KEY.encode() + b"  ")]
    assert extract_credential(headers) == Credential(CredentialKind.API_KEY, API_KEY)


def test_x_api_key_wins_over_authorization() -> None:
    headers = [(b"authorization", b"Bearer " + JWT.encode()), (b"x-api-key", API_KEY.encode())]
    credential = extract_credential(headers)
    assert credential is not None
    assert credential.kind is CredentialKind.API_KEY


def test_empty_x_api_key_falls_back_to_authorization() -> None:
    headers = [(b"x-api-key", b"  "), (b"authorization", b"Bearer " + JWT.encode())]
    assert extract_credential(headers) == Credential(CredentialKind.JWT, JWT)


def test_header_names_are_matched_case_insensitively() -> None:
    assert extract_credential([(b"X-Api-Key", API_KEY.encode())]) is not None


def test_unsigned_jwt_is_still_a_jwt() -> None:
    unsigned = JWT.rpartition(".")[0] + "."
    credential = extract_credential([(b"authorization", b"Bearer " + unsigned.encode())])
    assert credential == Credential(CredentialKind.JWT, unsigned)


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"content-type", b"application/json")],
        [(b"authorization", b"Basic dXNlcjpwYXNz")],
        [(b"authorization", b"Bearer")],
        [(b"authorization", b"Bearer ")],
        [(b"authorization", b"Token " + JWT.encode())],
        [(b"authorization", b"Bearer not-a-token")],
        [(b"authorization", b"Bearer a.b")],
        [(b"authorization", b"Bearer a.b.c.d")],
        [(b"x-api-key", b"sk-ant-api03-upstream-key")],
        [(b"x-api-key", b"bst_abc def")],
        [(b"x-api-key", "bst_é".encode())],
        [(b"x-api-key", b"bst_\x00")],
        [(b"x-api-key", b"bst_" + b"a" * 9000)],
        [(b"x-api-key", API_KEY.encode()), (b"x-api-key", API_KEY.encode())],
        [(b"authorization", b"Bearer " + JWT.encode())] * 2,
        [(b"x-api-key", b"garbage"), (b"authorization", b"Bearer " + JWT.encode())],
    ],
)
def test_no_usable_credential(headers: list[tuple[bytes, bytes]]) -> None:
    assert extract_credential(headers) is None


def test_repr_never_shows_the_value() -> None:
    credential = Credential(CredentialKind.API_KEY, API_KEY)
    assert repr(credential) == "Credential(kind='api_key', value=<redacted>)"
    assert str(credential) == repr(credential)
    assert API_KEY not in f"{credential}"


def test_kind_maps_to_auth_method() -> None:
    assert CredentialKind.API_KEY.auth_method is AuthMethod.API_KEY
    assert CredentialKind.JWT.auth_method is AuthMethod.JWT
