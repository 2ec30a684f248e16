"""Server-side console sessions: the cookie carries a random id, the database its hash
and the principal it signed in as; idle and absolute timeouts end it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.console._config import ConsoleConfig
from bastion.domains.console._tables import sessions, utc_now
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, TraceId, UserId
from bastion.kernel.tiers import Tier

_CSRF_CONTEXT = b"bastion-console-csrf"
TOUCH_SECONDS = 15
"""A session's idle clock is restarted at most this often: a page and its partial updates
do not each write a row (the idle timeout is minutes; 15 s of slack is immaterial)."""


def hash_id(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode("utf-8")).hexdigest()


def csrf_token(raw_id: str) -> str:
    """The session's CSRF token: derived from the session id with a keyed hash, so it is
    bound to the session, never stored, and tells nothing about the id."""
    return hmac.new(raw_id.encode("utf-8"), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def csrf_matches(raw_id: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(raw_id), presented)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in browser: the principal as it was authenticated at sign-in."""

    id_hash: str
    user_id: str | None
    tenant_id: str | None
    role: str | None
    tier: Tier
    scopes: frozenset[str]
    auth_method: AuthMethod
    api_key_id: str | None
    login_method: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime

    def context(self, trace_id: TraceId, remote_addr: str | None) -> RequestContext:
        """The principal of one console request, under that request's trace."""
        return RequestContext(
            trace_id=trace_id,
            tier=self.tier,
            auth_method=self.auth_method,
            user_id=UserId(self.user_id) if self.user_id else None,
            tenant_id=TenantId(self.tenant_id) if self.tenant_id else None,
            role=RoleName(self.role) if self.role else None,
            scopes=self.scopes,
            api_key_id=ApiKeyId(self.api_key_id) if self.api_key_id else None,
            remote_addr=remote_addr,
        )


class SessionStore:
    def __init__(self, engine: AsyncEngine, config: ConsoleConfig) -> None:
        self._engine = engine
        self._idle = dt.timedelta(seconds=config.idle_timeout_seconds)
        self._absolute = dt.timedelta(seconds=config.absolute_timeout_seconds)

    @property
    def absolute_seconds(self) -> int:
        return int(self._absolute.total_seconds())

    async def open(self, principal: RequestContext, login_method: str) -> str:
        """A new session for ``principal``; returns the raw id (the cookie's value)."""
        raw_id = secrets.token_urlsafe(32)
        now = utc_now()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    id_hash=hash_id(raw_id),
                    user_id=principal.user_id,
                    tenant_id=principal.tenant_id,
                    role=principal.role,
                    tier=int(principal.tier),
                    scopes=orjson.dumps(sorted(principal.scopes)).decode(),
                    auth_method=principal.auth_method.value,
                    api_key_id=principal.api_key_id,
                    login_method=login_method,
                    remote_addr=principal.remote_addr,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self._absolute,
                )
            )
        return raw_id

    async def find(self, raw_id: str, *, now: dt.datetime | None = None) -> ConsoleSession | None:
        """The live session ``raw_id`` names, its idle clock restarted; None when there is
        none or it timed out (a timed-out row is deleted)."""
        now = now or utc_now()
        key = hash_id(raw_id)
        async with self._engine.begin() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id_hash == key))).first()
            if row is None:
                return None
            m = row._mapping
            if m["expires_at"] <= now or m["last_seen_at"] + self._idle <= now:
                await conn.execute(delete(sessions).where(sessions.c.id_hash == key))
                return None
            seen = m["last_seen_at"]
            if now - seen >= dt.timedelta(seconds=TOUCH_SECONDS):
                await conn.execute(
                    update(sessions).where(sessions.c.id_hash == key).values(last_seen_at=now)
                )
                seen = now
        return ConsoleSession(
            id_hash=key,
            user_id=m["user_id"],
            tenant_id=m["tenant_id"],
            role=m["role"],
            tier=Tier(m["tier"]),
            scopes=frozenset(orjson.loads(m["scopes"])),
            auth_method=AuthMethod(m["auth_method"]),
            api_key_id=m["api_key_id"],
            login_method=m["login_method"],
            created_at=m["created_at"],
            last_seen_at=seen,
            expires_at=m["expires_at"],
        )

    async def close(self, raw_id: str) -> bool:
        """End the session; False if it had already ended."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(sessions).where(sessions.c.id_hash == hash_id(raw_id))
            )
        return bool(result.rowcount)

    async def close_user(self, user_id: str) -> int:
        """End every session of ``user_id`` (their account was disabled)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        return int(result.rowcount or 0)

    async def purge(self, *, now: dt.datetime | None = None) -> int:
        """Delete every timed-out session (the scheduled job)."""
        now = now or utc_now()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(sessions).where(
                    (sessions.c.expires_at <= now) | (sessions.c.last_seen_at <= now - self._idle)
                )
            )
        return int(result.rowcount or 0)
