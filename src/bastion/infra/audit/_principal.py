"""The principal every audit row carries: one set of columns, one mapping from a
``RequestContext`` to their values.

Every audit table that records who made a request (``governance_decisions``,
``ai_requests``, ``mcp_tool_executions``, an extension's own) builds its principal columns
with ``principal_columns()`` and its row with ``principal_row()``, so an id that fits one
table fits every table (``bastion audit trace`` finds it in each). The widths are the
widest any table had before issue 21, so widening never refuses a stored value; the
identity middleware admits caller-chosen trace, session and client ids of up to 128
characters, which ``governance_decisions.trace_id`` (64) could not hold. ``agent_id``,
``task_id`` and ``context_id`` are set on the rows an A2A agent's task produces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypedDict

from sqlalchemy import Column, String

from bastion.infra.audit._rows import AuditEventRow
from bastion.kernel.context import RequestContext

PRINCIPAL_WIDTHS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "trace_id": 128,
        "user_id": 128,
        "tenant_id": 128,
        "api_key_id": 128,
        "client_id": 255,
        "session_id": 128,
        "agent_id": 64,
        "task_id": 128,
        "context_id": 128,
    }
)
"""Column name -> ``VARCHAR`` length, in the order ``principal_columns()`` returns them."""

PRINCIPAL_COLUMNS: Final[tuple[str, ...]] = tuple(PRINCIPAL_WIDTHS)


class PrincipalRow(TypedDict):
    """The principal columns of one audit row."""

    trace_id: str
    user_id: str | None
    tenant_id: str | None
    api_key_id: str | None
    client_id: str | None
    session_id: str | None
    agent_id: str | None
    task_id: str | None
    context_id: str | None


def principal_columns(
    *,
    prefix: str = "",
    names: Iterable[str] = PRINCIPAL_COLUMNS,
    trace_id_nullable: bool = False,
) -> list[Column[str]]:
    """Fresh ``Column`` objects for the principal columns (a ``Column`` belongs to one
    table, so every call builds new ones), each ``VARCHAR`` of its one width.

    ``names`` picks a subset, in the canonical order whatever order it is given in;
    ``prefix`` renames them (``audit_events`` has ``actor_user_id``), keeping the width.
    ``trace_id`` is ``NOT NULL`` (every governed request has a trace) unless
    ``trace_id_nullable``; the other columns are nullable.
    """
    wanted = set(names)
    unknown = wanted - PRINCIPAL_WIDTHS.keys()
    if unknown:
        raise ValueError(f"not principal columns: {sorted(unknown)}")
    return [
        Column(
            prefix + name,
            String(width),
            nullable=not (name == "trace_id" and not trace_id_nullable),
        )
        for name, width in PRINCIPAL_WIDTHS.items()
        if name in wanted
    ]


def principal_row(principal: RequestContext) -> PrincipalRow:
    """The values of ``principal_columns()`` for one request."""
    return {
        "trace_id": principal.trace_id,
        "user_id": principal.user_id,
        "tenant_id": principal.tenant_id,
        "api_key_id": principal.api_key_id,
        "client_id": principal.client_id,
        "session_id": principal.session_id,
        "agent_id": principal.agent_id,
        "task_id": principal.task_id,
        "context_id": principal.context_id,
    }


def audit_event_row(
    principal: RequestContext | None,
    *,
    event_type: str,
    action: str,
    details: dict[str, Any],
    subject: str | None = None,
) -> AuditEventRow:
    """An ``audit_events`` row. Its principal columns are the acting user and tenant
    (``principal_columns(prefix="actor_", names=("user_id", "tenant_id"))``) and the
    trace, all ``None`` for an action without a caller (a CLI command, a job)."""
    return {
        "event_type": event_type,
        "actor_user_id": None if principal is None else principal.user_id,
        "actor_tenant_id": None if principal is None else principal.tenant_id,
        "subject": subject,
        "action": action,
        "details": details,
        "trace_id": None if principal is None else principal.trace_id,
    }


def admin_event_row(
    actor: RequestContext | None,
    action: str,
    subject: str,
    details: Mapping[str, object] | None = None,
) -> AuditEventRow:
    """The ``audit_events`` row of an operator's action: ``event_type`` is
    ``admin.<action>``; ``details`` carry ``source``, ``api`` for a caller of the admin
    API (whose user, tenant and trace fill the actor columns), ``cli`` without one."""
    return audit_event_row(
        actor,
        event_type=f"admin.{action}",
        subject=subject,
        action=action,
        details={"source": "cli" if actor is None else "api", **(details or {})},
    )
