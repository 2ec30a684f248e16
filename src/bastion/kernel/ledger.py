"""The migration ledger: which extension's SQL ran, when, and with which checksum.

Migrations apply in extension order, then version order, each in its own transaction.
An applied migration whose SQL has since changed stops everything (drift). On
PostgreSQL a session advisory lock makes concurrent boots apply each migration once.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bastion.kernel.errors import MigrationDriftError, MigrationError, MigrationFailedError
from bastion.kernel.migration import Migration

LEDGER_TABLE = "extension_migrations"
_ADVISORY_LOCK_KEY = 0x42A5_7100  # "bastion migrations", any stable 64-bit int

_CREATE_LEDGER = f"""
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    extension_id VARCHAR(128) NOT NULL,
    version INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    checksum_sha256 CHAR(64) NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    PRIMARY KEY (extension_id, version)
)
"""


class MigrationState(enum.StrEnum):
    APPLIED = "applied"
    PENDING = "pending"
    DRIFTED = "drifted"


@dataclass(frozen=True, slots=True)
class PlannedMigration:
    extension_id: str
    migration: Migration


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    extension_id: str
    version: int
    name: str
    state: MigrationState
    current_checksum: str
    stored_checksum: str | None
    applied_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class _Applied:
    checksum: str
    applied_at: dt.datetime


class MigrationLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    @property
    def dialect(self) -> str:
        return self._dialect

    async def status(self, plan: Sequence[PlannedMigration]) -> list[MigrationStatus]:
        async with self._engine.connect() as conn:
            await self._ensure_table(conn)
            applied = await self._applied(conn)
        return [self._status_of(p, applied) for p in plan]

    def _status_of(
        self, planned: PlannedMigration, applied: dict[tuple[str, int], _Applied]
    ) -> MigrationStatus:
        m = planned.migration
        current = m.checksum(self._dialect)
        found = applied.get((planned.extension_id, m.version))
        if found is None:
            state = MigrationState.PENDING
        elif found.checksum != current:
            state = MigrationState.DRIFTED
        else:
            state = MigrationState.APPLIED
        return MigrationStatus(
            planned.extension_id,
            m.version,
            m.name,
            state,
            current,
            found.checksum if found else None,
            found.applied_at if found else None,
        )

    async def migrate(self, plan: Sequence[PlannedMigration]) -> list[MigrationStatus]:
        """Verify checksums, then apply what is pending. Returns what was applied."""
        async with self._engine.connect() as conn:
            await self._lock(conn)
            try:
                await self._ensure_table(conn)
                applied = await self._applied(conn)
                statuses = [self._status_of(p, applied) for p in plan]
                for s in statuses:
                    if s.state is MigrationState.DRIFTED:
                        assert s.stored_checksum is not None
                        raise MigrationDriftError(
                            s.extension_id, s.version, s.stored_checksum, s.current_checksum
                        )
                done: list[MigrationStatus] = []
                for planned, s in zip(plan, statuses, strict=True):
                    if s.state is MigrationState.PENDING:
                        await self._apply(conn, planned)
                        done.append(s)
                return done
            finally:
                await self._unlock(conn)

    async def repair(self, extension_id: str, version: int, checksum: str) -> bool:
        """Rewrite a stored checksum (after an operator confirmed the SQL change)."""
        async with self._engine.connect() as conn:
            await self._ensure_table(conn)
            async with conn.begin():
                result = await conn.execute(
                    text(
                        f"UPDATE {LEDGER_TABLE} SET checksum_sha256 = :c "
                        "WHERE extension_id = :e AND version = :v"
                    ),
                    {"c": checksum, "e": extension_id, "v": version},
                )
            return bool(result.rowcount)

    async def _apply(self, conn: AsyncConnection, planned: PlannedMigration) -> None:
        m = planned.migration
        try:
            async with conn.begin():
                for statement in m.statements(self._dialect):
                    await conn.exec_driver_sql(statement)
                await conn.execute(
                    text(
                        f"INSERT INTO {LEDGER_TABLE} "
                        "(extension_id, version, name, checksum_sha256, applied_at) "
                        "VALUES (:e, :v, :n, :c, :t)"
                    ),
                    {
                        "e": planned.extension_id,
                        "v": m.version,
                        "n": m.name,
                        "c": m.checksum(self._dialect),
                        "t": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    },
                )
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise MigrationFailedError(
                planned.extension_id,
                f"migration {m.version:03d}_{m.name} of extension "
                f"'{planned.extension_id}' failed: {reason}",
            ) from exc

    async def _ensure_table(self, conn: AsyncConnection) -> None:
        async with conn.begin():
            await conn.exec_driver_sql(_CREATE_LEDGER)

    async def _applied(self, conn: AsyncConnection) -> dict[tuple[str, int], _Applied]:
        async with conn.begin():
            rows = await conn.execute(
                text(
                    f"SELECT extension_id, version, checksum_sha256, applied_at FROM {LEDGER_TABLE}"
                )
            )
            result: dict[tuple[str, int], _Applied] = {}
            for ext_id, version, checksum, applied_at in rows:
                if isinstance(applied_at, str):
                    applied_at = dt.datetime.fromisoformat(applied_at)
                result[(ext_id, int(version))] = _Applied(checksum.strip(), applied_at)
            return result

    async def _lock(self, conn: AsyncConnection) -> None:
        if self._dialect == "postgresql":
            try:
                await conn.exec_driver_sql(f"SELECT pg_advisory_lock({_ADVISORY_LOCK_KEY})")
                await conn.commit()
            except DBAPIError as exc:
                raise MigrationError("core", f"cannot take the migration lock: {exc}") from exc

    async def _unlock(self, conn: AsyncConnection) -> None:
        if self._dialect == "postgresql":
            await conn.rollback()
            await conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_ADVISORY_LOCK_KEY})")
            await conn.commit()
