"""The overview and the usage explorer: views of what ``ANALYTICS`` answers (the same
service ``GET /api/v1/analytics/...`` serves), under the operator's own visibility."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from starlette.responses import Response

from bastion.domains.console._charts import bar_chart, dollars, milliseconds
from bastion.domains.console._web import Console, Visit, secured
from bastion.kernel.analytics import (
    DIMENSIONS,
    FIGURES,
    Analytics,
    AnalyticsQueryError,
    Report,
    UsageRow,
    Viewer,
)
from bastion.kernel.identity import UserDirectory

WINDOWS = ("1h", "24h", "7d", "30d")


def _label(group: Mapping[str, str | None], names: Sequence[str]) -> str:
    parts = []
    for name in names:
        value = group.get(name)
        if name == "hour" and value:
            value = value[11:16]
        parts.append("—" if value is None else str(value))
    return " / ".join(parts)


def _figure(row: UsageRow, name: str) -> float:
    value = row.as_dict()[name]
    return float(value) if isinstance(value, int | float) else 0.0


class UsagePages:
    def __init__(self, console: Console, analytics: Analytics, users: UserDirectory) -> None:
        self.console = console
        self.analytics = analytics
        self.users = users

    async def _names(self, rows: Sequence[UsageRow]) -> dict[str, str]:
        """User ids to names, for the rows grouped by user."""
        names: dict[str, str] = {}
        for row in rows:
            user_id = row.group.get("user")
            if user_id and user_id not in names:
                account = await self.users.find(user_id)
                names[user_id] = account.name if account is not None else user_id
        return names

    @staticmethod
    def _shown(row: UsageRow, groups: Sequence[str], names: Mapping[str, str]) -> str:
        group = dict(row.group)
        user = group.get("user")
        if user:
            group["user"] = names.get(user, user)
        return _label(group, groups)

    async def _run(self, visit: Visit, report: Report, params: Mapping[str, str]) -> list[UsageRow]:
        query = self.analytics.query(report, params)
        return await self.analytics.run(query, Viewer.of(visit.principal))

    async def overview(self, visit: Visit) -> Response:
        since = visit.request.query_params.get("since", "24h")
        if since not in WINDOWS:
            since = "24h"
        bucket = "day" if since in ("7d", "30d") else "hour"
        timeline = {"group_by": bucket, "since": since, "limit": "1000"}
        hourly = await self._run(visit, Report.USAGE, timeline)
        denials = await self._run(visit, Report.DENIALS, timeline)
        models = await self._run(visit, Report.USAGE, {"group_by": "model", "since": since})
        users = await self._run(visit, Report.USAGE, {"group_by": "user", "since": since})
        every = max(1, len(hourly) // 8)
        by_time = [(_label(r.group, [bucket]), r) for r in hourly]
        charts = {
            "Requests": bar_chart(
                "Requests", [(k, r.requests) for k, r in by_time], label_every=every
            ),
            "Cost": bar_chart(
                "Cost",
                [(k, r.cost_microdollars) for k, r in by_time],
                fmt=dollars,
                label_every=every,
            ),
            "Denials": bar_chart(
                "Denials",
                [(_label(r.group, [bucket]), r.requests) for r in denials],
                label_every=max(1, len(denials) // 8),
            ),
            "p95 latency": bar_chart(
                "p95 latency",
                [(k, r.latency_p95_ms or 0.0) for k, r in by_time],
                fmt=milliseconds,
                label_every=every,
            ),
        }
        totals = {
            "requests": sum(r.requests for r in hourly),
            "cost": sum(r.cost_microdollars for r in hourly),
            "denied": sum(r.requests for r in denials),
        }
        return self.console.page(
            "overview.html",
            visit,
            since=since,
            windows=WINDOWS,
            charts=charts,
            totals=totals,
            models=sorted(models, key=lambda r: -r.requests)[:10],
            users=sorted(users, key=lambda r: -r.requests)[:10],
            names=await self._names(users),
        )

    def _params(self, visit: Visit) -> tuple[Report, dict[str, str]]:
        query = visit.request.query_params
        try:
            report = Report(query.get("report", "usage"))
        except ValueError:
            report = Report.USAGE
        groups = [g for g in (query.get("by", "model"), query.get("then", "")) if g]
        params = {"group_by": ",".join(groups), "since": query.get("since", "24h") or "24h"}
        for name in DIMENSIONS:
            value = query.get(f"f_{name}", "").strip()
            if value:
                params[name] = value
        return report, params

    async def explorer(self, visit: Visit) -> Response:
        report, params = self._params(visit)
        error = None
        rows: list[UsageRow] = []
        try:
            rows = await self._run(visit, report, params)
        except AnalyticsQueryError as exc:
            error = str(exc)
        groups = params["group_by"].split(",")
        metric = visit.request.query_params.get("metric", "requests")
        if metric not in FIGURES:
            metric = "requests"
        fmt = dollars if metric == "cost_microdollars" else (lambda v: f"{v:,.0f}")
        names = await self._names(rows)
        points = [(self._shown(r, groups, names), _figure(r, metric)) for r in rows]
        return self.console.page(
            "usage.html" if not visit.htmx else "usage_result.html",
            visit,
            status=400 if error else 200,
            report=report.value,
            reports=[r.value for r in Report],
            params=params,
            groups=groups,
            dimensions=DIMENSIONS,
            windows=WINDOWS,
            figures=FIGURES,
            metric=metric,
            rows=rows,
            names=names,
            error=error,
            chart=bar_chart(metric, points, fmt=fmt, label_every=max(1, len(points) // 8)),
            query=str(visit.request.query_params),
        )

    async def csv(self, visit: Visit) -> Response:
        report, params = self._params(visit)
        try:
            rows = await self._run(visit, report, params)
        except AnalyticsQueryError as exc:
            return self.console.page("error.html", visit, status=400, message=str(exc))
        groups = params["group_by"].split(",")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([*groups, *FIGURES])
        for row in rows:
            values = row.as_dict()
            writer.writerow([values.get(g) for g in groups] + [values[f] for f in FIGURES])
        return secured(
            Response(
                out.getvalue(),
                media_type="text/csv",
                headers={"content-disposition": f'attachment; filename="{report.value}.csv"'},
            )
        )
