from __future__ import annotations

import dataclasses

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.domains.governance._payloads import PayloadError, parse_evaluate, parse_hook
from bastion.infra.governance import Decision, Governance
from bastion.infra.http import error_response
from bastion.kernel.context import RequestContext, request_context
from bastion.kernel.contract import ErrorStyle
from bastion.kernel.ids import SessionId
from bastion.kernel.policy import PolicyContext


class _Json(Response):
    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


async def _body(request: Request) -> object:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not valid JSON: {exc.msg}") from None


def _bad(ctx: RequestContext, exc: PayloadError) -> Response:
    return error_response(ErrorStyle.JSON, 400, str(exc), trace_id=ctx.trace_id)


def _deny_reason(decision: Decision) -> str:
    return f"Bastion governance denied ({decision.stage}/{decision.rule}): {decision.reason}"


def routes(governance: Governance) -> tuple[list[Route], list[Route]]:
    """The ``/api/v1/governance`` routes and the ``/api/v1/hooks`` routes."""
    engine = governance.engine

    async def evaluate(request: Request) -> Response:
        ctx = request_context(request)
        try:
            target, data = parse_evaluate(await _body(request))
        except PayloadError as exc:
            return _bad(ctx, exc)
        decision = await engine.evaluate(PolicyContext(ctx, target, data))
        return _Json({**decision.as_dict(), "trace_id": ctx.trace_id})

    async def govern(request: Request) -> Response:
        ctx = request_context(request)
        try:
            hook = parse_hook(await _body(request))
        except PayloadError as exc:
            return _bad(ctx, exc)
        if hook.session_id and ctx.session_id is None:
            ctx = dataclasses.replace(ctx, session_id=SessionId(hook.session_id))
        decision = await engine.evaluate(PolicyContext(ctx, hook.target, hook.input))
        if hook.event == "PreToolUse":
            return _Json(
                {
                    "hookSpecificOutput": {
                        "hookEventName": "PreToolUse",
                        "permissionDecision": decision.decision,
                        "permissionDecisionReason": (
                            _deny_reason(decision)
                            if not decision.allowed
                            else "allowed by Bastion governance"
                        ),
                    }
                }
            )
        if decision.allowed:
            return _Json({})
        return _Json({"decision": "block", "reason": _deny_reason(decision)})

    return (
        [Route("/evaluate", evaluate, methods=["POST"])],
        [Route("/govern", govern, methods=["POST"])],
    )


__all__ = ["routes"]
