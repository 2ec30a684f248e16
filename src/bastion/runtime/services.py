"""Platform services built at boot and shared by every extension: the audit trail, the
public endpoints' rate limit, and the secret masking the platform applies to what it
writes itself (logs, SIEM events) with the scanner the governance domain provides."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import AuditTrail, AuditWriter, SiemEmitter
from bastion.infra.config import Profile, SecretStore
from bastion.infra.ratelimit import RateLimiter, RateLimitSettings
from bastion.infra.services import SECRET_SCANNER
from bastion.kernel.context import RequestContext
from bastion.kernel.policy import TargetType
from bastion.kernel.services import ServiceRegistry
from bastion.kernel.tiers import Tier


def build_audit(
    profile: Profile, secrets: SecretStore, engine: AsyncEngine, redact: Callable[[str], str]
) -> AuditTrail:
    settings = profile.audit
    siem = None
    if settings.siem is not None:
        token = secrets.get(settings.siem.token_secret) if settings.siem.token_secret else None
        siem = SiemEmitter.from_settings(settings.siem, token=token, redact=redact)
    return AuditTrail(AuditWriter.from_settings(engine, settings), siem)


def late_redactor(services: ServiceRegistry) -> Callable[[str], str]:
    """Mask what ``SECRET_SCANNER`` recognises in ``text``; the scanner is looked up on
    the first call (it is registered after the audit trail is built) and then kept. With
    no provider (the governance domain disabled) text passes unchanged."""
    held: list[Callable[[str], str]] = []

    def redact(text: str) -> str:
        if not held:
            if services.provider_of(SECRET_SCANNER) is None:
                return text
            scanner = services.get(SECRET_SCANNER)
            held.append(lambda value: scanner.redact_text(value)[0])
        return held[0](text)

    return redact


def late_secret_test(services: ServiceRegistry) -> Callable[[str], bool]:
    """Whether a caller-chosen id is a credential pasted into the wrong header, by
    ``SECRET_SCANNER`` looked up on the first call (the authenticator exists before the
    governance domain's eager services are built) and then kept. With no provider, no id
    is a secret."""
    held: list[Callable[[str], bool]] = []

    def is_secret(value: str) -> bool:
        if not held:
            if services.provider_of(SECRET_SCANNER) is None:
                return False
            scanner = services.get(SECRET_SCANNER)
            held.append(lambda text: bool(scanner.scan_text(text)))
        return held[0](value)

    return is_secret


def public_limiter(
    settings: RateLimitSettings, limiter: RateLimiter
) -> Callable[[RequestContext], Awaitable[int | None]]:
    """Rate limit for ``public`` endpoints: the anonymous tier, keyed by address."""
    rate, burst = settings.limit_for(Tier.ANONYMOUS, TargetType.ROUTE)

    async def check(ctx: RequestContext) -> int | None:
        if not settings.enabled:
            return None
        decision = await limiter.check(f"public:{ctx.principal_key()}", rate, burst)
        return None if decision.allowed else decision.retry_after_ms

    return check
