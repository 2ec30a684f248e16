"""Boot: discover -> instantiate -> insert -> configure -> validate -> migrate.

Each step that fails raises a ``BootError`` whose message is one line naming the
extension (or file) at fault. The listener opens only after all of it succeeded. A boot
that fails (or is interrupted) once the database engine exists runs the shutdown hooks
registered so far (built services' ``close`` among them) and disposes of the engine first.

The migrate step applies pending migrations (``migrate=True``), only checks that none is
pending or drifted (``migrate="verify"``: a worker of ``bastion serve --workers N``,
whose supervisor migrated once before starting it), or is skipped (``migrate=False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import structlog
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import AuditSearch
from bastion.infra.config import (
    ConfigError,
    EffectiveConfig,
    LoadedProfile,
    Profile,
    effective_config,
    platform_settings,
    workers_conflict,
)
from bastion.infra.db import create_engine, database_failure
from bastion.infra.events import EventBus
from bastion.infra.ratelimit import build_rate_limiter
from bastion.infra.security import JwtCodec, RoleCatalog
from bastion.infra.services import (
    AUDIT,
    AUDIT_SEARCH,
    EFFECTIVE_CONFIG,
    JOBS,
    JWT,
    LLM_UPSTREAMS,
    POLICY_STAGES,
    RATE_LIMITER,
    ROLES,
    TOOL_PROVIDERS,
)
from bastion.kernel.contract import (
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionRouter,
)
from bastion.kernel.errors import (
    BastionError,
    ExtensionError,
    MigrationDriftError,
    MigrationError,
    ServiceError,
)
from bastion.kernel.identity import (
    AUTHENTICATOR,
    ApiKeyResolver,
    IdentityProvider,
    RevocationProvider,
    RevocationSource,
)
from bastion.kernel.ledger import MigrationLedger, MigrationState, PlannedMigration
from bastion.kernel.registry import ExtensionRegistry
from bastion.kernel.services import ServiceProvider, ServiceRegistry
from bastion.kernel.surfaces import blamed_on, surface
from bastion.runtime import namespaces
from bastion.runtime.discovery import discover
from bastion.runtime.errors import BootError
from bastion.runtime.identity import Authenticator
from bastion.runtime.logs import use_platform_scanner
from bastion.runtime.platform import Platform, migration_plan, run_stop_hooks
from bastion.runtime.scheduler import ScheduledJob, Scheduler, SchedulerJobs, parse_schedule
from bastion.runtime.services import (
    build_audit,
    late_redactor,
    late_secret_test,
    public_limiter,
)

log = structlog.get_logger("bastion.boot")


def _fail(step: str, exc: BastionError) -> BootError:
    ext = getattr(exc, "extension_id", None)
    return BootError(step, str(exc), ext)


def configure_extensions(
    registry: ExtensionRegistry, loaded: LoadedProfile
) -> dict[str, BaseModel | None]:
    """Validate each extension's top-level ``<namespace>:`` block against its model, and
    refuse a top-level key that is neither a platform key nor anyone's namespace."""
    return namespaces.resolve(registry, loaded.profile)


async def _release(engine: AsyncEngine, services: ServiceRegistry) -> None:
    """Undo what a boot that failed half-way had opened: the shutdown hooks registered so
    far and built services' ``close`` (an extension's HTTP session, the governance
    chain's counters, the rate limiter's client), the pool."""
    await run_stop_hooks(services)
    await engine.dispose()


def _provide(
    services: ServiceRegistry,
    ext: Extension,
    ctx: ExtensionContext,
    providers: Sequence[ServiceProvider[Any]],
) -> None:
    for provider in providers:
        services.provide(
            provider.key,
            _builder(ext, ctx, provider),
            provider=ext.meta.id,
            close=provider.close,
        )


def _builder(ext: Extension, ctx: ExtensionContext, provider: ServiceProvider[Any]) -> Any:
    def build() -> Any:
        with blamed_on(ext, f"building service '{provider.key.name}'"):
            return provider.build(ctx)

    return build


async def _after_migrate(ext: Extension, ctx: ExtensionContext) -> None:
    with blamed_on(ext, "in after_migrate()"):
        await ext.after_migrate(ctx)


def _check_requirements(registry: ExtensionRegistry, services: ServiceRegistry) -> None:
    for ext in registry.ordered():
        for key in ext.meta.requires:
            if services.provider_of(key) is None:
                raise ServiceError(
                    ext.meta.id,
                    f"extension '{ext.meta.id}' requires service '{key.name}', which no "
                    "installed and enabled extension provides",
                )


def _routers(ext: Extension, ctx: ExtensionContext) -> list[ExtensionRouter]:
    contributed = surface(ext, "router", ctx)
    if contributed is None:
        return []
    if isinstance(contributed, ExtensionRouter):
        return [contributed]
    return list(contributed)


