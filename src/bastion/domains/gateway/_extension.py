from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table

from bastion.domains.gateway._records import ai_requests
from bastion.domains.gateway._settings import GatewaySettings
from bastion.domains.gateway.upstreams import builtin_upstreams
from bastion.infra.services import AUDIT, JWT, LLM_UPSTREAMS, SECRET_SCANNER
from bastion.kernel.contract import (
    ConfigSpec,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    UpstreamRegistration,
)
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.inference import INFERENCE, Inference
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.services import ServiceKey, ServiceProvider

if TYPE_CHECKING:
    from bastion.domains.gateway._pipeline import Gateway

GATEWAY: ServiceKey[Gateway] = ServiceKey(
    "gateway", "The LLM gateway pipeline: routing, providers, pricing, governance, audit"
)


def _build(ctx: ExtensionContext) -> Gateway:
    # The pipeline, the translators and the HTTP client are imported when the gateway is
    # first used (it mounts), not by every CLI command that boots the platform.
    from bastion.domains.gateway._mount import build_gateway

    return build_gateway(ctx)


def _build_inference(ctx: ExtensionContext) -> Inference:
    from bastion.domains.gateway._inference import GatewayInference

    return GatewayInference(ctx.service(GATEWAY))


class GatewayExtension(Extension):
    """The LLM gateway: ``/v1/messages`` and ``/v1/chat/completions`` for every provider a
    route names, with governance, cost and an ``ai_requests`` row per request."""

    meta = ExtensionMeta(
        id="gateway",
        version="1.0.0",
        depends_on=("core", "governance"),
        priority=30,
        description="LLM gateway: Anthropic and OpenAI ingress, provider routing, cost",
        required=False,
        requires=(GOVERNANCE, SECRET_SCANNER, AUDIT, LLM_UPSTREAMS, JWT),
        maturity=Maturity.GA,
    )

    def config(self) -> ConfigSpec:
        return "gateway", GatewaySettings

    def services(self) -> Sequence[ServiceProvider[Any]]:
        return [ServiceProvider(GATEWAY, _build), ServiceProvider(INFERENCE, _build_inference)]

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.gateway")

    def audit_tables(self) -> Sequence[Table]:
        return [ai_requests]

    def llm_upstreams(self) -> Sequence[UpstreamRegistration]:
        return builtin_upstreams()

    def router(self, ctx: ExtensionContext) -> Sequence[ExtensionRouter]:
        from bastion.domains.gateway._mount import gateway_routers

        return gateway_routers(ctx, ctx.service(GATEWAY))
