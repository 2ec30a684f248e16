from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth._tables import accounts, api_keys, utc_now
from bastion.infra.security import (
    API_KEY_PREFIX,
    RoleCatalog,
    TtlCache,
    generate_api_key,
    hash_secret,
    parse_api_key,
    verify_api_key,
)
from bastion.kernel.identity import Principal
from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, UserId


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: ApiKeyId
    user_id: UserId
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def key_prefix(reference: str) -> str:
    """The lookup prefix an operator's reference to a key names."""
    parsed = parse_api_key(reference)
    if parsed is not None:
        return parsed.prefix
    text = reference.strip().removeprefix(API_KEY_PREFIX)
    return text.removesuffix("…").removesuffix("...").removesuffix("_")


class ApiKeyRepository:
    """API keys stored as a lookup prefix plus a SHA-256 of the secret part."""

    def __init__(self, engine: AsyncEngine, roles: RoleCatalog, cache_seconds: float = 5.0) -> None:
        self._engine = engine
        self._roles = roles
        self._cache: TtlCache[str, Principal] | None = (
            TtlCache(maxsize=10_000, ttl_seconds=cache_seconds) if cache_seconds > 0 else None
        )

    async def issue(self, user_id: UserId, name: str) -> tuple[ApiKeyRecord, str]:
        """Create a key; the plaintext is returned once and never stored."""
        generated = generate_api_key()
        record = ApiKeyRecord(generated.key_id, user_id, name, generated.prefix, utc_now(), None)
        async with self._engine.begin() as conn:
            await conn.execute(
                api_keys.insert().values(
                    id=record.id,
                    user_id=user_id,
                    name=name,
                    prefix=generated.prefix,
                    secret_hash=generated.secret_hash,
                    created_at=record.created_at,
                )
            )
        return record, generated.plaintext

    async def list(
        self, user_id: UserId | None = None, tenant: TenantId | None = None
    ) -> list[ApiKeyRecord]:
        """Keys oldest first, of ``user_id`` and/or of the users of ``tenant``."""
        query = select(
            api_keys.c.id,
            api_keys.c.user_id,
            api_keys.c.name,
            api_keys.c.prefix,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).order_by(api_keys.c.created_at)
        if user_id is not None:
            query = query.where(api_keys.c.user_id == user_id)
        if tenant is not None:
            query = query.join(accounts, accounts.c.id == api_keys.c.user_id).where(
                accounts.c.tenant_id == tenant
            )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [ApiKeyRecord(ApiKeyId(r[0]), UserId(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        query = select(
            api_keys.c.id,
            api_keys.c.user_id,
            api_keys.c.name,
            api_keys.c.prefix,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).where(api_keys.c.id == key_id)
        async with self._engine.connect() as conn:
            r = (await conn.execute(query)).first()
        return None if r is None else ApiKeyRecord(ApiKeyId(r[0]), UserId(r[1]), *r[2:])

    async def revoke(self, reference: str) -> ApiKeyId | None:
        """Revoke a key by id (``key_...``) or by prefix: as ``keys list`` shows it
        (``bst_<prefix>_…``), with or without ``bst_``, or inside a whole key. Returns the
        id of the key revoked, None if no active key matched."""
        prefix = key_prefix(reference)
        # A whole key is looked up by its prefix alone: its secret is never sent to the
        # database, where it could reach a statement log.
        matches = api_keys.c.prefix == prefix
        if parse_api_key(reference) is None:
            matches = matches | (api_keys.c.id == reference)
        # Write first: on SQLite a transaction that reads before it writes cannot wait
        # for another writer (the audit writer) and fails with "database is locked".
        async with self._engine.begin() as conn:
            key_id = (
                await conn.execute(
                    update(api_keys)
                    .where(matches)
                    .where(api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=utc_now())
                    .returning(api_keys.c.id)
                )
            ).scalar()
        if self._cache is not None:
            self._cache.clear()
        return None if key_id is None else ApiKeyId(key_id)

    async def resolve(self, raw_key: str) -> Principal | None:
        parsed = parse_api_key(raw_key)
        if parsed is None:
            return None
        # Cache by the secret's hash so plaintext keys never sit in memory longer than the call.
        cache_key = hash_secret(parsed.secret)
        if self._cache is not None:
            cached = self._cache.get(cache_key)
            if cached is not None:
                return cached
        query = (
            select(
                api_keys.c.id,
                api_keys.c.secret_hash,
                api_keys.c.user_id,
                accounts.c.role,
                accounts.c.tenant_id,
            )
            .join(accounts, accounts.c.id == api_keys.c.user_id)
            .where(api_keys.c.prefix == parsed.prefix)
            .where(api_keys.c.revoked_at.is_(None))
            .where(accounts.c.disabled.is_(False))
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or not verify_api_key(parsed, row[1]):
            return None
        role = self._roles.get(RoleName(row[3]))
        if role is None:
            return None
        principal = Principal(
            user_id=UserId(row[2]),
            tenant_id=TenantId(row[4]),
            role=RoleName(role.name),
            tier=role.tier,
            scopes=frozenset(role.scopes),
            api_key_id=ApiKeyId(row[0]),
        )
        if self._cache is not None:
            self._cache.set(cache_key, principal)
        return principal
