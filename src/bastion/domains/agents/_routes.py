"""Discovery (anonymous, ``/.well-known``) and the registry (authenticated)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.domains.agents._catalog import AgentCatalog, AgentEntry
from bastion.infra.http import error_response
from bastion.infra.security import Scopes
from bastion.kernel.context import RequestContext, request_context
from bastion.kernel.contract import ErrorStyle
from bastion.kernel.governance import Governance
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType, Verdict

# Cards change only when Bastion restarts with a new profile.
_CARD_HEADERS = {"cache-control": "public, max-age=300"}


def _json(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, media_type="application/json", headers=headers)


def _not_found(request: Request, message: str) -> Response:
    return error_response(ErrorStyle.JSON, 404, message, trace_id=request_context(request).trace_id)


def well_known_routes(catalog: AgentCatalog) -> list[Route]:
    """``/agent-card.json``, ``/agent-cards`` and ``/agent-cards/{name}``, mounted at
    ``/.well-known``: pre-rendered public cards, no per-request work."""

    async def default_card(request: Request) -> Response:
        if catalog.default is None:
            return _not_found(request, "no public agent is configured")
        return _json(catalog.default.card_json, _CARD_HEADERS)

    async def all_cards(_: Request) -> Response:
        return _json(catalog.public_cards_json, _CARD_HEADERS)

    async def one_card(request: Request) -> Response:
        name = request.path_params["name"]
        entry = catalog.public(name)
        if entry is None:
            return _not_found(request, f"no public agent '{name}'")
        return _json(entry.card_json, _CARD_HEADERS)

    return [
        Route("/agent-card.json", default_card, methods=["GET"]),
        Route("/agent-cards", all_cards, methods=["GET"]),
        Route("/agent-cards/{name}", one_card, methods=["GET"]),
    ]


async def visible(ctx: RequestContext, entry: AgentEntry, governance: Governance) -> bool:
    """Whether the caller may see (and so use) the agent: its required scopes, then the
    scope check for target ``agent`` (tier, scopes, ACL), evaluated without recording."""
    if not all(ctx.has_scope(scope) for scope in entry.settings.required_scopes):
        return False
    target = PolicyTarget(TargetType.AGENT, name=entry.name)
    verdict = governance.scope.evaluate(PolicyContext(ctx, target))
    return verdict.verdict is Verdict.ALLOW


def registry_routes(catalog: AgentCatalog, governance: Governance) -> list[Route]:
    """``/registry`` under ``/api/v1/agents``: the agents this caller may see."""
    rows = {entry.name: entry.registry_row() for entry in catalog}

    async def registry(request: Request) -> Response:
        ctx = request_context(request)
        if not ctx.has_scope(Scopes.AGENTS_READ):
            return error_response(
                ErrorStyle.JSON,
                403,
                f"missing scope '{Scopes.AGENTS_READ}'",
                trace_id=ctx.trace_id,
            )
        shown: list[dict[str, Any]] = [
            rows[entry.name] for entry in catalog if await visible(ctx, entry, governance)
        ]
        return _json(orjson.dumps({"agents": shown}))

    return [Route("/registry", registry, methods=["GET"])]


__all__ = ["registry_routes", "visible", "well_known_routes"]
