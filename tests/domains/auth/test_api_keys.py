"""``ApiKeyRepository`` on SQLite and PostgreSQL: issue, resolve, revoke, storage."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth import ApiKeyRepository
from bastion.domains.users import User, UserRepository
from bastion.infra.security import RoleCatalog
from bastion.kernel.contract import RoleDefinition
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.kernel.tiers import Tier

KEY_FORMAT = re.compile(r"bst_(?P<prefix>[a-z0-9]{8})_(?P<secret>[0-9A-Za-z]{43})")


async def make_user(engine: AsyncEngine, name: str = "alice", role: str = "user") -> User:
    return await UserRepository(engine).create(name, RoleName(role), TenantId("acme"))


async def execute(engine: AsyncEngine, sql: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def test_issue_and_resolve(engine: AsyncEngine) -> None:
    alice = await make_user(engine)
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    record, plaintext = await keys.issue(alice.id, "laptop")
    match = KEY_FORMAT.fullmatch(plaintext)
    assert match is not None and match["prefix"] == record.prefix
    assert (record.user_id, record.name, record.revoked) == (alice.id, "laptop", False)

    principal = await keys.resolve(plaintext)
    assert principal is not None
    assert (principal.user_id, principal.tenant_id, principal.role) == (alice.id, "acme", "user")
    assert principal.tier is Tier.USER
    assert principal.scopes == RoleCatalog().resolve("user").scopes
    assert principal.api_key_id == record.id

    assert [r.id for r in await keys.list()] == [record.id]
    assert [r.id for r in await keys.list(alice.id)] == [record.id]
    assert await keys.list(UserId("usr_someoneelse00000")) == []


async def test_wrong_secret_and_malformed_keys_resolve_to_none(engine: AsyncEngine) -> None:
    alice = await make_user(engine)
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    _, plaintext = await keys.issue(alice.id, "laptop")
    last = plaintext[-1]
    tampered = plaintext[:-1] + ("A" if last != "A" else "B")
    assert await keys.resolve(tampered) is None
    assert await keys.resolve(plaintext + "x") is None
    assert await keys.resolve("bst_short") is None
    assert await keys.resolve("") is None


async def test_stored_hash_is_sha256_and_never_the_plaintext(engine: AsyncEngine) -> None:
    alice = await make_user(engine)
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    record, plaintext = await keys.issue(alice.id, "laptop")
    match = KEY_FORMAT.fullmatch(plaintext)
    assert match is not None
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM auth_api_keys"))).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == record.id and row["prefix"] == match["prefix"]
    assert row["secret_hash"].strip() == hashlib.sha256(match["secret"].encode()).hexdigest()
    for value in row.values():
        assert match["secret"] not in str(value)
        assert plaintext not in str(value)


async def test_revoke_by_id_or_prefix(engine: AsyncEngine) -> None:
    alice = await make_user(engine)
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    first, first_key = await keys.issue(alice.id, "one")
    second, second_key = await keys.issue(alice.id, "two")

    assert await keys.revoke(first.id) == first.id
    assert await keys.resolve(first_key) is None
    assert await keys.resolve(second_key) is not None
    assert await keys.revoke(first.id) is None  # already revoked
    assert await keys.revoke("key_doesnotexist00") is None

    assert await keys.revoke(second.prefix) == second.id
    assert await keys.resolve(second_key) is None
    listed = {r.id: r for r in await keys.list()}
    assert listed[first.id].revoked and listed[second.id].revoked


async def test_revoke_by_the_prefix_as_listed(engine: AsyncEngine) -> None:
    alice = await make_user(engine)
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    records = [await keys.issue(alice.id, name) for name in ("a", "b", "c", "d", "e")]
    references = [
        f"bst_{records[0][0].prefix}",  # what an operator copies from `keys list`
        f"bst_{records[1][0].prefix}_…",  # the whole column
        f"bst_{records[2][0].prefix}_",
        records[3][0].prefix,
        records[4][1],  # a whole key, leaked and pasted
    ]
    for (record, plaintext), reference in zip(records, references, strict=True):
        assert await keys.revoke(reference) == record.id, reference
        assert await keys.resolve(plaintext) is None
    assert await keys.revoke(f"bst_{records[0][0].prefix}") is None  # already revoked


async def test_revoke_invalidates_the_cache(engine: AsyncEngine) -> None:
    alice = await make_user(engine)
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=300)
    record, plaintext = await keys.issue(alice.id, "laptop")
    cached = await keys.resolve(plaintext)
    assert cached is not None and cached.role == "user"

    # The cache is real: a change made behind the repository's back is not seen yet...
    await execute(engine, "UPDATE users_accounts SET role = 'admin' WHERE id = :i", i=alice.id)
    assert await keys.resolve(plaintext) == cached
    # ...but revoking through the repository drops every cached entry at once.
    assert await keys.revoke(record.id) == record.id
    assert await keys.resolve(plaintext) is None


async def test_disabled_user_is_refused(engine: AsyncEngine) -> None:
    alice = await make_user(engine)
    keys = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    _, plaintext = await keys.issue(alice.id, "laptop")
    assert await keys.resolve(plaintext) is not None
    await execute(
        engine, "UPDATE users_accounts SET disabled = :d WHERE id = :i", d=True, i=alice.id
    )
    assert await keys.resolve(plaintext) is None
    await execute(
        engine, "UPDATE users_accounts SET disabled = :d WHERE id = :i", d=False, i=alice.id
    )
    assert await keys.resolve(plaintext) is not None


async def test_unknown_role_is_refused(engine: AsyncEngine) -> None:
    """A user whose role no longer exists (its extension was removed) gets nothing."""
    ghost = await make_user(engine, "gus", role="greeter")
    with_hello = RoleCatalog()
    with_hello.merge(
        [RoleDefinition(RoleName("greeter"), Tier.USER, frozenset({"hello:write"}))],
        source="hello",
    )
    issued_with = ApiKeyRepository(engine, with_hello, cache_seconds=0)
    _, plaintext = await issued_with.issue(ghost.id, "k")
    principal = await issued_with.resolve(plaintext)
    assert principal is not None and principal.scopes == frozenset({"hello:write"})

    without_hello = ApiKeyRepository(engine, RoleCatalog(), cache_seconds=0)
    assert await without_hello.resolve(plaintext) is None
