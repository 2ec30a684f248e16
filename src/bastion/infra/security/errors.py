"""Security exceptions.

The tree::

    BastionError
    ├── SecurityError                       base of every error this package raises
    │   ├── KeyMaterialError                a signing key or secret is unusable (boot)
    │   ├── InvalidTokenError               a bearer JWT must be rejected (HTTP 401)
    │   │   ├── MalformedTokenError         not a compact JWS, bad JSON, missing/odd claims
    │   │   ├── UnsupportedAlgorithmError   header alg is not the one configured alg
    │   │   ├── UnknownKeyError             header kid names no key of this issuer
    │   │   ├── InvalidSignatureError       signature does not verify
    │   │   ├── TokenExpiredError           exp has passed (beyond the leeway)
    │   │   ├── TokenNotYetValidError       nbf or iat is in the future (beyond the leeway)
    │   │   ├── InvalidIssuerError          iss is not the configured issuer
    │   │   └── InvalidAudienceError        aud names none of the configured audiences
    │   ├── WebhookSignatureError           an inbound webhook must be rejected
    │   │   ├── MalformedSignatureHeaderError  the signature header cannot be parsed
    │   │   ├── WebhookSignatureMismatchError  no v1 signature matches the body
    │   │   └── WebhookTimestampError       the signed timestamp is outside the tolerance
    │   └── UnknownRoleError                a role name is not in the catalog
    └── ExtensionError
        └── RoleConflictError               (also a SecurityError) one role name, two tiers

No message ever contains a token, a key, a secret or a signature.
"""

from __future__ import annotations

from bastion.kernel.errors import BastionError, ExtensionError
from bastion.kernel.tiers import Tier


class SecurityError(BastionError):
    """Base of every error raised by ``bastion.infra.security``."""


class KeyMaterialError(SecurityError):
    """The configured signing key or secret cannot be used; raised at boot."""


class InvalidTokenError(SecurityError):
    """A JWT failed verification; the caller is unauthenticated."""


class MalformedTokenError(InvalidTokenError):
    pass


class UnsupportedAlgorithmError(InvalidTokenError):
    pass


class UnknownKeyError(InvalidTokenError):
    pass


class InvalidSignatureError(InvalidTokenError):
    pass


class TokenExpiredError(InvalidTokenError):
    pass


class TokenNotYetValidError(InvalidTokenError):
    pass


class InvalidIssuerError(InvalidTokenError):
    pass


class InvalidAudienceError(InvalidTokenError):
    pass


class WebhookSignatureError(SecurityError):
    """An inbound webhook failed signature verification."""


class MalformedSignatureHeaderError(WebhookSignatureError):
    pass


class WebhookSignatureMismatchError(WebhookSignatureError):
    pass


class WebhookTimestampError(WebhookSignatureError):
    pass


class UnknownRoleError(SecurityError):
    def __init__(self, name: str) -> None:
        super().__init__(f"role '{name}' is not defined")
        self.name = name


class RoleConflictError(SecurityError, ExtensionError):
    """Two declarations give one role name different tiers.

    An ``ExtensionError`` too, so boot reports it like any other extension failure;
    ``extension_id`` is the source of the second, conflicting declaration.
    """

    def __init__(
        self,
        name: str,
        first: tuple[Tier, str],
        second: tuple[Tier, str],
    ) -> None:
        (first_tier, first_source), (second_tier, second_source) = first, second
        super().__init__(
            second_source,
            f"role '{name}' is declared with tier '{first_tier.label}' by '{first_source}' "
            f"and with tier '{second_tier.label}' by '{second_source}'",
        )
        self.name = name
        self.first = first
        self.second = second
