"""``/api/v1/analytics``: ``GET /usage``, ``/denials`` and ``/tools``; ``GET /quotas``, the
caller's own budgets (used, limit and resets-at of every quota counting its user, tenant
or key).

A bad parameter is a 400 naming it; a principal with no user (and no admin tier) a 403;
each refusal is an ``audit_events`` row (``analytics.query_refused``: the report, the
status and the parameter names, never their values). The visibility rule is
``Viewer.of(ctx)``, applied by the service to every query.
"""

from __future__ import annotations

from typing import NotRequired, Required

import orjson
from pydantic import ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typing_extensions import TypedDict

from bastion.infra.audit import AuditTrail, audit_event_row
from bastion.infra.http import error_body
from bastion.infra.quota import QuotaBook, SubjectType
from bastion.kernel.analytics import (
    Analytics,
    AnalyticsQueryError,
    Report,
    Viewer,
    VisibilityError,
)
from bastion.kernel.context import RequestContext, request_context
from bastion.kernel.contract import ErrorStyle


class UsageRowBody(TypedDict):
    """One group: its dimension values (the ``group_by`` names as keys) and figures."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    requests: Required[int]
    allowed: Required[int]
    denied: Required[int]
    errors: Required[int]
    input_tokens: Required[int]
    output_tokens: Required[int]
    cache_read_tokens: Required[int]
    cache_write_tokens: Required[int]
    cost_microdollars: Required[int]
    latency_p50_ms: Required[float | None]
    latency_p95_ms: Required[float | None]
    overhead_p50_ms: Required[float | None]


class AnalyticsAnswer(TypedDict):
    """What a report endpoint answers: the query as understood, and its rows."""

    report: Required[str]
    group_by: Required[list[str]]
    since: Required[str]
    until: Required[str]
    filters: Required[dict[str, str]]
    visibility: Required[str]
    rows: Required[list[UsageRowBody]]
    truncated: NotRequired[bool]


class QuotaAnswer(TypedDict):
    """The caller's own quota windows: its user's, its tenant's and its key's."""

    quotas: Required[list[dict[str, object]]]


async def own_quotas(book: QuotaBook, ctx: RequestContext) -> list[dict[str, object]]:
    """Where the caller stands: every rule counting its user, tenant or key."""
    subjects = (
        (SubjectType.USER, ctx.user_id),
        (SubjectType.TENANT, ctx.tenant_id),
        (SubjectType.API_KEY, ctx.api_key_id),
    )
    found: list[dict[str, object]] = []
    for subject, subject_id in subjects:
        if subject_id is not None:
            found.extend(s.as_dict() for s in await book.standing(subject, subject_id))
    return found


def _json(status: int, body: bytes) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def routes(analytics: Analytics, trail: AuditTrail, quotas: QuotaBook) -> list[Route]:
    async def refuse(
        ctx: RequestContext, report: Report, status: int, message: str, names: list[str]
    ) -> Response:
        details = {"report": report.value, "status": status, "parameters": names}
        await trail.record_event(
            audit_event_row(
                ctx,
                event_type="analytics.query_refused",
                action="analytics.query",
                details=details,
                subject=report.value,
            )
        )
        return _json(status, error_body(ErrorStyle.JSON, status, message, trace_id=ctx.trace_id))

    def endpoint(report: Report) -> Route:
        async def answer(request: Request) -> Response:
            ctx = request_context(request)
            names = [key[:64] for key in request.query_params][:32]
            try:
                viewer = Viewer.of(ctx)
            except VisibilityError as exc:
                return await refuse(ctx, report, 403, str(exc), names)
            params: dict[str, str] = {}
            for key, value in request.query_params.multi_items():
                if key in params:
                    return await refuse(ctx, report, 400, f"{key}: given more than once", names)
                params[key] = value
            try:
                query = analytics.query(report, params)
            except AnalyticsQueryError as exc:
                return await refuse(ctx, report, 400, str(exc), names)
            rows = await analytics.run(query, viewer)
            document = {
                "report": report.value,
                "group_by": list(query.group_by),
                "since": query.since.isoformat(),
                "until": query.until.isoformat(),
                "filters": dict(query.filters),
                "visibility": viewer.reach.value,
                "rows": [row.as_dict() for row in rows],
            }
            return _json(200, orjson.dumps(document))

        return Route(f"/{report.value}", answer, methods=["GET"])

    async def quotas_answer(request: Request) -> Response:
        ctx = request_context(request)
        return _json(200, orjson.dumps({"quotas": await own_quotas(quotas, ctx)}))

    return [*(endpoint(report) for report in Report), Route("/quotas", quotas_answer)]
