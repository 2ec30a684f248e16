from __future__ import annotations

import orjson
from starlette.routing import Route

from bastion.domains.governance._payloads import PayloadError, parse_evaluate, parse_hook
from bastion.infra.http import JsonEndpoint, error_body
from bastion.kernel.context import RequestContext
from bastion.kernel.contract import ErrorStyle
from bastion.kernel.governance import Decision, Governance
from bastion.kernel.ids import SessionId
from bastion.kernel.policy import PolicyContext

_ALLOWED_REASON = "allowed by Bastion governance"


def _pre_tool_use(decision: str, reason: str) -> bytes:
    return orjson.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": decision,
                "permissionDecisionReason": reason,
            }
        }
    )


# The answers to allowed hooks never change: serialized once.
_PRE_TOOL_USE_ALLOWED = _pre_tool_use("allow", _ALLOWED_REASON)
_PROMPT_ALLOWED = b"{}"


def _parse(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not valid JSON: {exc.msg}") from None


def _bad(ctx: RequestContext, exc: PayloadError) -> tuple[int, bytes]:
    return 400, error_body(ErrorStyle.JSON, 400, str(exc), trace_id=ctx.trace_id)


def _deny_reason(decision: Decision) -> str:
    return f"Bastion governance denied ({decision.stage}/{decision.rule}): {decision.reason}"


def routes(governance: Governance) -> tuple[list[Route], list[Route]]:
    """The ``/api/v1/governance`` routes and the ``/api/v1/hooks`` routes."""
    engine = governance.engine

    async def evaluate(ctx: RequestContext, raw: bytes) -> tuple[int, bytes]:
        try:
            target, data = parse_evaluate(_parse(raw))
        except PayloadError as exc:
            return _bad(ctx, exc)
        decision = await engine.evaluate(PolicyContext(ctx, target, data))
        return 200, orjson.dumps({**decision.as_dict(), "trace_id": ctx.trace_id})

    async def govern(ctx: RequestContext, raw: bytes) -> tuple[int, bytes]:
        try:
            hook = parse_hook(_parse(raw))
        except PayloadError as exc:
            return _bad(ctx, exc)
        if hook.session_id and ctx.session_id is None:
            ctx = ctx.with_session(SessionId(hook.session_id))
        decision = await engine.evaluate(PolicyContext(ctx, hook.target, hook.input))
        if hook.event == "PreToolUse":
            if decision.allowed:
                return 200, _PRE_TOOL_USE_ALLOWED
            return 200, _pre_tool_use("deny", _deny_reason(decision))
        if decision.allowed:
            return 200, _PROMPT_ALLOWED
        return 200, orjson.dumps({"decision": "block", "reason": _deny_reason(decision)})

    return (
        [Route("/evaluate", JsonEndpoint(evaluate), methods=["POST"])],
        [Route("/govern", JsonEndpoint(govern), methods=["POST"])],
    )
