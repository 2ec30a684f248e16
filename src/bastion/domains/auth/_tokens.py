"""Issued and revoked JWT ids (``auth_tokens``)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth._tables import tokens, utc_now


class RevokeOutcome(enum.Enum):
    REVOKED = "revoked"
    # Bastion holds no record of the token's issue (issued before this version, or by
    # the Cowork exchange): its expiry is unknown, so the revocation is kept until pruned
    # by hand.
    REVOKED_UNKNOWN = "revoked_unknown"
    ALREADY_REVOKED = "already_revoked"


@dataclass(frozen=True, slots=True)
class Revocation:
    jti: str
    outcome: RevokeOutcome
    user_id: str | None
    expires_at: dt.datetime | None


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


class TokenRegistry:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_issued(self, jti: str, user_id: str, issued_at: int, expires_at: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                tokens.insert().values(
                    jti=jti,
                    user_id=user_id,
                    issued_at=_utc(issued_at),
                    expires_at=_utc(expires_at),
                )
            )

    async def revoke(self, jti: str) -> Revocation:
        now = utc_now()
        try:
            # Write first: on SQLite a transaction that reads before it writes cannot
            # wait for another writer and fails with "database is locked".
            async with self._engine.begin() as conn:
                known = (
                    await conn.execute(
                        update(tokens)
                        .where(tokens.c.jti == jti)
                        .where(tokens.c.revoked_at.is_(None))
                        .values(revoked_at=now)
                        .returning(tokens.c.user_id, tokens.c.expires_at)
                    )
                ).first()
                if known is not None:
                    return Revocation(jti, RevokeOutcome.REVOKED, known[0], known[1])
                await conn.execute(tokens.insert().values(jti=jti, revoked_at=now))
        except IntegrityError:  # already revoked (or revoked by someone else just now)
            return await self._already_revoked(jti)
        return Revocation(jti, RevokeOutcome.REVOKED_UNKNOWN, None, None)

    async def _already_revoked(self, jti: str) -> Revocation:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(tokens.c.user_id, tokens.c.expires_at).where(tokens.c.jti == jti)
                )
            ).first()
        user_id, expires_at = (row[0], row[1]) if row is not None else (None, None)
        return Revocation(jti, RevokeOutcome.ALREADY_REVOKED, user_id, expires_at)

    async def owner(self, jti: str) -> str | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(tokens.c.user_id).where(tokens.c.jti == jti))).first()
        return None if row is None else row[0]

    async def prune(self, leeway_seconds: float) -> int:
        """Forget tokens that expired more than ``leeway_seconds`` ago, revoked or not:
        verification refuses them anyway."""
        cutoff = utc_now() - dt.timedelta(seconds=leeway_seconds)
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(tokens).where(tokens.c.expires_at < cutoff))
        return int(result.rowcount or 0)
