from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson
import typer
from sqlalchemy import MetaData as _MetaData
from sqlalchemy import Table, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.cli._common import JSON_OPTION, emit, fail, platform, run
from bastion.infra.audit import audit_events, governance_decisions

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


def _plain(row: dict[Any, Any]) -> dict[str, Any]:
    # Column names come back as ``quoted_name`` (a str subclass orjson refuses as a key).
    return {
        str(k): orjson.loads(v) if k in ("trace", "details") and isinstance(v, str) else v
        for k, v in row.items()
    }


@app.command()
def decisions(
    denied: bool = typer.Option(False, "--denied", help="Only denies."),
    since: str | None = typer.Option(None, "--since", help="Only newer than e.g. 1h, 7d."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Governance decisions (allow and deny) with stage, rule and reason."""
    cutoff = parse_since(since)

    async def go() -> list[dict[str, Any]]:
        t = governance_decisions
        query = select(t).order_by(t.c.created_at.desc()).limit(limit)
        if denied:
            query = query.where(t.c.decision == "deny")
        if cutoff is not None:
            query = query.where(t.c.created_at >= cutoff)
        async with platform(mount=False) as p, p.engine.connect() as conn:
            rows = [_plain(dict(r)) for r in (await conn.execute(query)).mappings()]
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
    cutoff = parse_since(since)

    async def go() -> list[dict[str, Any]]:
        t = audit_events
        query = select(t).order_by(t.c.created_at.desc()).limit(limit)
        if cutoff is not None:
            query = query.where(t.c.created_at >= cutoff)
        async with platform(mount=False) as p, p.engine.connect() as conn:
            rows = [_plain(dict(r)) for r in (await conn.execute(query)).mappings()]
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


async def _traced_tables(conn: AsyncConnection) -> list[Table]:
    """Every table with ``trace_id`` and ``created_at`` columns, whoever owns it."""

    def reflect(sync_conn: Any) -> list[Table]:
        inspector = inspect(sync_conn)
        found: list[Table] = []
        metadata = _MetaData()
        for name in sorted(inspector.get_table_names()):
            columns = {c["name"] for c in inspector.get_columns(name)}
            if {"trace_id", "created_at"} <= columns:
                found.append(Table(name, metadata, autoload_with=sync_conn))
        return found

    return await conn.run_sync(reflect)


@app.command()
def trace(
    trace_id: str = typer.Argument(..., metavar="TRACE_ID"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Everything linked by one trace id, in time order: identity, decisions, requests,
    tool executions, admin events."""

    async def go() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async with platform(mount=False) as p, p.engine.connect() as conn:
            for table in await _traced_tables(conn):
                query = select(table).where(table.c.trace_id == trace_id)
                for row in (await conn.execute(query)).mappings():
                    found.append({"table": table.name, **_plain(dict(row))})
        found.sort(key=lambda r: str(r["created_at"]))
        if not found:
            raise fail(f"nothing recorded for trace {trace_id}")
        if as_json:
            return found
        return [
            {
                "created_at": r["created_at"],
                "table": r["table"],
                "summary": ", ".join(
                    f"{k}={v}"
                    for k, v in r.items()
                    if k not in ("table", "created_at", "id", "trace_id", "trace", "details")
                    and v not in (None, "")
                ),
            }
            for r in found
        ]

    emit(run(go), as_json=as_json, title=f"Trace {trace_id}")
