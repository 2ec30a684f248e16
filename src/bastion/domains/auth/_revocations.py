"""The snapshot of disabled users and revoked JWT ids that the middleware checks.

Why a snapshot: JWT validation needs no I/O, and one query per request would put the
database on every request's path. Instead each process reads the whole (small) state,
the ids of disabled users and of revoked, unexpired tokens, once every
``refresh_seconds`` in a background task, and the middleware tests two frozensets.

The bound: a snapshot records the monotonic time *before* its read began, and is used
only while younger than ``bound_seconds``. A change committed at time t is seen by every
read that starts after t (PostgreSQL's read committed, SQLite's file), so from t +
``bound_seconds`` on, every request is checked against a snapshot that includes it, on
this replica and on every other one reading the same database. When the background read
falls behind (a slow or unreachable database), the request reads the state itself,
single-flight, and a database error propagates exactly as the API-key lookup's does:
the credential cannot be checked, so it is not accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.auth._tables import accounts, tokens, utc_now
from bastion.kernel.identity import Revocations

log = structlog.get_logger("bastion.auth")


class RevocationList:
    """Implements ``RevocationSource``. One per process, used from one event loop."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        bound_seconds: float,
        leeway_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._bound = bound_seconds
        # Refreshing at half the bound (at most every second) keeps the snapshot fresh
        # with margin, so requests practically never wait for a read.
        self.refresh_seconds = min(1.0, bound_seconds / 2)
        self._leeway = dt.timedelta(seconds=leeway_seconds)
        self._clock = clock
        self._current: Revocations | None = None
        self._inflight: tuple[float, asyncio.Task[Revocations]] | None = None
        self._refresher: asyncio.Task[None] | None = None

    def fresh(self) -> Revocations | None:
        current = self._current
        if current is not None and self._clock() - current.loaded_at < self._bound:
            return current
        return None

    async def refresh(self) -> Revocations:
        if self._refresher is None and self._bound > 0:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())
        now = self._clock()
        inflight = self._inflight
        if inflight is not None and not inflight[1].done() and now - inflight[0] < self._bound:
            return await asyncio.shield(inflight[1])
        task = asyncio.get_running_loop().create_task(self._load())
        # Retrieved here too, so a read whose every waiter was cancelled logs nothing.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._inflight = (now, task)
        return await asyncio.shield(task)

    async def _load(self) -> Revocations:
        started = self._clock()
        cutoff = utc_now() - self._leeway
        async with self._engine.connect() as conn:
            disabled = (
                await conn.execute(select(accounts.c.id).where(accounts.c.disabled.is_(True)))
            ).scalars()
            disabled_users = frozenset(disabled)
            revoked = (
                await conn.execute(
                    select(tokens.c.jti)
                    .where(tokens.c.revoked_at.is_not(None))
                    .where(or_(tokens.c.expires_at.is_(None), tokens.c.expires_at >= cutoff))
                )
            ).scalars()
            snapshot = Revocations(disabled_users, frozenset(revoked), started)
        current = self._current
        if current is None or current.loaded_at <= started:
            self._current = snapshot
        return snapshot

    async def _refresh_forever(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Logged once per outage, not once per attempt; never the SQL.
                if not failing:
                    log.warning("revocation list refresh failing", error=type(exc).__name__)
                failing = True
            else:
                if failing:
                    log.info("revocation list refresh recovered")
                failing = False

    async def aclose(self) -> None:
        for task in (self._refresher, self._inflight[1] if self._inflight else None):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._refresher = None
