from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bastion.infra.quota import QuotaSettings
from bastion.infra.scanner import ScannerSettings
from bastion.kernel.policy import TargetType

DEFAULT_POLICIES = ("scope_check", "secret_scan", "blocklist", "rate_limit", "quota")
TierName = Literal["admin", "user", "service", "a2a", "mcp", "anonymous"]
Effect = Literal["allow", "deny"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetRequirement(_Strict):
    min_tier: TierName = Field("mcp", description="Lowest tier that may act on this target.")
    scopes: tuple[str, ...] = Field((), description="Scopes the principal must all hold.")


def _default_requirements() -> dict[TargetType, TargetRequirement]:
    return {
        TargetType.PROMPT: TargetRequirement(scopes=("llm:invoke",)),
        TargetType.TOOL: TargetRequirement(scopes=("mcp:call",)),
        TargetType.RESOURCE: TargetRequirement(scopes=("mcp:call",)),
        TargetType.MCP_PROMPT: TargetRequirement(scopes=("mcp:call",)),
        TargetType.ROUTE: TargetRequirement(scopes=("llm:invoke",)),
        TargetType.AGENT: TargetRequirement(scopes=("agents:invoke",)),
    }


class AclRule(_Strict):
    """Exactly one of ``user`` (a user id), ``role`` or ``tenant``."""

    effect: Effect = Field(description="`allow` or `deny`; deny wins within a level.")
    user: str | None = Field(None, description="A user id (`usr_...`); beats role rules.")
    role: str | None = Field(None, description="A role name; beats tenant rules.")
    tenant: str | None = Field(None, description="A tenant id.")

    @model_validator(mode="after")
    def _one_subject(self) -> AclRule:
        if sum(x is not None for x in (self.user, self.role, self.tenant)) != 1:
            raise ValueError("an ACL rule names exactly one of user, role or tenant")
        return self


class AclEntry(_Strict):
    type: Literal["route", "server", "tool", "agent"] = Field(
        description="Entity kind: a gateway route, an MCP server, a tool, an agent."
    )
    name: str = Field(
        min_length=1,
        description="Entity name or glob; tools are `server/tool` (`github/*`).",
    )
    rules: tuple[AclRule, ...] = Field(
        min_length=1, description="Who may (or may not) use the entity."
    )


class ScopeCheckSettings(_Strict):
    requirements: dict[TargetType, TargetRequirement] = Field(
        default_factory=_default_requirements,
        description="Per target type: minimum tier and required scopes.",
    )
    admin_tool_prefixes: tuple[str, ...] = Field(
        ("admin_", "bastion_"),
        description="Tools whose name starts with one of these need the admin tier.",
    )
    acl: tuple[AclEntry, ...] = Field(
        (),
        description="Entity ACL. User rules beat role rules beat tenant rules; within a "
        "level deny overrides allow. An entity Bastion manages but does not know is denied.",
    )


class SecretScanSettings(_Strict):
    scanner: ScannerSettings = Field(
        default_factory=ScannerSettings, description="Extra patterns, allowlist, entropy."
    )
    min_confidence: Literal["low", "medium", "high"] = Field(
        "low", description="Findings below this confidence do not deny."
    )


class ToolBlockRule(_Strict):
    id: str = Field(min_length=1, description="Reported as rule `blocklist.<id>`.")
    pattern: str = Field(min_length=1, description="Glob over the tool name (or server/tool).")
    reason: str = Field("tool is blocklisted", description="The human reason in the deny.")
    exempt_tiers: tuple[TierName, ...] = Field((), description="Tiers the rule does not bind.")


class ContentBlockRule(_Strict):
    id: str = Field(min_length=1, description="Reported as rule `blocklist.<id>`.")
    literal: str | None = Field(None, description="Case-insensitive substring.")
    regex: str | None = Field(None, description="RE2 syntax: linear time, no backreferences.")
    targets: tuple[TargetType, ...] = Field(
        (TargetType.PROMPT, TargetType.TOOL),
        min_length=1,
        description="Target types the rule applies to.",
    )
    reason: str = Field("content is blocklisted", description="The human reason in the deny.")
    exempt_tiers: tuple[TierName, ...] = Field((), description="Tiers the rule does not bind.")

    @model_validator(mode="after")
    def _one_matcher(self) -> ContentBlockRule:
        if (self.literal is None) == (self.regex is None):
            raise ValueError("a content rule has exactly one of literal or regex")
        return self


class BlocklistSettings(_Strict):
    tools: tuple[ToolBlockRule, ...] = Field((), description="Tool-name glob rules.")
    content: tuple[ContentBlockRule, ...] = Field(
        (), description="Content rules over every string of the input."
    )


class GovernanceSettings(_Strict):
    """The ``governance`` block: which stages run, in which order, with which rules."""

    policies: tuple[str, ...] = Field(
        DEFAULT_POLICIES,
        min_length=1,
        description="Stage names in evaluation order; extension stages by their name.",
    )
    disabled: tuple[str, ...] = Field(
        (), description="Stages listed in `policies` that are traced as disabled."
    )
    scope_check: ScopeCheckSettings = Field(
        default_factory=ScopeCheckSettings, description="Tier, scope and ACL checks."
    )
    secret_scan: SecretScanSettings = Field(
        default_factory=SecretScanSettings, description="The secret scanner stage."
    )
    blocklist: BlocklistSettings = Field(
        default_factory=BlocklistSettings, description="Tool and content blocklists."
    )
    quota: QuotaSettings = Field(
        default_factory=QuotaSettings, description="Quota windows per user, tenant or key."
    )
    time_budget_ms: float | None = Field(
        250.0,
        gt=0,
        le=60_000,
        description="Per-request time budget of the whole chain, in milliseconds: a chain "
        "still running past it denies with rule `governance.time_budget` (fail closed); "
        "checked after every stage. `null` for none.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> GovernanceSettings:
        duplicates = {p for p in self.policies if self.policies.count(p) > 1}
        if duplicates:
            raise ValueError(f"stages listed twice: {sorted(duplicates)}")
        stray = set(self.disabled) - set(self.policies)
        if stray:
            raise ValueError(f"disabled stages not in policies: {sorted(stray)}")
        return self
