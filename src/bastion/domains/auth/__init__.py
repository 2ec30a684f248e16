"""The ``auth`` domain: API keys and JWT key publication."""

from bastion.domains.auth._extension import AuthExtension
from bastion.domains.auth._repository import ApiKeyRecord, ApiKeyRepository

__all__ = ["ApiKeyRecord", "ApiKeyRepository", "AuthExtension"]
