from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bastion.domains.governance._settings import AclEntry, ScopeCheckSettings, TargetRequirement
from bastion.kernel.context import RequestContext
from bastion.kernel.governance import EntityCatalog
from bastion.kernel.policy import PolicyContext, PolicyTarget, StageVerdict, TargetType
from bastion.kernel.tiers import Tier

_ALLOW = StageVerdict.allow()


@dataclass(frozen=True, slots=True)
class _CompiledEntry:
    kind: str
    match: re.Pattern[str]
    users: dict[str, set[str]]  # effect -> subjects
    roles: dict[str, set[str]]
    tenants: dict[str, set[str]]


def _compile(entry: AclEntry) -> _CompiledEntry:
    users: dict[str, set[str]] = {"allow": set(), "deny": set()}
    roles: dict[str, set[str]] = {"allow": set(), "deny": set()}
    tenants: dict[str, set[str]] = {"allow": set(), "deny": set()}
    for rule in entry.rules:
        if rule.user is not None:
            users[rule.effect].add(rule.user)
        elif rule.role is not None:
            roles[rule.effect].add(rule.role)
        elif rule.tenant is not None:
            tenants[rule.effect].add(rule.tenant)
    return _CompiledEntry(
        entry.type, re.compile(fnmatch.translate(entry.name)), users, roles, tenants
    )


def _entity_of(target: PolicyTarget) -> tuple[str, str] | None:
    if target.type is TargetType.TOOL and target.tool:
        return "tool", f"{target.server}/{target.tool}" if target.server else target.tool
    if target.type in (TargetType.ROUTE, TargetType.PROMPT) and target.name:
        # A prompt names the gateway route it is sent through; the route's ACL applies.
        return "route", target.name
    if target.type is TargetType.AGENT and target.name:
        return "agent", target.name
    return None


class ScopeCheckStage:
    """Tier and scope requirements per target, admin-only tool prefixes, and the ACL."""

    name = "scope_check"

    def __init__(self, settings: ScopeCheckSettings, catalog: EntityCatalog) -> None:
        self._requirements: dict[TargetType, tuple[Tier, tuple[str, ...]]] = {
            t: (Tier.parse(r.min_tier), r.scopes) for t, r in settings.requirements.items()
        }
        self._default = self._requirement(TargetRequirement())
        self._admin_prefixes = tuple(settings.admin_tool_prefixes)
        self._acl: Sequence[_CompiledEntry] = [_compile(e) for e in settings.acl]
        self._catalog = catalog

    @staticmethod
    def _requirement(req: TargetRequirement) -> tuple[Tier, tuple[str, ...]]:
        return Tier.parse(req.min_tier), req.scopes

    def required_scopes(self, target_type: TargetType) -> tuple[str, ...]:
        """The scopes a caller needs for a target of this type (what a card advertises)."""
        return self._requirements.get(target_type, self._default)[1]

    def evaluate(self, context: PolicyContext) -> StageVerdict:
        principal, target = context.principal, context.target
        min_tier, scopes = self._requirements.get(target.type, self._default)
        if principal.tier < min_tier:
            return StageVerdict.deny(
                "scope.tier",
                f"{target.type.value} requires tier '{min_tier.label}', "
                f"caller is '{principal.tier.label}'",
            )
        for scope in scopes:
            if not principal.has_scope(scope):
                return StageVerdict.deny("scope.missing", f"missing scope '{scope}'")
        if (
            target.type is TargetType.TOOL
            and target.tool
            and self._admin_prefixes
            and target.tool.startswith(self._admin_prefixes)
            and principal.tier < Tier.ADMIN
        ):
            return StageVerdict.deny(
                "scope.admin_tool", f"tool '{target.tool}' is reserved for the admin tier"
            )
        if target.server:
            # A server's ACL governs everything on it (tools, resources, prompts); a tool
            # on it must then also pass its own ACL.
            if self._catalog.knows("server", target.server) is False:
                return StageVerdict.deny("acl.unknown_entity", f"unknown server '{target.server}'")
            verdict = self._acl_verdict(principal, "server", target.server)
            if verdict is not _ALLOW:
                return verdict
        entity = _entity_of(target)
        if entity is None:
            return _ALLOW
        kind, name = entity
        if self._catalog.knows(kind, name) is False:
            return StageVerdict.deny("acl.unknown_entity", f"unknown {kind} '{name}'")
        return self._acl_verdict(principal, kind, name)

    def _acl_verdict(self, principal: RequestContext, kind: str, name: str) -> StageVerdict:
        matching = [e for e in self._acl if e.kind == kind and e.match.match(name)]
        if not matching:
            return _ALLOW
        levels = (
            ("user", principal.user_id, [e.users for e in matching]),
            ("role", principal.role, [e.roles for e in matching]),
            ("tenant", principal.tenant_id, [e.tenants for e in matching]),
        )
        for level, subject, tables in levels:
            if subject is None:
                continue
            denied = any(subject in t["deny"] for t in tables)
            allowed = any(subject in t["allow"] for t in tables)
            if denied:
                return StageVerdict.deny(
                    f"acl.{level}_deny", f"{kind} '{name}' is denied to {level} '{subject}'"
                )
            if allowed:
                return _ALLOW
        return StageVerdict.deny(
            "acl.no_grant", f"{kind} '{name}' has an ACL and it grants nothing to this caller"
        )
