"""Find the caller's credential in ASGI request headers.

``x-api-key`` is read first (Anthropic clients send it), then ``Authorization: Bearer``
(OpenAI clients). Either header may carry a Bastion API key or a Bastion JWT.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bastion.infra.security._api_keys import API_KEY_PREFIX
from bastion.infra.security._encoding import COMPACT_JWS, MAX_TOKEN_LENGTH
from bastion.kernel.context import AuthMethod

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


class CredentialKind(enum.StrEnum):
    API_KEY = "api_key"
    JWT = "jwt"

    @property
    def auth_method(self) -> AuthMethod:
        return AuthMethod(self.value)


@dataclass(frozen=True, slots=True, repr=False)
class Credential:
    """A credential as presented; its shape is known, its validity is not."""

    kind: CredentialKind
    value: str

    def __repr__(self) -> str:
        return f"Credential(kind='{self.kind.value}', value=<redacted>)"


def extract_credential(headers: Iterable[tuple[bytes, bytes]]) -> Credential | None:
    """The credential in ``headers``, or None if there is none or it is ambiguous.

    A header sent twice is ambiguous and yields None rather than a guess; so does a
    value that is neither an API key nor a compact JWS. An empty ``x-api-key`` is
    ignored, and so is an ``Authorization`` header with a scheme other than Bearer.
    """
    api_keys: list[bytes] = []
    authorizations: list[bytes] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"x-api-key":
            api_keys.append(value)
        elif lowered == b"authorization":
            authorizations.append(value)
    if len(api_keys) > 1 or len(authorizations) > 1:
        return None
    if api_keys and api_keys[0].strip():
        return _classify(api_keys[0].strip())
    if authorizations:
        scheme, _, token = authorizations[0].strip().partition(b" ")
        if scheme.lower() == b"bearer":
            return _classify(token.strip())
    return None


def _classify(raw: bytes) -> Credential | None:
    if len(raw) > MAX_TOKEN_LENGTH:
        return None
    value = raw.decode("latin-1")
    if _VISIBLE_ASCII.fullmatch(value) is None:
        return None
    if value.startswith(API_KEY_PREFIX):
        return Credential(CredentialKind.API_KEY, value)
    if COMPACT_JWS.fullmatch(value) is not None:
        return Credential(CredentialKind.JWT, value)
    return None
