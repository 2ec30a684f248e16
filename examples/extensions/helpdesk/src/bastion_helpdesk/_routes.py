"""``/api/v1/helpdesk``: file a ticket (its text governed first) and read your own.

Filing runs the template of the core's governed calls: validate, govern, act. Governance
sees the ticket as ``OPEN_TICKET``, so the profile's secret scanner, content blocklist,
tool rules, ACL, rate limits and quotas apply to it, and the decision is recorded in
``governance_decisions`` beside every other governed call.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bastion.extension import (
    Decision,
    EndpointClass,
    ErrorStyle,
    ExtensionRouter,
    Governance,
    Operation,
    PolicyContext,
    PolicyTarget,
    RequestContext,
    TargetType,
    Tier,
    error_response,
    invalid_body,
    request_context,
)
from bastion_helpdesk._desk import TicketDesk
from bastion_helpdesk._models import NewTicket, Ticket
from bastion_helpdesk.errors import TooManyOpenTickets, UnknownCategory

OPEN_TICKET = PolicyTarget(TargetType.TOOL, tool="helpdesk.open_ticket")
"""A ticket, to governance: a tool without a server, as the client-side tools the hooks
govern are; ``governance.scope_check.acl`` and ``governance.blocklist.tools`` name it
``helpdesk.open_ticket``, and content rules apply to it (they cover tools by default)."""

OPERATIONS = [
    Operation("POST", "/tickets", "File a support ticket (governed)", NewTicket, Ticket),
    Operation("GET", "/tickets", "The caller's tickets, oldest first", None, list[Ticket]),
]


def _error(caller: RequestContext, status: int, message: str) -> Response:
    return error_response(ErrorStyle.JSON, status, message, trace_id=caller.trace_id)


def _denied(caller: RequestContext, decision: Decision) -> Response:
    """403, or 429 with ``Retry-After`` when the chain says when to retry (a rate limit, a
    quota), as the gateway answers a denied prompt."""
    headers: dict[str, str] = {}
    status = 403
    if decision.retry_after_ms is not None:
        status = 429
        headers["retry-after"] = str(max(1, -(-decision.retry_after_ms // 1000)))
    return error_response(
        ErrorStyle.JSON,
        status,
        f"Bastion governance denied the request: {decision.reason}",
        trace_id=caller.trace_id,
        details={"stage": decision.stage, "rule": decision.rule, "reason": decision.reason},
        headers=headers,
    )


def tickets_router(governance: Governance, desk: TicketDesk) -> ExtensionRouter:
    engine = governance.engine

    async def file_ticket(request: Request) -> Response:
        caller = request_context(request)
        if caller.user_id is None:
            return _error(caller, 403, "tickets are filed by a user")
        try:
            new = NewTicket.model_validate_json(await request.body())
            desk.check(new)
        except ValidationError as exc:
            return _error(caller, 400, invalid_body(exc))
        except UnknownCategory as exc:
            return _error(caller, 400, str(exc))
        decision = await engine.evaluate(PolicyContext(caller, OPEN_TICKET, new.model_dump()))
        if not decision.allowed:
            return _denied(caller, decision)
        try:
            ticket = await desk.open(caller, new)
        except TooManyOpenTickets as exc:
            return _error(caller, 409, str(exc))
        return JSONResponse(ticket.model_dump(mode="json"), status_code=201)

    async def own_tickets(request: Request) -> Response:
        caller = request_context(request)
        if caller.user_id is None:
            return JSONResponse([])
        tickets = await desk.of_user(caller.user_id)
        return JSONResponse([ticket.model_dump(mode="json") for ticket in tickets])

    return ExtensionRouter(
        routes=[
            Route("/tickets", file_ticket, methods=["POST"]),
            Route("/tickets", own_tickets, methods=["GET"]),
        ],
        base_path="/api/v1/helpdesk",
        endpoint_class=EndpointClass.API,
        # People file tickets; an MCP client or a service key is refused by the guard.
        min_tier=Tier.USER,
        openapi=OPERATIONS,
    )
