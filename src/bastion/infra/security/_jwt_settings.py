"""The ``security.jwt`` block of a profile."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

JwtAlgorithm = Literal["HS256", "RS256", "EdDSA"]


class JwtSettings(BaseModel):
    """How Bastion issues and verifies its own JWTs.

    Only names of secrets appear here; the key material itself lives in the secrets file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(
        "bastion",
        min_length=1,
        description="The `iss` claim written into tokens; verification requires an exact match.",
    )
    audiences: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["bastion"],
        min_length=1,
        description=(
            "The `aud` values written into tokens; a token is accepted when its `aud` "
            "names at least one of them."
        ),
    )
    ttl_seconds: int = Field(
        3600, gt=0, description="Lifetime of an issued token unless the caller overrides it."
    )
    algorithm: JwtAlgorithm = Field(
        "HS256",
        description=(
            "The one signing algorithm accepted: HS256 (shared secret), RS256 or EdDSA "
            "(Ed25519; both publish a JWKS at /.well-known/jwks.json). Tokens carrying any "
            "other `alg` are rejected."
        ),
    )
    leeway_seconds: int = Field(
        30,
        ge=0,
        le=300,
        description="Clock skew tolerated when checking `exp`, `nbf` and `iat`.",
    )
    signing_secret: str = Field(
        "jwt_signing_key",
        min_length=1,
        description="Name of the secret holding the HS256 key (at least 32 bytes).",
    )
    private_key_secret: str = Field(
        "jwt_private_key",
        min_length=1,
        description=(
            "Name of the secret holding the unencrypted PEM private key for RS256 "
            "(RSA, at least 2048 bits) or EdDSA (Ed25519)."
        ),
    )
    key_id: str | None = Field(
        None,
        min_length=1,
        description=(
            "The `kid` header of issued tokens and of the JWKS entry. When absent, RS256 and "
            "EdDSA use the RFC 7638 thumbprint of the public key; HS256 sends no `kid`."
        ),
    )

    @property
    def key_secret_name(self) -> str:
        """The secret the configured algorithm reads its key material from."""
        return self.signing_secret if self.algorithm == "HS256" else self.private_key_secret