def _scheduled(ext: Extension, ctx: ExtensionContext) -> list[ScheduledJob]:
    jobs: list[ScheduledJob] = []
    for job in surface(ext, "jobs"):
        try:
            schedule = parse_schedule(job.schedule)
        except ValueError as exc:
            raise ExtensionError(
                ext.meta.id, f"extension '{ext.meta.id}' job '{job.name}': {exc}"
            ) from None
        jobs.append(ScheduledJob(ext.meta.id, job, schedule, ctx))
    return jobs


async def verify_migrated(engine: AsyncEngine, plan: list[PlannedMigration]) -> None:
    """Refuse a database whose ledger is behind the installed extensions (or drifted)."""
    statuses = await MigrationLedger(engine).status(plan)
    for status in statuses:
        if status.state is MigrationState.DRIFTED:
            assert status.stored_checksum is not None
            raise MigrationDriftError(
                status.extension_id,
                status.version,
                status.stored_checksum,
                status.current_checksum,
            )
    pending = [s for s in statuses if s.state is MigrationState.PENDING]
    if pending:
        first = pending[0]
        raise MigrationError(
            first.extension_id,
            f"migration {first.version:03d}_{first.name} of extension '{first.extension_id}' "
            f"is not applied ({len(pending)} pending); run `bastion db migrate`",
        )


async def boot(
    loaded: LoadedProfile,
    *,
    extra: Iterable[type[Extension] | Extension] = (),
    migrate: bool | Literal["verify"] = True,
    mount: bool = True,
) -> Platform:
    """Build the platform. With ``migrate=False`` (CLI inspection) no SQL is applied; with
    ``"verify"`` none is either, but a database that is not fully migrated is refused.
    With ``mount=False`` no extension's ``router()`` is called (a CLI command that needs
    neither routes nor the services they build, such as ``admin tokens issue``)."""
    profile = loaded.profile
    try:
        registry = discover(profile, extra)
        registry.validate()
    except BastionError as exc:
        raise _fail("discover", exc) from exc

    try:
        configs = configure_extensions(registry, loaded)
        conflict = workers_conflict(profile) or namespaces.workers_conflicts(
            registry, configs, profile.server.workers
        )
        if conflict is not None:
            raise ConfigError(conflict)
        roles = RoleCatalog()
        for ext in registry.ordered():
            roles.merge(surface(ext, "roles"), source=ext.meta.id)
        jwt_settings = profile.security.jwt
        jwt = JwtCodec(jwt_settings, loaded.secrets.get(jwt_settings.key_secret_name))
    except BastionError as exc:
        raise _fail("configure", exc) from exc

    try:
        engine = create_engine(profile.database.url, pool_size=profile.database.pool_size)
    except OSError as exc:  # the SQLite file's directory cannot be made
        raise BootError("database", f"cannot open the database: {exc}") from exc
    services = ServiceRegistry()
    try:
        return await _assemble(
            loaded, registry, configs, roles, jwt, engine, services, migrate=migrate, mount=mount
        )
    except BaseException:
        # Whatever failed (a step's error, an extension's bug, Ctrl-C, a cancelled
        # task), what was opened so far is closed before the error goes on.
        await _release(engine, services)
        raise


def _effective_config(
    profile: Profile, registry: ExtensionRegistry, configs: dict[str, BaseModel | None]
) -> EffectiveConfig:
    namespaces: dict[str, BaseModel] = {}
    for ext in registry.ordered():
        spec, config = surface(ext, "config"), configs.get(ext.meta.id)
        if spec is not None and config is not None:
            namespaces[spec[0]] = config
    return effective_config(profile, namespaces)


