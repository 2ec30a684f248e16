"""The ``scope_check`` stage: tier and scope requirements, admin-only tool prefixes, and
the entity ACL (user > role > tenant, deny overrides allow, unknown entities denied)."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.domains.governance import ScopeCheckSettings
from bastion.domains.governance._scope import ScopeCheckStage
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.governance import EntityCatalog
from bastion.kernel.ids import RoleName, TenantId, TraceId, UserId
from bastion.kernel.policy import PolicyContext, PolicyTarget, StageVerdict, TargetType, Verdict
from bastion.kernel.tiers import Tier

USER_SCOPES = frozenset({"llm:invoke", "mcp:call", "agents:read", "agents:invoke"})
PROMPT = PolicyTarget(TargetType.PROMPT)


def principal(
    user: str = "usr_alice",
    *,
    tier: Tier = Tier.USER,
    role: str | None = "user",
    tenant: str | None = "acme",
    scopes: frozenset[str] = USER_SCOPES,
) -> RequestContext:
    return RequestContext(
        trace_id=TraceId("trace-scope"),
        tier=tier,
        auth_method=AuthMethod.JWT,
        user_id=UserId(user),
        tenant_id=TenantId(tenant) if tenant else None,
        role=RoleName(role) if role else None,
        scopes=scopes,
    )


def tool(name: str, server: str | None = "github") -> PolicyTarget:
    return PolicyTarget(TargetType.TOOL, server=server, tool=name)


def stage(catalog: EntityCatalog | None = None, **settings: Any) -> ScopeCheckStage:
    return ScopeCheckStage(ScopeCheckSettings.model_validate(settings), catalog or EntityCatalog())


async def check(
    scope_stage: ScopeCheckStage, who: RequestContext, target: PolicyTarget = PROMPT
) -> StageVerdict:
    return scope_stage.evaluate(PolicyContext(who, target, "hello"))


def denied(verdict: StageVerdict) -> tuple[str | None, str | None]:
    assert verdict.verdict is Verdict.DENY, verdict
    return verdict.rule, verdict.reason


# Tier and scopes


async def test_default_requirements_allow_a_user_with_the_role_scopes() -> None:
    s = stage()
    for target in (PROMPT, tool("list_repos"), PolicyTarget(TargetType.ROUTE, name="claude")):
        assert (await check(s, principal(), target)).verdict is Verdict.ALLOW


async def test_tier_below_the_target_minimum_is_denied() -> None:
    s = stage()
    verdict = await check(s, principal(tier=Tier.ANONYMOUS, scopes=frozenset({"*"})))
    assert denied(verdict) == ("scope.tier", "prompt requires tier 'mcp', caller is 'anonymous'")

    strict = stage(requirements={"tool": {"min_tier": "user", "scopes": ["mcp:call"]}})
    mcp_client = principal(tier=Tier.MCP, role="mcp", scopes=frozenset({"mcp:call"}))
    assert denied(await check(strict, mcp_client, tool("list_repos"))) == (
        "scope.tier",
        "tool requires tier 'user', caller is 'mcp'",
    )
    assert (await check(strict, principal(), tool("list_repos"))).verdict is Verdict.ALLOW


async def test_missing_scope_is_denied_per_target_type() -> None:
    s = stage()
    mcp_only = principal(tier=Tier.MCP, role="mcp", scopes=frozenset({"mcp:call"}))
    assert denied(await check(s, mcp_only, PROMPT)) == (
        "scope.missing",
        "missing scope 'llm:invoke'",
    )
    assert (await check(s, mcp_only, tool("list_repos"))).verdict is Verdict.ALLOW
    agent = PolicyTarget(TargetType.AGENT, name="researcher")
    assert denied(await check(s, mcp_only, agent)) == (
        "scope.missing",
        "missing scope 'agents:invoke'",
    )


async def test_every_required_scope_must_be_held() -> None:
    s = stage(requirements={"prompt": {"scopes": ["llm:invoke", "llm:long_context"]}})
    assert denied(await check(s, principal())) == (
        "scope.missing",
        "missing scope 'llm:long_context'",
    )
    both = principal(scopes=frozenset({"llm:invoke", "llm:long_context"}))
    assert (await check(s, both)).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    ("granted", "allowed"),
    [
        ({"llm:*"}, True),
        ({"*"}, True),
        ({"mcp:*"}, False),
        ({"llm"}, False),
        ({"llm:invoke:*"}, False),
        ({"llm:inv*"}, False),
    ],
)
async def test_prefix_grants(granted: set[str], allowed: bool) -> None:
    verdict = await check(stage(), principal(scopes=frozenset(granted)))
    if allowed:
        assert verdict.verdict is Verdict.ALLOW
    else:
        assert denied(verdict) == ("scope.missing", "missing scope 'llm:invoke'")


async def test_nested_prefix_grant_covers_deeper_scopes() -> None:
    s = stage(requirements={"tool": {"scopes": ["mcp:github:write"]}})
    assert (
        await check(s, principal(scopes=frozenset({"mcp:*"})), tool("create_issue"))
    ).verdict is Verdict.ALLOW
    assert (
        await check(s, principal(scopes=frozenset({"mcp:github:*"})), tool("create_issue"))
    ).verdict is Verdict.ALLOW
    assert denied(
        await check(s, principal(scopes=frozenset({"mcp:gitlab:*"})), tool("create_issue"))
    ) == ("scope.missing", "missing scope 'mcp:github:write'")


# Admin-only tool prefixes


async def test_admin_tool_prefixes_need_the_admin_tier() -> None:
    s = stage()
    for name in ("admin_reset_user", "bastion_reload"):
        assert denied(await check(s, principal(), tool(name))) == (
            "scope.admin_tool",
            f"tool '{name}' is reserved for the admin tier",
        )
        admin = principal("usr_root", tier=Tier.ADMIN, role="admin", scopes=frozenset({"*"}))
        assert (await check(s, admin, tool(name))).verdict is Verdict.ALLOW
    # A prefix is a prefix: the same word elsewhere in the name is not reserved.
    assert (await check(s, principal(), tool("list_admin_users"))).verdict is Verdict.ALLOW


async def test_admin_tool_prefixes_are_configurable() -> None:
    s = stage(admin_tool_prefixes=["ops_"])
    assert denied(await check(s, principal(), tool("ops_restart", server=None)))[0] == (
        "scope.admin_tool"
    )
    assert (await check(s, principal(), tool("admin_reset_user"))).verdict is Verdict.ALLOW
    # Prefixes only concern tools; a prompt mentioning one is not a tool call.
    assert (await check(s, principal(), PROMPT)).verdict is Verdict.ALLOW


# The entity ACL


def acl(kind: str, name: str, *rules: dict[str, str]) -> dict[str, Any]:
    return {"type": kind, "name": name, "rules": list(rules)}


def allow(**subject: str) -> dict[str, str]:
    return {"effect": "allow", **subject}


def deny(**subject: str) -> dict[str, str]:
    return {"effect": "deny", **subject}


async def test_user_rule_beats_role_rule() -> None:
    s = stage(
        acl=[
            acl(
                "tool",
                "github/*",
                deny(role="user"),
                allow(user="usr_alice"),
                allow(role="service"),
                deny(user="usr_mallory"),
            )
        ]
    )
    # Alice's role is denied, but her own grant wins.
    assert (await check(s, principal("usr_alice"), tool("create_issue"))).verdict is Verdict.ALLOW
    assert denied(await check(s, principal("usr_bob"), tool("create_issue"))) == (
        "acl.role_deny",
        "tool 'github/create_issue' is denied to role 'user'",
    )
    # Mallory's role is allowed, but the user rule denying her wins.
    mallory = principal("usr_mallory", tier=Tier.SERVICE, role="service")
    assert denied(await check(s, mallory, tool("create_issue"))) == (
        "acl.user_deny",
        "tool 'github/create_issue' is denied to user 'usr_mallory'",
    )


async def test_role_rule_beats_tenant_rule() -> None:
    s = stage(
        acl=[
            acl(
                "route",
                "claude-*",
                deny(tenant="acme"),
                allow(role="admin"),
                allow(tenant="globex"),
                deny(role="contractor"),
            )
        ]
    )
    route = PolicyTarget(TargetType.ROUTE, name="claude-opus")
    admin = principal("usr_root", tier=Tier.ADMIN, role="admin", scopes=frozenset({"*"}))
    assert (await check(s, admin, route)).verdict is Verdict.ALLOW
    assert denied(await check(s, principal("usr_bob"), route)) == (
        "acl.tenant_deny",
        "route 'claude-opus' is denied to tenant 'acme'",
    )
    assert (await check(s, principal("usr_g", tenant="globex"), route)).verdict is Verdict.ALLOW
    contractor = principal("usr_c", role="contractor", tenant="globex")
    assert denied(await check(s, contractor, route)) == (
        "acl.role_deny",
        "route 'claude-opus' is denied to role 'contractor'",
    )


async def test_user_rule_beats_tenant_rule() -> None:
    s = stage(acl=[acl("agent", "researcher", deny(tenant="acme"), allow(user="usr_alice"))])
    agent = PolicyTarget(TargetType.AGENT, name="researcher")
    assert (await check(s, principal("usr_alice"), agent)).verdict is Verdict.ALLOW
    assert denied(await check(s, principal("usr_bob"), agent))[0] == "acl.tenant_deny"


async def test_deny_overrides_allow_within_a_level() -> None:
    # The same subject allowed by one matching entry and denied by another.
    s = stage(
        acl=[
            acl("tool", "github/*", allow(user="usr_alice"), allow(role="user")),
            acl("tool", "github/delete_*", deny(user="usr_alice"), deny(role="user")),
            acl("tool", "gitlab/*", allow(role="user"), deny(role="user")),
        ]
    )
    alice, bob = principal("usr_alice"), principal("usr_bob")
    assert (await check(s, alice, tool("create_issue"))).verdict is Verdict.ALLOW
    assert denied(await check(s, alice, tool("delete_repo"))) == (
        "acl.user_deny",
        "tool 'github/delete_repo' is denied to user 'usr_alice'",
    )
    assert denied(await check(s, bob, tool("delete_repo")))[0] == "acl.role_deny"
    assert denied(await check(s, bob, tool("merge", server="gitlab")))[0] == "acl.role_deny"


async def test_an_acl_without_a_grant_for_the_caller_denies() -> None:
    s = stage(acl=[acl("tool", "github/*", allow(user="usr_carol"), allow(tenant="globex"))])
    assert denied(await check(s, principal("usr_alice"), tool("create_issue"))) == (
        "acl.no_grant",
        "tool 'github/create_issue' has an ACL and it grants nothing to this caller",
    )
    assert (await check(s, principal("usr_carol"), tool("create_issue"))).verdict is Verdict.ALLOW
    # Entities the ACL does not name stay open.
    assert (
        await check(s, principal("usr_alice"), tool("read", server="files"))
    ).verdict is Verdict.ALLOW


async def test_tool_acl_globs_match_server_slash_tool() -> None:
    s = stage(acl=[acl("tool", "*/delete_*", deny(role="user"))])
    assert denied(await check(s, principal(), tool("delete_file", server="files")))[0] == (
        "acl.role_deny"
    )
    assert (await check(s, principal(), tool("read_file", server="files"))).verdict is (
        Verdict.ALLOW
    )


async def test_a_server_acl_governs_the_tools_on_that_server() -> None:
    s = stage(acl=[acl("server", "payroll", allow(role="admin"))])
    assert denied(await check(s, principal(), tool("export", server="payroll"))) == (
        "acl.no_grant",
        "server 'payroll' has an ACL and it grants nothing to this caller",
    )
    resource = PolicyTarget(TargetType.RESOURCE, server="payroll", name="salaries.csv")
    assert denied(await check(s, principal(), resource))[0] == "acl.no_grant"
    admin = principal("usr_root", tier=Tier.ADMIN, role="admin", scopes=frozenset({"*"}))
    assert (await check(s, admin, tool("export", server="payroll"))).verdict is Verdict.ALLOW
    assert (await check(s, principal(), tool("export", server="crm"))).verdict is Verdict.ALLOW


async def test_server_and_tool_acls_must_both_allow() -> None:
    s = stage(
        acl=[
            acl("server", "github", allow(role="user")),
            acl("tool", "github/delete_repo", deny(role="user")),
        ]
    )
    assert (await check(s, principal(), tool("create_issue"))).verdict is Verdict.ALLOW
    assert denied(await check(s, principal(), tool("delete_repo"))) == (
        "acl.role_deny",
        "tool 'github/delete_repo' is denied to role 'user'",
    )


async def test_unknown_entity_of_a_catalogued_kind_is_denied() -> None:
    catalog = EntityCatalog()
    catalog.register("tool", lambda name: name in {"github/create_issue", "Bash"})
    catalog.register("route", lambda name: name == "claude-opus")
    s = stage(catalog)
    assert (await check(s, principal(), tool("create_issue"))).verdict is Verdict.ALLOW
    assert (await check(s, principal(), tool("Bash", server=None))).verdict is Verdict.ALLOW
    assert denied(await check(s, principal(), tool("exfiltrate"))) == (
        "acl.unknown_entity",
        "unknown tool 'github/exfiltrate'",
    )
    assert denied(await check(s, principal(), PolicyTarget(TargetType.ROUTE, name="gpt-9"))) == (
        "acl.unknown_entity",
        "unknown route 'gpt-9'",
    )
    # The catalog is consulted even for a caller who would be allowed anything.
    admin = principal("usr_root", tier=Tier.ADMIN, role="admin", scopes=frozenset({"*"}))
    assert denied(await check(s, admin, tool("exfiltrate")))[0] == "acl.unknown_entity"


async def test_unknown_server_is_denied_when_servers_are_catalogued() -> None:
    catalog = EntityCatalog()
    catalog.register("server", lambda name: name == "github")
    s = stage(catalog)
    assert (await check(s, principal(), tool("create_issue"))).verdict is Verdict.ALLOW
    assert denied(await check(s, principal(), tool("create_issue", server="evil"))) == (
        "acl.unknown_entity",
        "unknown server 'evil'",
    )


async def test_kinds_without_a_catalog_provider_are_not_denied_as_unknown() -> None:
    catalog = EntityCatalog()
    catalog.register("route", lambda name: name == "claude-opus")
    s = stage(catalog)
    assert (await check(s, principal(), tool("anything", server="anywhere"))).verdict is (
        Verdict.ALLOW
    )
    agent = PolicyTarget(TargetType.AGENT, name="never-registered")
    assert (await check(s, principal(), agent)).verdict is Verdict.ALLOW


async def test_catalog_check_comes_after_tier_and_scope() -> None:
    catalog = EntityCatalog()
    catalog.register("tool", lambda name: False)
    s = stage(catalog)
    no_scope = principal(scopes=frozenset())
    assert denied(await check(s, no_scope, tool("x")))[0] == "scope.missing"
