"""Security primitives: self-issued JWTs, API keys, credential extraction, webhook
signatures and roles. No I/O: storage of keys and users belongs to the domains.
"""

from bastion.infra.security._api_keys import (
    API_KEY_PREFIX,
    GeneratedKey,
    ParsedKey,
    generate_api_key,
    hash_secret,
    parse_api_key,
    verify_api_key,
)
from bastion.infra.security._cache import TtlCache
from bastion.infra.security._credentials import Credential, CredentialKind, extract_credential
from bastion.infra.security._jwt import IssuedToken, JwtCodec, TokenClaims
from bastion.infra.security._jwt_keys import (
    generate_ed25519_private_key_pem,
    generate_hmac_secret,
    generate_key_material,
    generate_rsa_private_key_pem,
    jwk_thumbprint,
)
from bastion.infra.security._jwt_settings import JwtAlgorithm, JwtSettings
from bastion.infra.security._rbac import (
    BUILTIN_ROLES,
    Role,
    RoleCatalog,
    Scopes,
    tier_at_least,
)
from bastion.infra.security._webhook import (
    DEFAULT_TOLERANCE_SECONDS,
    SIGNATURE_HEADER,
    sign_webhook,
    verify_webhook,
)
from bastion.infra.security.errors import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    KeyMaterialError,
    MalformedSignatureHeaderError,
    MalformedTokenError,
    RoleConflictError,
    SecurityError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
    UnknownRoleError,
    UnsupportedAlgorithmError,
    WebhookSignatureError,
    WebhookSignatureMismatchError,
    WebhookTimestampError,
)

__all__ = [
    "API_KEY_PREFIX",
    "BUILTIN_ROLES",
    "DEFAULT_TOLERANCE_SECONDS",
    "SIGNATURE_HEADER",
    "Credential",
    "CredentialKind",
    "GeneratedKey",
    "InvalidAudienceError",
    "InvalidIssuerError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "IssuedToken",
    "JwtAlgorithm",
    "JwtCodec",
    "JwtSettings",
    "KeyMaterialError",
    "MalformedSignatureHeaderError",
    "MalformedTokenError",
    "ParsedKey",
    "Role",
    "RoleCatalog",
    "RoleConflictError",
    "Scopes",
    "SecurityError",
    "TokenClaims",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TtlCache",
    "UnknownKeyError",
    "UnknownRoleError",
    "UnsupportedAlgorithmError",
    "WebhookSignatureError",
    "WebhookSignatureMismatchError",
    "WebhookTimestampError",
    "extract_credential",
    "generate_api_key",
    "generate_ed25519_private_key_pem",
    "generate_hmac_secret",
    "generate_key_material",
    "generate_rsa_private_key_pem",
    "hash_secret",
    "jwk_thumbprint",
    "parse_api_key",
    "sign_webhook",
    "tier_at_least",
    "verify_api_key",
    "verify_webhook",
]