async def _assemble(
    loaded: LoadedProfile,
    registry: ExtensionRegistry,
    configs: dict[str, BaseModel | None],
    roles: RoleCatalog,
    jwt: JwtCodec,
    engine: AsyncEngine,
    services: ServiceRegistry,
    *,
    migrate: bool | Literal["verify"],
    mount: bool,
) -> Platform:
    """Boot from the engine on. Everything it opens is reachable from ``services`` (the
    shutdown hooks, governance), so ``boot`` can release it if any of this fails."""
    profile = loaded.profile
    try:
        # The scanner is the governance domain's (SECRET_SCANNER), built once boot has
        # registered it: the SIEM copy resolves it on its first event.
        trail = build_audit(profile, loaded.secrets, engine, late_redactor(services))
        for ext in registry.ordered():
            for table in surface(ext, "audit_tables"):
                trail.writer.register_table(table)
        events = EventBus(h for ext in registry.ordered() for h in surface(ext, "event_handlers"))
    except BastionError as exc:
        raise _fail("configure", exc) from exc
    limiter = build_rate_limiter(profile.rate_limits)
    services.provide_value(RATE_LIMITER, limiter)
    services.on_stop(limiter.aclose)
    services.provide_value(ROLES, roles)
    services.provide_value(JWT, jwt)
    services.provide_value(AUDIT, trail)
    services.provide_value(AUDIT_SEARCH, AuditSearch(engine, trail.writer.tables()))
    services.provide_value(EFFECTIVE_CONFIG, _effective_config(profile, registry, configs))
    # The jobs are collected once the routers are built (see ``McpExtension.router``).
    scheduler = Scheduler([], engine)
    services.provide_value(JOBS, SchedulerJobs(scheduler, engine))
    try:
        services.provide_value(
            LLM_UPSTREAMS,
            [
                (ext.meta.id, registration)
                for ext in registry.ordered()
                for registration in surface(ext, "llm_upstreams")
            ],
        )
        services.provide_value(
            POLICY_STAGES,
            [
                (ext.meta.id, stage)
                for ext in registry.ordered()
                for stage in surface(ext, "policies")
            ],
        )
        services.provide_value(
            TOOL_PROVIDERS,
            [
                (ext.meta.id, definition)
                for ext in registry.ordered()
                for definition in surface(ext, "tool_providers")
            ],
        )
        providers = {ext.meta.id: surface(ext, "services") for ext in registry.ordered()}
    except BastionError as exc:
        raise _fail("configure", exc) from exc
    settings = platform_settings(profile)
    contexts = {
        ext.meta.id: ExtensionContext(
            extension_id=ext.meta.extension_id,
            config=configs.get(ext.meta.id),
            engine=engine,
            events=events,
            secrets=loaded.secrets,
            platform=settings,
            services=services,
            uses=frozenset(ext.meta.requires)
            | frozenset(ext.meta.optional)
            | {p.key for p in providers[ext.meta.id]},
        )
        for ext in registry.ordered()
    }
    try:
        for ext in registry.ordered():
            _provide(services, ext, contexts[ext.meta.id], providers[ext.meta.id])
    except BastionError as exc:
        raise _fail("configure", exc) from exc
    api_keys: ApiKeyResolver | None = None
    for ext in registry.ordered():
        if isinstance(ext, IdentityProvider):
            api_keys = ext.api_key_resolver(contexts[ext.meta.id])
            break
    revocations: RevocationSource | None = None
    for ext in registry.ordered():
        if isinstance(ext, RevocationProvider):
            revocations = ext.revocation_source(contexts[ext.meta.id])
            break
    authenticator = Authenticator(
        jwt,
        api_keys,
        revocations=revocations,
        is_secret=late_secret_test(services),
    )
    # Before the routers are built: a router may take the service (the console's sign-in).
    services.provide_value(AUTHENTICATOR, authenticator)
    try:
        _check_requirements(registry, services)
        for ext in registry.ordered():
            for provider in providers[ext.meta.id]:
                if provider.eager:
                    services.get(provider.key, requester=ext.meta.id)
        use_platform_scanner(services)
    except BastionError as exc:
        raise _fail("configure", exc) from exc
    try:
        routers = [
            (ext.meta.id, router)
            for ext in registry.ordered()
            for router in (_routers(ext, contexts[ext.meta.id]) if mount else ())
        ]
        registry.validate([(ext_id, r.base_path) for ext_id, r in routers])
        for ext_id, r in routers:
            if r.endpoint_class is EndpointClass.WEBHOOK:
                if not r.webhook_secret:
                    raise ExtensionError(
                        ext_id,
                        f"extension '{ext_id}': webhook router {r.base_path} "
                        "names no webhook_secret",
                    )
                loaded.secrets.get(r.webhook_secret)
        jobs = [
            scheduled
            for ext in registry.ordered()
            for scheduled in _scheduled(ext, contexts[ext.meta.id])
        ]
        # Surfaces the server calls later (health checks per request), or only when it
        # migrates: called once here, so their results are checked on every boot,
        # ``bastion plugins validate`` included.
        for ext in registry.ordered():
            surface(ext, "health_checks")
        plan = migration_plan(registry)
    except ValueError as exc:
        raise BootError("validate", str(exc)) from exc
    except BastionError as exc:
        raise _fail("validate", exc) from exc

    scheduler.jobs.extend(jobs)

    if migrate:
        try:
            if migrate == "verify":
                await verify_migrated(engine, plan)
            else:
                for status in await MigrationLedger(engine).migrate(plan):
                    log.info(
                        "migration applied", extension=status.extension_id, version=status.version
                    )
        except BastionError as exc:
            raise _fail("migrate", exc) from exc
        except (OSError, SQLAlchemyError) as exc:
            raise BootError("migrate", f"cannot use the database: {database_failure(exc)}") from exc

    platform = Platform(
        loaded=loaded,
        registry=registry,
        engine=engine,
        events=events,
        contexts=contexts,
        routers=routers,
        api_keys=api_keys,
        scheduler=scheduler,
        services=services,
        public_limiter=public_limiter(profile.rate_limits, limiter),
        revocations=revocations,
        authenticator=authenticator,
    )
    if migrate is True:
        try:
            for ext in registry.ordered():
                await _after_migrate(ext, contexts[ext.meta.id])
        except BastionError as exc:
            raise _fail("migrate", exc) from exc
    return platform


__all__ = [
    "BootError",
    "ConfigError",
    "ExtensionError",
    "boot",
    "configure_extensions",
    "verify_migrated",
]
