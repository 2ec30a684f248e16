"""The gateway's HTTP surface: ``/v1/messages``, ``/v1/messages/count_tokens``,
``/v1/chat/completions``, ``/v1/models`` and the Claude for Work credential helper."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.domains.gateway._counting import token_count_endpoint
from bastion.domains.gateway._ingress import Ingress
from bastion.domains.gateway._pipeline import Gateway
from bastion.domains.gateway._schema import (
    AnthropicCountTokensRequest,
    AnthropicMessagesRequest,
    OpenAIChatRequest,
)
from bastion.domains.gateway._settings import CoworkSettings
from bastion.infra.http import error_response
from bastion.infra.security import JwtCodec
from bastion.kernel.context import AuthMethod, request_context
from bastion.kernel.contract import ErrorStyle, Operation
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType

_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


INFERENCE_OPERATIONS = (
    Operation("POST", "/messages", "Anthropic Messages", AnthropicMessagesRequest, dict[str, Any]),
    Operation(
        "POST",
        "/messages/count_tokens",
        "Count a Messages request's input tokens",
        AnthropicCountTokensRequest,
        dict[str, int],
    ),
    Operation("GET", "/models", "The models this gateway routes", None, dict[str, Any]),
)
OPENAI_OPERATIONS = (
    Operation("POST", "/completions", "OpenAI Chat Completions", OpenAIChatRequest, dict[str, Any]),
)
COWORK_OPERATIONS = (
    Operation(
        "POST", "/pat", "Exchange a Bastion API key for a short-lived JWT", None, dict[str, Any]
    ),
    Operation("GET", "/capabilities", "The credential helper's modes", None, dict[str, Any]),
)


def _json(doc: object, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json")


def ingress_route(gateway: Gateway, ingress: Ingress, path: str) -> Route:
    """``POST path``: one inference call in ``ingress``'s wire format."""

    async def endpoint(request: Request) -> Response:
        return await gateway.handle(request, ingress)

    return Route(path, endpoint, methods=["POST"])


def inference_routes(gateway: Gateway) -> list[Route]:
    """What ``/v1`` serves besides ``/v1/messages``: the token count and the models."""
    count_tokens = token_count_endpoint(gateway)

    async def models(request: Request) -> Response:
        ctx = request_context(request)
        scope = gateway.governance.scope
        data: list[dict[str, Any]] = []
        for model, provider, route in gateway.visible_models():
            verdict = scope.evaluate(
                PolicyContext(ctx, PolicyTarget(TargetType.PROMPT, name=route))
            )
            if verdict.verdict.value == "deny":
                continue
            data.append(
                {
                    "id": model,
                    "type": "model",
                    "object": "model",
                    "display_name": model,
                    "created_at": _EPOCH.isoformat().replace("+00:00", "Z"),
                    "created": int(_EPOCH.timestamp()),
                    "owned_by": provider,
                }
            )
        return _json(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    return [
        Route("/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/models", models, methods=["GET"]),
    ]


def cowork_routes(settings: CoworkSettings, jwt: JwtCodec) -> list[Route]:
    """Claude for Work's credential helper exchanges a personal API key for a short-lived
    JWT plus the identity headers to send with every request."""

    async def pat(request: Request) -> Response:
        ctx = request_context(request)
        if ctx.auth_method is not AuthMethod.API_KEY or ctx.user_id is None:
            return error_response(
                ErrorStyle.JSON,
                401,
                "present a Bastion API key as 'Authorization: Bearer bst_...'",
                trace_id=ctx.trace_id,
            )
        assert ctx.tenant_id is not None and ctx.role is not None
        issued = jwt.issue(
            user_id=ctx.user_id,
            tenant_id=ctx.tenant_id,
            role=ctx.role,
            tier=ctx.tier,
            scopes=ctx.scopes,
            ttl_seconds=settings.ttl_seconds,
        )
        headers = {
            "x-user-id": ctx.user_id,
            "x-tenant-id": ctx.tenant_id,
            "x-client-id": "claude-for-work",
            "x-policy-version": ctx.policy_version,
            "x-call-source": "cowork",
        }
        if ctx.session_id:
            headers["x-session-id"] = ctx.session_id
        return _json({"token": issued.token, "ttl": settings.ttl_seconds, "headers": headers})

    async def capabilities(_: Request) -> Response:
        return _json({"modes": ["pat"]})

    return [
        Route("/pat", pat, methods=["POST"]),
        Route("/capabilities", capabilities, methods=["GET"]),
    ]
