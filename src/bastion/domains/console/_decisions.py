"""The decisions log, the trace view (the five points of one ``trace_id``) and the live
tail, all read through the ``AUDIT_SEARCH`` service."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from bastion.domains.console._web import Console, Visit, secured
from bastion.infra.audit import AuditFilter, AuditKind, AuditSearch, trace_points
from bastion.kernel.errors import InvalidInputError

FILTERS = ("user", "tenant", "status", "stage", "rule")
TAIL_SECONDS = 300.0
"""A tail stream ends after this long; the browser reconnects, and its session is checked
again."""


def _since(value: str) -> dt.datetime | None:
    units = {"m": 60, "h": 3600, "d": 86400}
    if len(value) > 1 and value[:-1].isdigit() and value[-1] in units:
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=int(value[:-1]) * units[value[-1]])
    return None


class DecisionPages:
    def __init__(self, console: Console, search: AuditSearch, poll_seconds: float) -> None:
        self.console = console
        self.search = search
        self.poll_seconds = poll_seconds

    def _filter(self, visit: Visit) -> tuple[AuditFilter, dict[str, str]]:
        query = visit.request.query_params
        chosen = {name: query.get(name, "").strip() for name in (*FILTERS, "since")}
        chosen = {k: v for k, v in chosen.items() if v}
        tenant = visit.tenant or chosen.get("tenant")  # a tenant admin: their tenant only
        return (
            AuditFilter(
                user=chosen.get("user"),
                tenant=tenant,
                status=chosen.get("status"),
                stage=chosen.get("stage"),
                rule=chosen.get("rule"),
                since=_since(chosen.get("since", "")),
            ),
            chosen,
        )

    async def log(self, visit: Visit) -> Response:
        where, chosen = self._filter(visit)
        error = None
        rows: list[dict[str, Any]] = []
        next_cursor = None
        try:
            page = await self.search.search(
                AuditKind.DECISIONS,
                where,
                limit=50,
                cursor=visit.request.query_params.get("cursor"),
            )
            rows, next_cursor = page.rows, page.next_cursor
        except InvalidInputError as exc:
            error = str(exc)
        return self.console.page(
            "decisions_rows.html" if visit.htmx else "decisions.html",
            visit,
            status=400 if error else 200,
            rows=rows,
            chosen=chosen,
            filters=FILTERS,
            next_cursor=next_cursor,
            error=error,
        )

    async def trace(self, visit: Visit) -> Response:
        trace_id = visit.request.path_params["trace_id"]
        rows = await self.search.trace(trace_id, tenant=visit.tenant)
        return self.console.page(
            "trace.html",
            visit,
            status=200 if rows else 404,
            trace_id=trace_id,
            rows=rows,
            points=trace_points(rows),
        )

    async def tail_page(self, visit: Visit) -> Response:
        return self.console.page("tail.html", visit)

    async def tail(self, visit: Visit) -> Response:
        """Server-sent events: each new decision as a ``decision`` event whose data is the
        table row to insert (the htmx sse extension swaps it in)."""
        template = self.console.env.get_template("decision_row.html")
        where = AuditFilter(tenant=visit.tenant)
        search = self.search

        async def events() -> AsyncIterator[str]:
            seen: set[str] = set()
            started = time.monotonic()
            newest: dt.datetime | None = None
            first = True
            yield ": tail started\n\n"
            while time.monotonic() - started < TAIL_SECONDS:
                f = AuditFilter(tenant=where.tenant, since=newest)
                page = await search.search(AuditKind.DECISIONS, f, limit=50)
                fresh = [r for r in reversed(page.rows) if r["id"] not in seen]
                for row in fresh:
                    seen.add(row["id"])
                    created = row["created_at"]
                    if isinstance(created, dt.datetime) and (newest is None or created > newest):
                        newest = created
                    if not first:
                        html = " ".join(template.render(row=row, BASE="/admin").split())
                        yield f"event: decision\ndata: {html}\n\n"
                first = False
                await asyncio.sleep(self.poll_seconds)

        response = StreamingResponse(events(), media_type="text/event-stream")
        response.headers["x-accel-buffering"] = "no"
        return secured(response)
