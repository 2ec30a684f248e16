"""Every refused admin call is an ``audit_events`` row (``admin.refused``): the guard's
401/403 and the endpoints' 400/403/404/409 alike, so probing the admin API leaves a
trail. The row names the method, the path (a whole API key pasted into it shows only its
prefix), the status and the reason; never a body."""

from __future__ import annotations

from bastion.infra.audit import AuditTrail, admin_event_row
from bastion.kernel.context import RequestContext
from bastion.kernel.contract import RefusedRequest


def shown_path(path: str) -> str:
    parts = []
    for part in path[:255].split("/"):
        pieces = part.split("_")
        parts.append(f"bst_{pieces[1]}_…" if part.startswith("bst_") and len(pieces) > 2 else part)
    return "/".join(parts)


class RefusalRecorder:
    def __init__(self, audit: AuditTrail) -> None:
        self._audit = audit

    async def record(
        self, principal: RequestContext, method: str, path: str, status: int, reason: str
    ) -> None:
        actor = principal if principal.user_id is not None else None
        await self._audit.record_event(
            admin_event_row(
                actor,
                "refused",
                shown_path(path),
                {
                    "source": "api",
                    "method": method,
                    "status": status,
                    "reason": reason[:500],
                    "trace_id": principal.trace_id,
                },
            )
        )

    async def refused(self, request: RefusedRequest) -> None:
        """The router's ``on_refused``: what the core's guard answered itself."""
        await self.record(
            request.principal, request.method, request.path, request.status, request.reason
        )
