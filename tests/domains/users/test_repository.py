"""``UserRepository`` on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.users import User, UserExistsError, UserRepository
from bastion.kernel.ids import RoleName, TenantId, UserId


async def test_create_and_find_by_id_or_name(engine: AsyncEngine) -> None:
    users = UserRepository(engine)
    alice = await users.create("alice", RoleName("user"), TenantId("acme"))
    assert re.fullmatch(r"usr_[0-9a-f]{16}", alice.id)
    assert (alice.name, alice.role, alice.tenant_id, alice.disabled) == (
        "alice",
        "user",
        "acme",
        False,
    )
    by_name = await users.find("alice")
    by_id = await users.find(alice.id)
    assert by_name == by_id
    assert isinstance(by_name, User)
    assert (by_name.id, by_name.name, by_name.role, by_name.tenant_id) == (
        alice.id,
        "alice",
        "user",
        "acme",
    )
    assert by_name.disabled is False
    # created_at survives the round trip (to the microsecond on both backends)
    assert by_name.created_at == alice.created_at
    assert await users.get(alice.id) == by_name
    assert await users.get(UserId("usr_0000000000000000")) is None
    assert await users.find("nobody") is None


async def test_list_in_creation_order_and_by_tenant(engine: AsyncEngine) -> None:
    users = UserRepository(engine)
    assert await users.list() == []
    assert await users.count() == 0
    for name, tenant in (("carol", "acme"), ("alice", "globex"), ("bob", "acme")):
        await users.create(name, RoleName("user"), TenantId(tenant))
    assert [u.name for u in await users.list()] == ["carol", "alice", "bob"]
    assert [u.name for u in await users.list(TenantId("acme"))] == ["carol", "bob"]
    assert await users.list(TenantId("initech")) == []
    assert await users.count() == 3


async def test_duplicate_name_is_refused(engine: AsyncEngine) -> None:
    users = UserRepository(engine)
    first = await users.create("alice", RoleName("user"), TenantId("acme"))
    with pytest.raises(UserExistsError) as info:
        await users.create("alice", RoleName("admin"), TenantId("other"))
    assert str(info.value) == "a user named 'alice' already exists"
    # nothing half-written: the original is intact and alone
    assert [(u.id, u.role) for u in await users.list()] == [(first.id, "user")]
    # names are unique across tenants, and a different name is fine
    await users.create("Alice", RoleName("user"), TenantId("acme"))
    assert await users.count() == 2
