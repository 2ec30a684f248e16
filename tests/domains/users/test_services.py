"""``ACCOUNTS`` and ``TENANTS``, the users domain's typed services (behind ``bastion admin
users`` and the admin API), on a booted platform: refusals as ``RefusedError`` kinds and
an admin event for each change, with the HTTP caller as actor or ``source: cli``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.infra.audit import audit_events
from bastion.kernel.accounts import ACCOUNTS, TENANTS
from bastion.kernel.errors import ConflictError, InvalidInputError, NotFoundError
from bastion.kernel.ids import TenantId
from bastion.runtime.platform import Platform
from tests.support.platforms import booted
from tests.support.principals import jwt_principal


async def events(platform: Platform, event_type: str) -> list[dict[str, object]]:
    await platform.audit.writer.flush()
    query = select(audit_events).where(audit_events.c.event_type == event_type)
    async with platform.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


async def test_accounts(db_url: str, tmp_path: Path) -> None:
    async with booted(tmp_path, db_url) as platform:
        accounts = platform.service(ACCOUNTS)
        caller = jwt_principal()
        alice = await accounts.create("alice", "user", "acme", actor=caller)
        assert (alice.name, alice.role, alice.tenant_id, alice.disabled) == (
            "alice",
            "user",
            "acme",
            False,
        )
        [created] = await events(platform, "admin.user.create")
        assert (created["subject"], created["actor_user_id"], created["trace_id"]) == (
            alice.id,
            caller.user_id,
            caller.trace_id,
        )
        assert created["details"]["source"] == "api"  # type: ignore[index]
        with pytest.raises(ConflictError, match="already exists"):
            await accounts.create("alice", "user", "acme")
        with pytest.raises(InvalidInputError, match="wizard"):
            await accounts.create("bob", "wizard", "acme")
        with pytest.raises(InvalidInputError, match="tenant"):
            await accounts.create("bob", "user", "no/slash")
        assert await accounts.find("alice") == alice
        assert [a.name for a in await accounts.list(TenantId("acme"))] == ["alice"]

        change = await accounts.set_disabled("alice", True)
        assert (change.account.disabled, change.changed) == (True, True)
        assert (await accounts.set_disabled(alice.id, True)).changed is False
        [disabled] = await events(platform, "admin.user.disable")
        assert disabled["details"] == {"source": "cli", "name": "alice"}
        with pytest.raises(NotFoundError):
            await accounts.set_disabled("nobody", True)

        moved = await accounts.update("alice", role="service", tenant="globex")
        assert (moved.account.role, moved.account.tenant_id, moved.changed) == (
            "service",
            "globex",
            True,
        )
        assert (await accounts.update("alice", role="service")).changed is False
        [updated] = await events(platform, "admin.user.update")
        assert updated["details"]["tenant"] == {"from": "acme", "to": "globex"}  # type: ignore[index]
        with pytest.raises(NotFoundError):
            await accounts.update("nobody", role="user")


async def test_tenants(db_url: str, tmp_path: Path) -> None:
    async with booted(tmp_path, db_url) as platform:
        tenants, accounts = platform.service(TENANTS), platform.service(ACCOUNTS)
        acme = await tenants.create("acme", "ACME Corp")
        assert (acme.id, acme.display_name, acme.registered, acme.members) == (
            "acme",
            "ACME Corp",
            True,
            0,
        )
        with pytest.raises(ConflictError):
            await tenants.create("acme")
        with pytest.raises(InvalidInputError):
            await tenants.create("-bad")
        await accounts.create("alice", "user", "acme")
        await accounts.create("zed", "user", "unregistered")
        listed = {t.id: t for t in await tenants.list()}
        assert listed["acme"].members == 1
        assert listed["default"].registered is False  # the bootstrap admin's
        assert listed["unregistered"].display_name == "unregistered"
        assert await tenants.get("nowhere") is None
        [event] = await events(platform, "admin.tenant.create")
        assert event["subject"] == "acme"
