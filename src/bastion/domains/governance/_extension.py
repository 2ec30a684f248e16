from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bastion.domains.governance._build import GovernanceChain
from bastion.domains.governance._payloads import EvaluateRequest, HookEvent
from bastion.domains.governance._provide import build_chain, build_scanner, close_chain
from bastion.domains.governance._routes import routes
from bastion.domains.governance._settings import GovernanceSettings
from bastion.infra.quota import QuotaBook
from bastion.infra.services import AUDIT, POLICY_STAGES, QUOTAS, RATE_LIMITER, SECRET_SCANNER
from bastion.kernel.contract import (
    ConfigSpec,
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    Operation,
)
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.services import ServiceProvider

if TYPE_CHECKING:
    import typer


def _quotas(ctx: ExtensionContext) -> QuotaBook:
    chain = ctx.service(GOVERNANCE)
    if not isinstance(chain, GovernanceChain):  # GOVERNANCE is this domain's own service
        raise TypeError("the governance service is not the governance domain's chain")
    return chain.quota


class GovernanceExtension(Extension):
    """The governance chain's business policy: its ``governance:`` namespace, the chain
    every governed surface calls (``GOVERNANCE``, built at boot, so a bad rule stops it)
    and the secret scanner (``SECRET_SCANNER``); the chain as an HTTP service
    (``/api/v1/governance/evaluate``), the Claude Code hook endpoint
    (``/api/v1/hooks/govern``) and ``bastion governance test``."""

    meta = ExtensionMeta(
        id="governance",
        version="1.0.0",
        depends_on=("core",),
        priority=20,
        description="Governance evaluation API and Claude Code hooks",
        required=True,
        requires=(AUDIT, POLICY_STAGES, RATE_LIMITER),
        maturity=Maturity.GA,
    )

    def config(self) -> ConfigSpec:
        return "governance", GovernanceSettings

    def services(self) -> Sequence[ServiceProvider[Any]]:
        # Eager: built at boot, before any router, so `config validate` and every
        # command refuse a rule that does not compile, as `serve` does.
        return [
            ServiceProvider(SECRET_SCANNER, build_scanner, eager=True),
            ServiceProvider(GOVERNANCE, build_chain, close=close_chain, eager=True),
            ServiceProvider(QUOTAS, _quotas),
        ]

    def workers_conflict(self, config: BaseModel | None, workers: int) -> str | None:
        """Quota counters kept in memory would be kept once per worker."""
        if not isinstance(config, GovernanceSettings):
            return None
        quota = config.quota
        if quota.enabled and quota.rules and quota.backend == "memory":
            return (
                f"server.workers is {workers} but governance.quota.backend is 'memory': each "
                f"worker would count its own share and admit up to {workers}x every quota; set "
                "governance.quota.backend: redis (with governance.quota.redis_url)"
            )
        return None

    def router(self, ctx: ExtensionContext) -> Sequence[ExtensionRouter]:
        evaluate, hooks = routes(ctx.service(GOVERNANCE))
        return [
            ExtensionRouter(
                evaluate,
                "/api/v1/governance",
                EndpointClass.API,
                openapi=[
                    Operation(
                        "POST", "/evaluate", "Evaluate an input", EvaluateRequest, dict[str, Any]
                    )
                ],
            ),
            ExtensionRouter(
                hooks,
                "/api/v1/hooks",
                EndpointClass.API,
                openapi=[
                    Operation(
                        "POST", "/govern", "Govern a Claude Code hook", HookEvent, dict[str, Any]
                    )
                ],
            ),
        ]

    def cli(self) -> typer.Typer:
        from bastion.domains.governance._cli import app

        return app
