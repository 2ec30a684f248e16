"""Request and response models of the users, keys, tokens and tenants endpoints."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from bastion.infra.quota import QuotaStanding
from bastion.kernel.accounts import AccountView, TenantView
from bastion.kernel.credentials import ApiKeyView, IssuedApiKey, IssuedToken, TokenRevocationView

MAX_PAGE = 500


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=MAX_PAGE, description=f"At most this many (≤ {MAX_PAGE}).")
    offset: int = Field(0, ge=0, description="Skip this many first.")


class UserQuery(Page):
    tenant: str | None = Field(None, description="Only this tenant's users.")


class User(BaseModel):
    id: str
    name: str
    role: str
    tenant: str
    created_at: dt.datetime
    disabled: bool

    @classmethod
    def of(cls, view: AccountView) -> User:
        return cls(
            id=view.id,
            name=view.name,
            role=view.role,
            tenant=view.tenant_id,
            created_at=view.created_at,
            disabled=view.disabled,
        )


class UserList(BaseModel):
    users: list[User]
    total: int


class UserCreate(_Body):
    name: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=64)
    tenant: str | None = Field(
        None, min_length=1, max_length=128, description="Default: 'default' (a tenant admin's own)."
    )


class UserUpdate(_Body):
    role: str | None = Field(None, min_length=1, max_length=64)
    tenant: str | None = Field(None, min_length=1, max_length=128)


class UserChange(BaseModel):
    user: User
    changed: bool


class ApiKey(BaseModel):
    id: str
    user_id: str
    name: str
    preview: str = Field(description="The key's public prefix; its secret is never shown again.")
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, view: ApiKeyView) -> ApiKey:
        return cls(
            id=view.id,
            user_id=view.user_id,
            name=view.name,
            preview=view.preview,
            created_at=view.created_at,
            revoked_at=view.revoked_at,
        )


class KeyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, description="Only this user's keys (name or id).")
    tenant: str | None = Field(None, description="Only the keys of this tenant's users.")


class ApiKeyList(BaseModel):
    keys: list[ApiKey]


class KeyIssue(_Body):
    user: str = Field(min_length=1, max_length=128, description="User name or id.")
    name: str = Field(min_length=1, max_length=128, description="A label for the key.")


class IssuedKey(BaseModel):
    key: ApiKey
    secret: str = Field(description="The whole key, shown in this response only.")

    @classmethod
    def of(cls, issued: IssuedApiKey) -> IssuedKey:
        return cls(key=ApiKey.of(issued.key), secret=issued.secret)


class TokenIssue(_Body):
    user: str = Field(min_length=1, max_length=128, description="User name or id.")
    ttl_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    scopes: list[str] = Field(
        default_factory=list, max_length=64, description="A subset of the role's; default all."
    )


class Token(BaseModel):
    token: str = Field(description="The signed JWT, shown in this response only.")
    token_id: str
    user_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    scopes: list[str]

    @classmethod
    def of(cls, issued: IssuedToken) -> Token:
        return cls(
            token=issued.token,
            token_id=issued.token_id,
            user_id=issued.user_id,
            issued_at=issued.issued_at,
            expires_at=issued.expires_at,
            scopes=sorted(issued.scopes),
        )


class TokenRevocation(BaseModel):
    token_id: str
    outcome: str
    user_id: str | None
    expires_at: dt.datetime | None

    @classmethod
    def of(cls, view: TokenRevocationView) -> TokenRevocation:
        return cls(
            token_id=view.token_id,
            outcome=view.outcome.value,
            user_id=view.user_id,
            expires_at=view.expires_at,
        )


class Tenant(BaseModel):
    id: str
    display_name: str
    registered: bool = Field(description="Created as a tenant, not only named by accounts.")
    created_at: dt.datetime | None
    members: int

    @classmethod
    def of(cls, view: TenantView) -> Tenant:
        return cls(
            id=view.id,
            display_name=view.display_name,
            registered=view.registered,
            created_at=view.created_at,
            members=view.members,
        )


class TenantList(BaseModel):
    tenants: list[Tenant]


class TenantCreate(_Body):
    id: str = Field(min_length=1, max_length=128)
    display_name: str = Field("", max_length=255)


class QuotaLimit(BaseModel):
    limit: int
    used: int
    remaining: int


class Quota(BaseModel):
    """One quota rule's current window for one subject."""

    name: str | None
    subject: str = Field(description="user, tenant or api_key.")
    subject_id: str = Field(description="The subject counted (a user or key id, a tenant).")
    rule_subject_id: str = Field(description="The rule's subject_id: this one, or '*'.")
    window_seconds: int
    resets_at: dt.datetime = Field(description="When the current window ends.")
    limits: dict[str, QuotaLimit] = Field(description="Per limited metric: limit, used, left.")

    @classmethod
    def of(cls, standing: QuotaStanding) -> Quota:
        return cls.model_validate(standing.as_dict())


class QuotaList(BaseModel):
    quotas: list[Quota]


class QuotaQuery(_Body):
    user: str | None = Field(None, description="A user (name or id): its quotas and its keys'.")
    tenant: str | None = Field(None, description="A tenant: its quotas.")
    api_key: str | None = Field(None, description="An API key id: its quotas.")


class TenantDetail(BaseModel):
    tenant: Tenant
    users: list[User]
    quotas: list[Quota] = Field(description="The tenant quotas: used, limit, resets-at.")
