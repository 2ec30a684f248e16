from __future__ import annotations

from collections.abc import Sequence

import structlog

from bastion.domains.gateway._dispatch import Dispatcher
from bastion.domains.gateway._ingress import ANTHROPIC, OPENAI
from bastion.domains.gateway._pipeline import Gateway
from bastion.domains.gateway._pricing import PricingCatalog
from bastion.domains.gateway._records import ai_requests
from bastion.domains.gateway._routes import (
    COWORK_OPERATIONS,
    INFERENCE_OPERATIONS,
    OPENAI_OPERATIONS,
    cowork_routes,
    inference_routes,
    openai_routes,
)
from bastion.domains.gateway._routing import RouteTable
from bastion.domains.gateway.upstreams import (
    Upstream,
    UpstreamServices,
    builtin_upstreams,
    create_http_session,
)
from bastion.infra.audit import AuditTrail
from bastion.infra.config import Profile
from bastion.infra.governance import Governance
from bastion.kernel.contract import (
    EndpointClass,
    ErrorStyle,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    UpstreamRegistration,
)
from bastion.kernel.migration import Migration, migrations_from_package

log = structlog.get_logger("bastion.gateway")


def _upstreams(
    registrations: Sequence[tuple[str, UpstreamRegistration]], services: UpstreamServices
) -> dict[str, Upstream]:
    """One provider per tag; a later registration shadows an earlier one, with a warning."""
    by_tag: dict[str, tuple[str, UpstreamRegistration]] = {}
    for ext_id, registration in registrations:
        if registration.tag in by_tag:
            log.warning(
                "upstream provider shadowed",
                tag=registration.tag,
                previous=by_tag[registration.tag][0],
                now=ext_id,
            )
        by_tag[registration.tag] = (ext_id, registration)
    return {tag: reg.factory(services) for tag, (_, reg) in by_tag.items()}


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
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.gateway")

    def llm_upstreams(self) -> Sequence[UpstreamRegistration]:
        return builtin_upstreams()

    def router(self, ctx: ExtensionContext) -> Sequence[ExtensionRouter]:
        profile: Profile = ctx.settings
        settings = profile.gateway
        governance: Governance = ctx.services["governance"]
        trail: AuditTrail = ctx.services["audit"]
        trail.writer.register_table(ai_requests)

        routes = RouteTable(settings.routes)
        routes.validate()
        governance.catalog.register("route", lambda name: routes.named(name) is not None)
        http = create_http_session()
        ctx.on_shutdown(http.close)
        upstreams = _upstreams(ctx.services["llm_upstreams"], UpstreamServices(http))
        gateway = Gateway(
            settings,
            routes,
            Dispatcher(settings, routes, upstreams, ctx.secrets),  # type: ignore[arg-type]
            PricingCatalog(settings.pricing),
            governance,
            trail.writer,
            store_prompts=profile.audit.store_prompts,
        )
        ctx.services["gateway"] = gateway
        routers = [
            ExtensionRouter(
                inference_routes(gateway),
                "/v1",
                EndpointClass.API,
                error_style=ErrorStyle.ANTHROPIC,
                openapi=INFERENCE_OPERATIONS,
                on_refused=gateway.refusal_recorder(ANTHROPIC, "/v1/messages"),
            ),
            ExtensionRouter(
                openai_routes(gateway),
                "/v1/chat",
                EndpointClass.API,
                error_style=ErrorStyle.OPENAI,
                openapi=OPENAI_OPERATIONS,
                on_refused=gateway.refusal_recorder(OPENAI, "/v1/chat/completions"),
            ),
        ]
        if settings.cowork.enabled:
            routers.append(
                ExtensionRouter(
                    cowork_routes(settings.cowork, ctx.services["jwt"]),
                    "/v1/gateway/auth/cowork",
                    EndpointClass.API,
                    openapi=COWORK_OPERATIONS,
                )
            )
        return routers
