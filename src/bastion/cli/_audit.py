"""``bastion audit``: a front end of the ``AUDIT_SEARCH`` platform service (as the admin
API's ``/audit`` is)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson
import typer

from bastion.cli._common import JSON_OPTION, emit, fail, out, platform, run
from bastion.infra.audit import POINT_OF_TABLE, AuditFilter, AuditKind, trace_points
from bastion.infra.services import AUDIT_SEARCH

app = typer.Typer(help="Governance decisions, admin events, and everything on one trace.")

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str | None) -> dt.datetime | None:
    """``30m``, ``1h``, ``7d`` -> the UTC instant that long ago."""
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if match is None:
        raise fail(f"--since {value!r}: use a number and a unit, e.g. 30m, 1h, 7d")
    seconds = int(match[1]) * _UNITS[match[2]]
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)


async def _search(kind: AuditKind, where: AuditFilter, limit: int) -> list[dict[str, Any]]:
    async with platform(mount=False) as p:
        return (await p.service(AUDIT_SEARCH).search(kind, where, limit=limit)).rows


@app.command()
def decisions(
    denied: bool = typer.Option(False, "--denied", help="Only denies."),
    since: str | None = typer.Option(None, "--since", help="Only newer than e.g. 1h, 7d."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Governance decisions (allow and deny) with stage, rule and reason."""
    where = AuditFilter(status="deny" if denied else None, since=parse_since(since))

    async def go() -> list[dict[str, Any]]:
        rows = await _search(AuditKind.DECISIONS, where, limit)
        if as_json:
            return rows
        return [
            {
                "created_at": r["created_at"],
                "decision": r["decision"],
                "target": "/".join(
                    x for x in (r["target_type"], r["target_server"], r["target_name"]) if x
                ),
                "stage": r["stage"],
                "rule": r["rule"],
                "reason": r["reason"],
                "user": r["user_id"],
                "trace_id": r["trace_id"],
            }
            for r in rows
        ]

    emit(run(go), as_json=as_json, title="Governance decisions")


@app.command()
def events(
    since: str | None = typer.Option(None, "--since", help="Only newer than e.g. 1h, 7d."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Administrative actions: users, keys, tokens, roles, config."""
    where = AuditFilter(since=parse_since(since))

    async def go() -> list[dict[str, Any]]:
        rows = await _search(AuditKind.ADMIN_EVENTS, where, limit)
        if as_json:
            return rows
        return [
            {
                "created_at": r["created_at"],
                "event_type": r["event_type"],
                "subject": r["subject"],
                "details": orjson.dumps(r["details"]).decode(),
            }
            for r in rows
        ]

    emit(run(go), as_json=as_json, title="Audit events")


_POINT_TITLES = {
    "agent": "2. Agent context",
    "permissions": "3. Permissions",
    "tools": "4. Tool execution",
    "result": "5. Result",
}
_NOT_SUMMARISED = ("table", "created_at", "id", "trace_id", "trace", "details", "document")


def _summary(row: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v}" for k, v in row.items() if k not in _NOT_SUMMARISED and v not in (None, "")
    )


def _fields(found: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in found.items()) or "(none recorded)"


@app.command()
def trace(
    trace_id: str = typer.Argument(..., metavar="TRACE_ID"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Everything linked by one trace id as its five points: identity, agent context
    (an A2A task: its agent, task and context ids), permissions (the governance
    decisions), tool execution and result (model calls, admin events), each in time
    order. ``--json`` prints every row, in time order, with its table."""

    async def go() -> list[dict[str, Any]]:
        async with platform(mount=False) as p:
            found = await p.service(AUDIT_SEARCH).trace(trace_id)
        if not found:
            raise fail(f"nothing recorded for trace {trace_id}")
        return found

    found = run(go)
    if as_json:
        emit(found, as_json=True)
        return
    points = trace_points(found)
    out.print(f"[bold]Trace {trace_id}[/bold]")
    out.print(f"1. Identity: {_fields(points['identity'])}")
    out.print(f"2. Agent context: {_fields(points['agent'])}")
    rows = [
        {
            "point": _POINT_TITLES.get(POINT_OF_TABLE.get(r["table"], ""), "other"),
            "created_at": r["created_at"],
            "table": r["table"],
            "summary": _summary(r),
        }
        for r in sorted(
            found,
            key=lambda r: (
                list(_POINT_TITLES).index(POINT_OF_TABLE[r["table"]])
                if r["table"] in POINT_OF_TABLE
                else len(_POINT_TITLES),
                str(r["created_at"]),
            ),
        )
    ]
    emit(rows, as_json=False)
