"""Mounting the gateway: routes, dispatcher, pricing and the pooled HTTP client, built once
the platform serves (imported by ``GatewayExtension.router`` only)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from starlette.routing import BaseRoute

from bastion.domains.gateway._dispatch import Dispatcher
from bastion.domains.gateway._ingress import ANTHROPIC, OPENAI, Ingress
from bastion.domains.gateway._pipeline import Gateway
from bastion.domains.gateway._pricing import PricingCatalog
from bastion.domains.gateway._routes import (
    COWORK_OPERATIONS,
    INFERENCE_OPERATIONS,
    OPENAI_OPERATIONS,
    cowork_routes,
    inference_routes,
    ingress_route,
)
from bastion.domains.gateway._routing import RouteTable
from bastion.domains.gateway._settings import GatewaySettings
from bastion.domains.gateway.errors import InvalidProviderError
from bastion.domains.gateway.upstreams import LlmUpstream, UpstreamServices, create_http_session
from bastion.infra.services import AUDIT, JWT, LLM_UPSTREAMS, SECRET_SCANNER
from bastion.kernel.contract import (
    EndpointClass,
    ExtensionContext,
    ExtensionRouter,
    Operation,
    UpstreamRegistration,
)
from bastion.kernel.governance import GOVERNANCE

log = structlog.get_logger("bastion.gateway")


def build_gateway(ctx: ExtensionContext) -> Gateway:
    """The ``GATEWAY`` service: routes, providers on one pooled HTTP client, pricing."""
    settings = ctx.config_as(GatewaySettings)
    governance = ctx.service(GOVERNANCE)
    trail = ctx.service(AUDIT)

    routes = RouteTable(settings.routes)
    routes.validate()
    governance.catalog.register("route", lambda name: routes.named(name) is not None)
    http = create_http_session()
    ctx.on_shutdown(http.close)
    upstreams = _upstreams(ctx.service(LLM_UPSTREAMS), UpstreamServices(http))
    for upstream in upstreams.values():
        # Hooks run newest first: every provider is closed before the shared session.
        ctx.on_shutdown(upstream.aclose)
    return Gateway(
        settings,
        routes,
        Dispatcher(settings, routes, upstreams, ctx.secrets),  # type: ignore[arg-type]
        PricingCatalog(settings.pricing),
        governance,
        trail.writer,
        ctx.service(SECRET_SCANNER),
        store_prompts=ctx.platform.store_prompts,
    )


def gateway_routers(ctx: ExtensionContext, gateway: Gateway) -> list[ExtensionRouter]:
    settings = ctx.config_as(GatewaySettings)
    routers = [
        _ingress_router(
            gateway, ANTHROPIC, "/v1", "/messages", INFERENCE_OPERATIONS, inference_routes(gateway)
        ),
        _ingress_router(gateway, OPENAI, "/v1/chat", "/completions", OPENAI_OPERATIONS),
    ]
    if settings.cowork.enabled:
        routers.append(
            ExtensionRouter(
                cowork_routes(settings.cowork, ctx.service(JWT)),
                "/v1/gateway/auth/cowork",
                EndpointClass.API,
                openapi=COWORK_OPERATIONS,
            )
        )
    return routers


def _ingress_router(
    gateway: Gateway,
    ingress: Ingress,
    base_path: str,
    path: str,
    openapi: Sequence[Operation],
    others: Sequence[BaseRoute] = (),
) -> ExtensionRouter:
    """The router of one ingress: its inference route first, whose refusals the router's
    observer records."""
    inference = ingress_route(gateway, ingress, path)
    return ExtensionRouter(
        [inference, *others],
        base_path,
        EndpointClass.API,
        error_style=ingress.style,
        openapi=openapi,
        on_refused=gateway.refusal_recorder(ingress, inference),
    )


_CONTRACT = ("name", "messages", "count_tokens", "health", "aclose")


def _upstreams(
    registrations: Sequence[tuple[str, UpstreamRegistration]], services: UpstreamServices
) -> dict[str, LlmUpstream]:
    """One provider per tag; a later registration shadows an earlier one, with a warning.
    A factory that builds something without the ``LlmUpstream`` members stops the boot
    with one line naming what it lacks."""
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
    built: dict[str, LlmUpstream] = {}
    for tag, (ext_id, registration) in by_tag.items():
        upstream = registration.factory(services)
        missing = [member for member in _CONTRACT if not hasattr(upstream, member)]
        if missing:
            raise InvalidProviderError(tag, ext_id, upstream, missing)
        built[tag] = upstream
    return built
