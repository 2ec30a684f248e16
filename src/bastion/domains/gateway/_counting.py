"""``POST /v1/messages/count_tokens``: the prompt is governed before it goes upstream to
be counted, and every call, refused or counted, leaves its ``ai_requests`` row (ingress
``count_tokens``, no tokens billed)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

import orjson
from starlette.requests import Request
from starlette.responses import Response

from bastion.domains.gateway._ingress import RequestError
from bastion.domains.gateway._pipeline import Gateway
from bastion.domains.gateway._records import RequestRecord
from bastion.domains.gateway._schema import SchemaError, check_anthropic_count_tokens
from bastion.domains.gateway._tokens import estimate_input_tokens
from bastion.infra.http import error_response
from bastion.kernel.context import request_context
from bastion.kernel.contract import ErrorStyle
from bastion.kernel.errors import UpstreamError

INGRESS = "count_tokens"


def token_count_endpoint(gateway: Gateway) -> Callable[[Request], Awaitable[Response]]:
    async def count_tokens(request: Request) -> Response:
        started = time.perf_counter()
        record = RequestRecord(request_context(request), INGRESS)
        upstream_ms = 0.0
        try:
            response, upstream_ms = await _count(gateway, request, record)
        finally:
            record.latency_ms = (time.perf_counter() - started) * 1000
            record.overhead_ms = max(0.0, record.latency_ms - upstream_ms)
            await gateway.audit(record)
        return response

    return count_tokens


async def _count(
    gateway: Gateway, request: Request, record: RequestRecord
) -> tuple[Response, float]:
    """The answer and the time spent upstream; ``record`` takes the outcome."""
    ctx = record.principal

    def refuse(
        status: int,
        message: str,
        *,
        outcome: str = "error",
        error_type: str | None = None,
        details: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        record.status, record.outcome, record.error = status, outcome, message
        return error_response(
            ErrorStyle.ANTHROPIC,
            status,
            message,
            error_type=error_type,
            trace_id=ctx.trace_id,
            details=details,
            headers=headers,
        )

    record.status, record.outcome = 499, "cancelled"  # until it is known otherwise
    try:
        body = orjson.loads(await request.body())
        if not isinstance(body, dict):
            raise RequestError("request body must be a JSON object")
        check_anthropic_count_tokens(body)
        model: str = body["model"]
    except (orjson.JSONDecodeError, RequestError, SchemaError) as exc:
        return refuse(400, str(exc)), 0.0
    record.requested_model = model
    route = gateway.routes.match(model)
    if route is None:
        missing = f"model '{model}' has no gateway route"
        return refuse(404, missing, error_type="not_found_error"), 0.0
    record.route, record.provider = route.name, route.settings.provider
    # The prompt goes upstream to be counted: it passes the same chain first.
    denied = await gateway.govern(ctx, route, body)
    if denied is not None:
        outcome = "denied" if denied.status in (403, 429) else "error"
        return refuse(
            denied.status,
            denied.message,
            outcome=outcome,
            details=denied.details,
            headers=denied.headers,
        ), 0.0
    target = gateway.dispatcher.target(route, model)
    record.upstream_model = target.upstream_model
    upstream_started = time.perf_counter()
    try:
        counted = await gateway.dispatcher.upstream(route).count_tokens(
            {**body, "model": target.upstream_model}, target, gateway.forward_headers(request)
        )
    except UpstreamError as exc:
        counted = None  # fall back to the local estimate
        record.error = f"counted locally: {exc}"
    upstream_ms = (time.perf_counter() - upstream_started) * 1000
    record.status, record.outcome = 200, "success"
    tokens = counted if counted is not None else estimate_input_tokens(body)
    return Response(
        orjson.dumps({"input_tokens": tokens}), media_type="application/json"
    ), upstream_ms
