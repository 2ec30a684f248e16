"""The booted platform: everything boot produced, before and after the app is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import AuditTrail
from bastion.infra.config import LoadedProfile, Profile, SecretStore
from bastion.infra.events import EventBus
from bastion.infra.security import JwtCodec, RoleCatalog
from bastion.infra.services import AUDIT, JWT, ROLES
from bastion.kernel.contract import ExtensionContext, ExtensionRouter
from bastion.kernel.identity import ApiKeyResolver, RevocationSource
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bastion.kernel.registry import ExtensionRegistry
from bastion.kernel.services import ServiceKey, ServiceRegistry
from bastion.kernel.surfaces import surface
from bastion.runtime.guard import PublicLimiter
from bastion.runtime.identity import Authenticator
from bastion.runtime.scheduler import Scheduler

T = TypeVar("T")

log = structlog.get_logger("bastion.platform")


@dataclass(slots=True)
class Platform:
    loaded: LoadedProfile
    registry: ExtensionRegistry
    engine: AsyncEngine
    events: EventBus
    contexts: dict[str, ExtensionContext]
    routers: list[tuple[str, ExtensionRouter]]
    api_keys: ApiKeyResolver | None
    scheduler: Scheduler
    # How a request's credential becomes its principal (also the AUTHENTICATOR service).
    authenticator: Authenticator
    # The platform's own services (roles, jwt, audit) are read from here.
    services: ServiceRegistry
    # The per-address limit of ``public`` routes.
    public_limiter: PublicLimiter | None = None
    # Disabled users and revoked JWT ids, checked on every JWT request.
    revocations: RevocationSource | None = None
    ready: bool = False
    # False in every worker but the first of ``bastion serve --workers N``: the jobs run
    # in one process, so a tick is not repeated once per worker.
    run_jobs: bool = True
    _started: bool = False

    @property
    def roles(self) -> RoleCatalog:
        return self.services.get(ROLES)

    @property
    def jwt(self) -> JwtCodec:
        return self.services.get(JWT)

    @property
    def audit(self) -> AuditTrail:
        return self.services.get(AUDIT)

    @property
    def profile(self) -> Profile:
        return self.loaded.profile

    @property
    def secrets(self) -> SecretStore:
        return self.loaded.secrets

    @property
    def ledger(self) -> MigrationLedger:
        return MigrationLedger(self.engine)

    def service(self, key: ServiceKey[T]) -> T:
        """Any service, built now if it was not yet (the CLI's way to a domain's service)."""
        return self.services.get(key)

    def migration_plan(self) -> list[PlannedMigration]:
        return migration_plan(self.registry)

    async def start(self, *, jobs: bool = True) -> None:
        """Start the background services: the audit writer (replaying any spill) and, for
        a server whose ``run_jobs`` is set, the scheduler. CLI commands start the audit
        writer only."""
        await self.audit.start()
        self._started = True
        if jobs and self.run_jobs:
            await self.scheduler.start()

    async def close(self) -> None:
        """Stop jobs, drain the audit queue, release pools. Safe to call once started or not."""
        await self.scheduler.stop()
        await run_stop_hooks(self.services)
        if self._started:
            await self.audit.close()
        await self.engine.dispose()


async def run_stop_hooks(services: ServiceRegistry) -> None:
    """Every ``on_shutdown`` hook and built service's ``close``, last first; one that
    raises is logged and the rest still run."""
    for hook in services.take_stops():
        try:
            await hook()
        except Exception as exc:
            log.error("shutdown hook failed", hook=repr(hook), error=repr(exc))


def migration_plan(registry: ExtensionRegistry) -> list[PlannedMigration]:
    """Extension order, then version order."""
    return [
        PlannedMigration(ext.meta.id, m)
        for ext in registry.ordered()
        for m in sorted(surface(ext, "migrations"), key=lambda m: m.version)
    ]
