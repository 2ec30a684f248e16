"""``AuditSearch`` (the ``AUDIT_SEARCH`` platform service behind ``bastion audit`` and the
admin API) on each backend: filters, a cursor that pages through rows sharing one
timestamp without loss or repeat, the time window, and traces scoped to a tenant."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bastion.infra.audit import AuditFilter, AuditKind, audit_events, governance_decisions
from bastion.infra.services import AUDIT_SEARCH
from bastion.kernel.errors import InvalidInputError, NotFoundError
from tests.support.platforms import booted

AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def decision(n: int, *, user: str, tenant: str, verdict: str, at: dt.datetime) -> dict:
    return {
        "id": f"dec-{n:03d}",
        "trace_id": f"trace-{n % 4}",
        "user_id": user,
        "tenant_id": tenant,
        "tier": "user",
        "target_type": "route",
        "decision": verdict,
        "stage": "blocklist" if verdict == "deny" else None,
        "rule": "blocklist.words" if verdict == "deny" else None,
        "trace": [],
        "duration_us": 5,
        "created_at": at,
    }


async def test_search_filters_pages_and_traces(db_url: str, tmp_path: Path) -> None:
    async with booted(tmp_path, db_url) as platform:
        rows = [
            decision(
                n,
                user="usr_a" if n % 2 else "usr_b",
                tenant="acme" if n % 2 else "globex",
                verdict="deny" if n % 3 == 0 else "allow",
                # Five rows per instant: the cursor must break ties by id.
                at=AT + dt.timedelta(seconds=n // 5),
            )
            for n in range(20)
        ]
        async with platform.engine.begin() as conn:
            await conn.execute(governance_decisions.insert(), rows)
            await conn.execute(
                audit_events.insert(),
                [
                    {
                        "id": "evt-1",
                        "event_type": "admin.user.create",
                        "actor_user_id": "usr_a",
                        "actor_tenant_id": "acme",
                        "subject": "usr_new",
                        "action": "user.create",
                        "details": {"source": "api"},
                        "trace_id": "trace-1",
                        "created_at": AT,
                    }
                ],
            )
        search = platform.service(AUDIT_SEARCH)
        assert set(search.kinds()) == set(AuditKind)

        acme = await search.search(AuditKind.DECISIONS, AuditFilter(tenant="acme"), limit=500)
        assert {r["id"] for r in acme.rows} == {r["id"] for r in rows if r["tenant_id"] == "acme"}
        assert acme.next_cursor is None
        denied = await search.search(
            AuditKind.DECISIONS, AuditFilter(status="deny", rule="blocklist.words", user="usr_b")
        )
        assert {r["id"] for r in denied.rows} == {"dec-000", "dec-006", "dec-012", "dec-018"}
        window = await search.search(
            AuditKind.DECISIONS,
            AuditFilter(since=AT + dt.timedelta(seconds=1), until=AT + dt.timedelta(seconds=2)),
        )
        assert [r["id"] for r in window.rows] == [f"dec-{n:03d}" for n in range(9, 4, -1)]
        assert window.rows[0]["created_at"] == AT + dt.timedelta(seconds=1)

        seen: list[str] = []
        cursor = None
        while True:
            page = await search.search(AuditKind.DECISIONS, limit=3, cursor=cursor)
            seen.extend(r["id"] for r in page.rows)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [f"dec-{n:03d}" for n in range(19, -1, -1)]

        [event] = (await search.search(AuditKind.ADMIN_EVENTS, AuditFilter(user="usr_a"))).rows
        assert event["details"] == {"source": "api"}
        with pytest.raises(InvalidInputError, match="admin_events have no stage"):
            await search.search(AuditKind.ADMIN_EVENTS, AuditFilter(stage="x"))
        with pytest.raises(InvalidInputError, match="cursor"):
            await search.search(AuditKind.DECISIONS, cursor="garbage")
        with pytest.raises(InvalidInputError, match="limit"):
            await search.search(AuditKind.DECISIONS, limit=501)

        traced = await search.trace("trace-1")
        assert {r["table"] for r in traced} == {"governance_decisions", "audit_events"}
        assert [r["created_at"] for r in traced] == sorted(r["created_at"] for r in traced)
        assert await search.trace("trace-1", tenant="acme") == traced
        assert await search.trace("trace-1", tenant="globex") == []
        assert await search.trace("trace-2", tenant="acme") == []  # globex's rows
        assert await search.trace("nothing") == []


async def test_a_kind_whose_table_is_not_registered_is_absent(db_url: str, tmp_path: Path) -> None:
    profile = {"extensions": {"disabled": ["gateway", "agents", "analytics", "console"]}}
    async with booted(tmp_path, db_url, profile) as platform:
        search = platform.service(AUDIT_SEARCH)
        assert AuditKind.REQUESTS not in search.kinds()
        with pytest.raises(NotFoundError, match="no requests are recorded here"):
            await search.search(AuditKind.REQUESTS)
