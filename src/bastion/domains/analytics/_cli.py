"""``bastion analytics``: usage, denials, tool calls and the top spenders, as a table that
fits 80 columns (long values shortened with ``…``; ``--json`` and ``--csv`` carry them
whole), and the rollup job run by hand."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence

import orjson
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from bastion.domains.analytics._sources import SOURCES
from bastion.infra.commands import command_context, fail, out, run
from bastion.kernel.analytics import (
    ANALYTICS,
    DIMENSIONS,
    AnalyticsQuery,
    AnalyticsQueryError,
    Report,
    RollupResult,
    UsageRow,
    Viewer,
)

app = typer.Typer(help="Usage, cost, denials and tool calls over any window.", no_args_is_help=True)

TABLE_WIDTH = 80
SINCE = typer.Option("24h", "--since", help="Start: a duration back (30m, 24h, 7d) or ISO.")
UNTIL = typer.Option(None, "--until", help="End (default now): a duration back or ISO.")
FILTERS = typer.Option([], "--filter", "-f", help="DIMENSION=VALUE, e.g. tenant=acme; repeatable.")
LIMIT = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many rows.")
AS_JSON = typer.Option(False, "--json", help="Print JSON (values whole) instead of a table.")
AS_CSV = typer.Option(False, "--csv", help="Print CSV (values whole) instead of a table.")

_TOP: dict[str, tuple[Report, str]] = {
    "users": (Report.USAGE, "user"),
    "models": (Report.USAGE, "model"),
    "tenants": (Report.USAGE, "tenant"),
    "keys": (Report.USAGE, "api_key"),
    "clients": (Report.USAGE, "client"),
    "providers": (Report.USAGE, "provider"),
    "routes": (Report.USAGE, "route"),
    "tools": (Report.TOOLS, "tool"),
    "rules": (Report.DENIALS, "rule"),
}


def _count(n: int) -> str:
    if n < 100_000:
        return str(n)
    if n < 10_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.0f}M"


def _tokens(n: int) -> str:
    if n < 10_000:
        return str(n)
    if n < 10_000_000:
        return f"{n / 1000:.1f}k"
    if n < 10_000_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n / 1_000_000_000:.1f}G"


def _cost(microdollars: int) -> str:
    dollars = microdollars / 1_000_000
    if dollars >= 100_000:
        return f"${dollars / 1000:.0f}k"
    if dollars >= 1:
        return f"${dollars:.2f}"
    return f"${dollars:.4f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.2f}"
    if value < 1000:
        return f"{value:.0f}"
    if value < 60_000:
        return f"{value / 1000:.1f}s"
    return f"{value / 60_000:.1f}m"


def _short(value: str, width: int) -> str:
    return value if len(value) <= width else value[: max(1, width - 1)] + "…"


def _metrics(row: UsageRow, report: Report) -> list[str]:
    cells = [_count(row.requests), _count(row.denied), _count(row.errors)]
    if report is Report.USAGE:
        tokens = row.input_tokens + row.output_tokens + row.cache_read_tokens
        cells += [_tokens(tokens + row.cache_write_tokens), _cost(row.cost_microdollars)]
    return [*cells, _ms(row.latency_p50_ms), _ms(row.latency_p95_ms)]


def _headers(report: Report) -> list[str]:
    heads = ["reqs", "deny", "err"]
    if report is Report.USAGE:
        heads += ["tokens", "cost"]
    return [*heads, "p50 ms", "p95 ms"]


def table(query: AnalyticsQuery, rows: Sequence[UsageRow], width: int = TABLE_WIDTH) -> Table:
    """The rows as a table no wider than ``width``: the figures whole, the group values
    shortened to share what is left."""
    heads = _headers(query.report)
    metrics = [_metrics(row, query.report) for row in rows]
    metric_widths = [max(len(h), *(len(m[i]) for m in metrics)) for i, h in enumerate(heads)]
    columns = len(query.group_by) + len(heads)
    # No edges and no vertical rules: two spaces between columns (a collapsed padding
    # and the blank rule), none at the ends.
    room = width - sum(metric_widths) - 2 * (columns - 1)
    share = max(4, room // len(query.group_by))
    groups = [
        [_short(v if v is not None else "-", share) for v in row.group.values()] for row in rows
    ]
    since = query.since.strftime("%Y-%m-%d %H:%M")
    until = query.until.strftime("%Y-%m-%d %H:%M")
    result = Table(
        title=f"{query.report.value} by {', '.join(query.group_by)}, {since} to {until} UTC",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, 1),
        title_justify="left",
    )
    for i, name in enumerate(query.group_by):
        widest = max(len(name), *(len(g[i]) for g in groups)) if groups else len(name)
        result.add_column(name, no_wrap=True, max_width=min(share, widest), overflow="ellipsis")
    for head, widest in zip(heads, metric_widths, strict=True):
        result.add_column(head, justify="right", no_wrap=True, min_width=widest)
    for group, metric in zip(groups, metrics, strict=True):
        result.add_row(*group, *metric)
    return result


def _print(query: AnalyticsQuery, rows: list[UsageRow], *, as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise fail("--json and --csv: pick one")
    if as_json:
        sys.stdout.write(orjson.dumps([row.as_dict() for row in rows]).decode() + "\n")
        return
    if as_csv:
        fields = [*query.group_by, *UsageRow.__slots__[1:]]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row.as_dict())
        return
    if not rows:
        out.print("(none)")
        return
    Console(width=TABLE_WIDTH, soft_wrap=False).print(table(query, rows))


def _report(
    ctx: typer.Context,
    report: Report,
    by: str | None,
    since: str,
    until: str | None,
    filters: list[str],
    limit: int,
) -> tuple[AnalyticsQuery, list[UsageRow]]:
    params: dict[str, str] = {"since": since, "limit": str(limit)}
    if by is not None:
        params["group_by"] = by
    if until is not None:
        params["until"] = until
    for spec in filters:
        name, sep, value = spec.partition("=")
        if not sep or not name:
            raise fail(f"--filter {spec!r}: expected DIMENSION=VALUE")
        if name in params:
            raise fail(f"--filter {name}: given more than once")
        params[name] = value
    bastion = command_context(ctx)

    async def go() -> tuple[AnalyticsQuery, list[UsageRow]]:
        async with bastion.platform(mount=False) as p:
            analytics = p.service(ANALYTICS)
            try:
                query = analytics.query(report, params)
            except AnalyticsQueryError as exc:
                raise fail(str(exc)) from None
            return query, await analytics.run(query, Viewer.everything())

    return run(go)


def _report_command(report: Report, default: str, summary: str) -> None:
    """Register ``bastion analytics <report>``: one grouping of one report, its help
    listing the dimensions the report knows (the same list its errors give)."""
    dimensions = ", ".join(d for d in DIMENSIONS if SOURCES[report].knows(d))

    def command(
        ctx: typer.Context,
        by: str = typer.Option(
            default, "--by", help=f"One or two of: {dimensions} (comma separated)."
        ),
        since: str = SINCE,
        until: str | None = UNTIL,
        filters: list[str] = FILTERS,
        limit: int = LIMIT,
        as_json: bool = AS_JSON,
        as_csv: bool = AS_CSV,
    ) -> None:
        query, rows = _report(ctx, report, by, since, until, filters, limit)
        _print(query, rows, as_json=as_json, as_csv=as_csv)

    command.__doc__ = summary
    app.command(report.value)(command)


_report_command(Report.USAGE, "model", "Gateway requests, tokens and cost, grouped.")
_report_command(Report.DENIALS, "rule", "Governance denials, grouped.")
_report_command(Report.TOOLS, "tool", "MCP tool calls, grouped.")


@app.command("top")
def top(
    ctx: typer.Context,
    what: str = typer.Argument(..., help=f"One of: {', '.join(_TOP)}."),
    since: str = SINCE,
    until: str | None = UNTIL,
    filters: list[str] = FILTERS,
    limit: int = typer.Option(10, "--limit", min=1, max=10_000, help="How many."),
    as_json: bool = AS_JSON,
    as_csv: bool = AS_CSV,
) -> None:
    """The biggest spenders (or most refused, or most called): `top users`."""
    if what not in _TOP:
        raise fail(f"top {what!r}: expected one of {', '.join(_TOP)}")
    report, by = _TOP[what]
    query, rows = _report(ctx, report, by, since, until, filters, limit)
    _print(query, rows, as_json=as_json, as_csv=as_csv)


def _rollup_line(result: RollupResult) -> str:
    mark = "none" if result.watermark is None else result.watermark.isoformat()
    return (
        f"rolled up {result.hours_rolled} hour(s), recomputed {result.hours_repaired}; "
        f"watermark {mark}"
    )


@app.command("rollup")
def rollup(ctx: typer.Context) -> None:
    """Run the usage-rollup job now (what the scheduler runs every minute)."""
    bastion = command_context(ctx)

    async def go() -> RollupResult:
        async with bastion.platform(mount=False) as p:
            return await p.service(ANALYTICS).roll_up()

    out.print(_rollup_line(run(go)), highlight=False)


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    since: str = typer.Option(..., "--since", help="From when: a duration back or ISO."),
) -> None:
    """Recompute the rolled-up hours from SINCE on from the raw rows.

    For audit rows restored later than the job's reconcile window."""
    bastion = command_context(ctx)

    async def go() -> RollupResult:
        async with bastion.platform(mount=False) as p:
            analytics = p.service(ANALYTICS)
            try:
                start = analytics.query(Report.USAGE, {"since": since}).since
            except AnalyticsQueryError as exc:
                raise fail(str(exc)) from None
            return await analytics.rebuild(start)

    out.print(_rollup_line(run(go)), highlight=False)


__all__ = ["app"]
