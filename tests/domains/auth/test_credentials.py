"""``CREDENTIALS``, the auth domain's typed service (behind ``bastion admin keys/tokens``
and the admin API), on a booted platform: a key resolves until revoked, a token carries
the role's scopes or a subset, refusals are ``RefusedError`` kinds, each change an event."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.domains.auth import API_KEYS
from bastion.infra.audit import audit_events
from bastion.kernel.accounts import ACCOUNTS
from bastion.kernel.credentials import CREDENTIALS, TokenRevocationOutcome
from bastion.kernel.errors import ConflictError, InvalidInputError, NotFoundError
from bastion.kernel.ids import TenantId
from tests.support.platforms import booted


async def test_keys_and_tokens(db_url: str, tmp_path: Path) -> None:
    async with booted(tmp_path, db_url) as platform:
        accounts, credentials = platform.service(ACCOUNTS), platform.service(CREDENTIALS)
        alice = await accounts.create("alice", "user", "acme")
        bob = await accounts.create("bob", "user", "globex")

        issued = await credentials.issue_key("alice", "laptop")
        assert issued.secret.startswith(f"bst_{issued.key.prefix}_")
        principal = await platform.service(API_KEYS).resolve(issued.secret)
        assert principal is not None and principal.user_id == alice.id
        other = await credentials.issue_key(bob.id, "ci")
        assert [k.id for k in await credentials.list_keys(user="alice")] == [issued.key.id]
        assert [k.id for k in await credentials.list_keys(tenant=TenantId("globex"))] == [
            other.key.id
        ]
        assert await credentials.get_key(issued.key.id) == issued.key
        with pytest.raises(NotFoundError):
            await credentials.issue_key("nobody", "x")
        with pytest.raises(InvalidInputError):
            await credentials.issue_key("alice", "")

        revoked = await credentials.revoke_key(issued.key.preview)
        assert revoked.id == issued.key.id and revoked.revoked_at is not None
        assert await platform.service(API_KEYS).resolve(issued.secret) is None
        with pytest.raises(NotFoundError, match="no active API key 'bst_"):
            await credentials.revoke_key(issued.secret)

        token = await credentials.issue_token("alice", ttl_seconds=60, scopes=["llm:invoke"])
        claims = platform.jwt.verify(token.token)
        assert (claims.user_id, claims.tenant_id, claims.scopes) == (
            alice.id,
            "acme",
            frozenset({"llm:invoke"}),
        )
        assert await credentials.token_owner(token.token_id) == alice.id
        with pytest.raises(InvalidInputError, match="does not grant"):
            await credentials.issue_token("alice", scopes=["admin:tenant"])
        revocation = await credentials.revoke_token(token.token_id)
        assert (revocation.outcome, revocation.user_id) == (
            TokenRevocationOutcome.REVOKED,
            alice.id,
        )
        with pytest.raises(ConflictError):
            await credentials.revoke_token(token.token_id)
        unknown = await credentials.revoke_token("jti-from-elsewhere")
        assert unknown.outcome is TokenRevocationOutcome.REVOKED_UNKNOWN

        await platform.audit.writer.flush()
        async with platform.engine.connect() as conn:
            kinds = [
                r[0]
                for r in await conn.execute(
                    select(audit_events.c.event_type).order_by(audit_events.c.created_at)
                )
            ]
        assert kinds.count("admin.key.issue") == 2
        assert kinds.count("admin.token.revoke") == 2
        assert {"admin.key.revoke", "admin.token.issue"} <= set(kinds)
