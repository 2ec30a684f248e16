from __future__ import annotations

import pytest

from bastion.infra.security import (
    BUILTIN_ROLES,
    Role,
    RoleCatalog,
    RoleConflictError,
    Scopes,
    SecurityError,
    UnknownRoleError,
    tier_at_least,
)
from bastion.kernel.contract import RoleDefinition
from bastion.kernel.errors import ExtensionError
from bastion.kernel.ids import RoleName
from bastion.kernel.tiers import Tier


def test_builtin_roles() -> None:
    catalog = RoleCatalog()
    assert {role.name: role.tier for role in catalog} == {
        "admin": Tier.ADMIN,
        "user": Tier.USER,
        "service": Tier.SERVICE,
        "a2a": Tier.A2A,
        "mcp": Tier.MCP,
        "anonymous": Tier.ANONYMOUS,
    }
    assert len(catalog) == len(BUILTIN_ROLES) == 6
    assert catalog.resolve("admin").scopes == frozenset({"*"})
    assert catalog.resolve("user").scopes == frozenset(
        {Scopes.LLM_INVOKE, Scopes.MCP_CALL, Scopes.AGENTS_READ, Scopes.AGENTS_INVOKE}
    )
    assert catalog.resolve("mcp").scopes == frozenset({Scopes.MCP_CALL})
    assert catalog.resolve("anonymous").scopes == frozenset()
    assert catalog.source_of("user") == "builtin"


def test_extension_adds_a_role() -> None:
    catalog = RoleCatalog()
    catalog.merge(
        [RoleDefinition(RoleName("auditor"), Tier.USER, frozenset({"analytics:read"}), "Reads")],
        source="analytics",
    )
    assert catalog.resolve("auditor") == Role(
        RoleName("auditor"), Tier.USER, frozenset({"analytics:read"}), "Reads"
    )
    assert "auditor" in catalog
    assert catalog.source_of("auditor") == "analytics"


def test_same_tier_adds_scopes() -> None:
    catalog = RoleCatalog()
    catalog.merge([Role(RoleName("user"), Tier.USER, frozenset({"files:read"}))], source="files")
    user = catalog.resolve("user")
    assert "files:read" in user.scopes
    assert Scopes.LLM_INVOKE in user.scopes
    assert user.description == "A person using models, tools and agents."
    assert catalog.source_of("user") == "builtin"


def test_conflicting_tier() -> None:
    catalog = RoleCatalog()
    with pytest.raises(RoleConflictError) as info:
        catalog.merge([RoleDefinition(RoleName("user"), Tier.ADMIN)], source="evil")
    assert str(info.value) == (
        "role 'user' is declared with tier 'user' by 'builtin' and with tier 'admin' by 'evil'"
    )
    assert info.value.extension_id == "evil"
    assert isinstance(info.value, SecurityError)
    assert isinstance(info.value, ExtensionError)


def test_conflict_between_extensions() -> None:
    catalog = RoleCatalog()
    catalog.merge([RoleDefinition(RoleName("ops"), Tier.SERVICE)], source="ext_a")
    with pytest.raises(RoleConflictError) as info:
        catalog.merge([RoleDefinition(RoleName("ops"), Tier.USER)], source="ext_b")
    assert str(info.value) == (
        "role 'ops' is declared with tier 'service' by 'ext_a' and with tier 'user' by 'ext_b'"
    )


def test_a_failed_merge_changes_nothing() -> None:
    catalog = RoleCatalog()
    with pytest.raises(RoleConflictError):
        catalog.merge(
            [
                RoleDefinition(RoleName("reviewer"), Tier.USER),
                RoleDefinition(RoleName("user"), Tier.USER, frozenset({"x:y"})),
                RoleDefinition(RoleName("reviewer"), Tier.ADMIN),
            ],
            source="ext",
        )
    assert "reviewer" not in catalog
    assert "x:y" not in catalog.resolve("user").scopes


def test_unknown_role() -> None:
    catalog = RoleCatalog()
    assert catalog.get("ghost") is None
    with pytest.raises(UnknownRoleError) as info:
        catalog.resolve("ghost")
    assert str(info.value) == "role 'ghost' is not defined"
    with pytest.raises(UnknownRoleError):
        catalog.source_of("ghost")


def test_empty_catalog() -> None:
    assert len(RoleCatalog(())) == 0


def test_tier_at_least() -> None:
    assert tier_at_least(Tier.ADMIN, Tier.USER)
    assert tier_at_least(Tier.USER, Tier.USER)
    assert not tier_at_least(Tier.SERVICE, Tier.USER)
    assert not tier_at_least(Tier.ANONYMOUS, Tier.MCP)
