"""``/audit/{kind}`` and ``/audit/traces/{trace_id}``: search decisions, requests, tool
executions and admin events by user, tenant, status, stage, rule and time window, a page
at a time; and every row of one trace (``AUDIT_SEARCH``, as ``bastion audit`` uses it).
A tenant admin searches its own tenant's rows and traces only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._endpoint import Endpoint, path_param, query
from bastion.infra.audit import MAX_LIMIT, AuditFilter, AuditKind, AuditSearch
from bastion.kernel.errors import InvalidInputError, NotFoundError

_AGO = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def instant(value: str) -> dt.datetime:
    """``30m``/``24h``/``7d`` (that long ago) or an ISO 8601 instant (UTC if naive)."""
    match = _AGO.match(value.strip())
    if match is not None:
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("use a duration such as 30m, 24h, 7d or an ISO 8601 time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, max_length=128, description="The user id (actor for events).")
    tenant: str | None = Field(None, max_length=128)
    status: str | None = Field(
        None,
        max_length=64,
        description="decisions: allow/deny; requests: outcome or HTTP status; tool "
        "executions: status; admin events: event type.",
    )
    stage: str | None = Field(None, max_length=64, description="Governance stage.")
    rule: str | None = Field(None, max_length=255, description="Governance rule.")
    since: str | None = Field(None, description="From: 24h, 7d, or an ISO 8601 time.")
    until: str | None = Field(None, description="Before: 1h, or an ISO 8601 time.")
    trace_id: str | None = Field(None, max_length=128)
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"At most this many (≤ {MAX_LIMIT}).")
    cursor: str | None = Field(None, max_length=512, description="next_cursor of a page.")

    @field_validator("since", "until")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value is not None:
            instant(value)
        return value


class AuditRows(BaseModel):
    kind: AuditKind
    rows: list[dict[str, Any]] = Field(description="Newest first, as the audit table holds them.")
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null at the end."
    )


class TraceRows(BaseModel):
    trace_id: str
    rows: list[dict[str, Any]] = Field(description="Oldest first, each naming its table.")


class AuditEndpoints:
    def __init__(self, search: AuditSearch) -> None:
        self._search = search

    async def search(self, request: Request, scope: AdminScope, _: None) -> AuditRows:
        name = path_param(request, "kind")
        try:
            kind = AuditKind(name)
        except ValueError:
            kinds = ", ".join(k.value for k in AuditKind)
            raise NotFoundError(f"no audit kind '{name[:64]}' (kinds: {kinds})") from None
        asked = query(request, AuditQuery)
        where = AuditFilter(
            user=asked.user,
            tenant=scope.tenant_filter(asked.tenant),
            status=asked.status,
            stage=asked.stage,
            rule=asked.rule,
            since=None if asked.since is None else instant(asked.since),
            until=None if asked.until is None else instant(asked.until),
            trace_id=asked.trace_id,
        )
        if where.since and where.until and where.since >= where.until:
            raise InvalidInputError("since: must be before until")
        page = await self._search.search(kind, where, limit=asked.limit, cursor=asked.cursor)
        return AuditRows(kind=kind, rows=page.rows, next_cursor=page.next_cursor)

    async def trace(self, request: Request, scope: AdminScope, _: None) -> TraceRows:
        trace_id = path_param(request, "trace_id")
        rows = await self._search.trace(trace_id, tenant=scope.tenant)
        if not rows:
            raise NotFoundError(f"nothing recorded for trace '{trace_id[:128]}'")
        return TraceRows(trace_id=trace_id, rows=rows)

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            # The literal path first: Starlette tries routes in order.
            Endpoint(
                "GET",
                "/audit/traces/{trace_id}",
                "Every audit row of one trace",
                self.trace,
                TraceRows,
                tenant_scoped=True,
            ),
            Endpoint(
                "GET",
                "/audit/{kind}",
                "Search decisions, requests, tool_executions or admin_events",
                self.search,
                AuditRows,
                query=AuditQuery,
                tenant_scoped=True,
            ),
        ]
