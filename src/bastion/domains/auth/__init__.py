"""The ``auth`` domain: API keys, revoked JWT ids, and the revocation snapshot."""

from bastion.domains.auth._extension import API_KEYS, AuthExtension
from bastion.domains.auth._repository import ApiKeyRecord, ApiKeyRepository, key_prefix
from bastion.domains.auth._revocations import RevocationList
from bastion.domains.auth._tokens import Revocation, RevokeOutcome, TokenRegistry

__all__ = [
    "API_KEYS",
    "ApiKeyRecord",
    "ApiKeyRepository",
    "AuthExtension",
    "Revocation",
    "RevocationList",
    "RevokeOutcome",
    "TokenRegistry",
    "key_prefix",
]
