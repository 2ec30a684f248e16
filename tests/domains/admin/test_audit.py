"""``/audit``: requests sent with the official anthropic SDK by two users of two tenants
(one refused by the secret scanner) are found by user, tenant, status, stage, rule and
time window, a page at a time; a trace gathers its rows from every table; a tenant admin
sees its own tenant's only."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import pytest

from tests.domains.admin.conftest import ADMIN, Bastion, unique
from tests.fakes.mcp_servers import aws_access_key_id


@dataclass
class Traffic:
    alice: dict[str, Any]
    bob: dict[str, Any]
    tenant_a: str
    tenant_b: str
    traces: dict[str, list[str]]
    denied_trace: str


def wait_rows(bastion: Bastion, kind: str, want: int, **params: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        rows = bastion.admin("GET", f"/audit/{kind}", params={**params, "limit": 500}).json()
        if len(rows["rows"]) >= want or time.monotonic() > deadline:
            return list(rows["rows"])
        time.sleep(0.05)


@pytest.fixture(scope="module")
def traffic(bastion: Bastion) -> Traffic:
    tenant_a, tenant_b = unique("north"), unique("south")
    users, traces = {}, {}
    for who, tenant, calls in (("alice", tenant_a, 3), ("bob", tenant_b, 2)):
        user = bastion.admin(
            "POST", "/users", json={"name": unique(who), "role": "user", "tenant": tenant}
        ).json()
        secret = bastion.admin("POST", "/keys", json={"user": user["id"], "name": "k"}).json()
        client = anthropic.Anthropic(base_url=bastion.url, api_key=secret["secret"], max_retries=0)
        traces[who] = []
        for _ in range(calls):
            trace = secrets.token_hex(16)
            client.messages.create(
                model="claude-test",
                max_tokens=8,
                messages=[{"role": "user", "content": "hello"}],
                extra_headers={"x-trace-id": trace},
            )
            traces[who].append(trace)
        users[who] = {**user, "client": client}
    denied = secrets.token_hex(16)
    with pytest.raises(anthropic.PermissionDeniedError):
        users["bob"]["client"].messages.create(
            model="claude-test",
            max_tokens=8,
            messages=[{"role": "user", "content": f"my key is {aws_access_key_id()}"}],
            extra_headers={"x-trace-id": denied},
        )
    wait_rows(bastion, "requests", 3, tenant=tenant_a)
    wait_rows(bastion, "requests", 3, tenant=tenant_b)
    return Traffic(users["alice"], users["bob"], tenant_a, tenant_b, traces, denied)


def test_requests_by_user_tenant_and_status(bastion: Bastion, traffic: Traffic) -> None:
    alice = wait_rows(bastion, "requests", 3, user=traffic.alice["id"])
    assert sorted(r["trace_id"] for r in alice) == sorted(traffic.traces["alice"])
    assert {(r["user_id"], r["tenant_id"], r["outcome"]) for r in alice} == {
        (traffic.alice["id"], traffic.tenant_a, "success")
    }
    created = [r["created_at"] for r in alice]
    assert created == sorted(created, reverse=True)  # newest first
    south = wait_rows(bastion, "requests", 3, tenant=traffic.tenant_b)
    assert {r["user_id"] for r in south} == {traffic.bob["id"]}
    denied = wait_rows(bastion, "requests", 1, tenant=traffic.tenant_b, status="denied")
    assert [r["trace_id"] for r in denied] == [traffic.denied_trace]
    by_http = wait_rows(bastion, "requests", 1, tenant=traffic.tenant_b, status="403")
    assert [r["trace_id"] for r in by_http] == [traffic.denied_trace]
    ok = wait_rows(bastion, "requests", 2, tenant=traffic.tenant_b, status="success")
    assert sorted(r["trace_id"] for r in ok) == sorted(traffic.traces["bob"])


def test_decisions_by_status_stage_and_rule(bastion: Bastion, traffic: Traffic) -> None:
    [deny] = wait_rows(bastion, "decisions", 1, tenant=traffic.tenant_b, status="deny")
    assert (deny["trace_id"], deny["stage"]) == (traffic.denied_trace, "secret_scan")
    assert isinstance(deny["trace"], list)  # the per-stage trace, as JSON
    same = wait_rows(
        bastion, "decisions", 1, tenant=traffic.tenant_b, stage="secret_scan", rule=deny["rule"]
    )
    assert [r["id"] for r in same] == [deny["id"]]
    allowed = wait_rows(bastion, "decisions", 3, user=traffic.alice["id"], status="allow")
    assert {r["trace_id"] for r in allowed} == set(traffic.traces["alice"])
    assert wait_rows(bastion, "decisions", 0, user=traffic.alice["id"], status="deny") == []


def test_admin_events_by_actor_and_type(bastion: Bastion, traffic: Traffic) -> None:
    events = wait_rows(bastion, "admin_events", 1, status="admin.key.issue", user="usr_root")
    subjects = {e["subject"] for e in events}
    assert {traffic.alice["id"], traffic.bob["id"]} <= subjects
    assert all(e["details"]["source"] == "api" for e in events)


def test_time_window_and_pages(bastion: Bastion, traffic: Traffic) -> None:
    assert len(wait_rows(bastion, "requests", 3, user=traffic.alice["id"], since="1h")) == 3
    past = bastion.admin(
        "GET", "/audit/requests", params={"user": traffic.alice["id"], "until": "2020-01-01"}
    )
    assert past.json()["rows"] == []
    seen: list[str] = []
    params: dict[str, Any] = {"tenant": traffic.tenant_a, "limit": 2}
    while True:
        page = bastion.admin("GET", "/audit/requests", params=params).json()
        seen.extend(r["id"] for r in page["rows"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 3


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/audit/nothing", {}, 404, "no audit kind 'nothing'"),
        ("/audit/requests", {"stage": "x"}, 400, "stage: requests have no stage"),
        ("/audit/requests", {"since": "yesterday"}, 400, "since: Value error, use a duration"),
        ("/audit/requests", {"limit": 501}, 400, "limit: Input should be less than"),
        ("/audit/requests", {"cursor": "!!"}, 400, "cursor: not a cursor this API returned"),
        ("/audit/requests", {"since": "1h", "until": "2h"}, 400, "since: must be before until"),
        ("/audit/requests", {"color": "red"}, 400, "color: Extra inputs are not permitted"),
        ("/audit/traces/nope", {}, 404, "nothing recorded for trace 'nope'"),
    ],
)
def test_bad_searches(
    bastion: Bastion, path: str, params: dict[str, Any], status: int, message: str
) -> None:
    answer = bastion.admin("GET", path, params=params)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"].startswith(message)


def test_a_trace_gathers_every_table(bastion: Bastion, traffic: Traffic) -> None:
    answer = bastion.admin("GET", f"/audit/traces/{traffic.denied_trace}")
    assert answer.status_code == 200, answer.text
    tables = [r["table"] for r in answer.json()["rows"]]
    assert {"governance_decisions", "ai_requests"} <= set(tables)
    assert all(r["trace_id"] == traffic.denied_trace for r in answer.json()["rows"])


def test_a_tenant_admin_searches_its_own_tenant(bastion: Bastion, traffic: Traffic) -> None:
    admin = bastion.admin(
        "POST",
        "/users",
        json={"name": unique("ta"), "role": "tenant-admin", "tenant": traffic.tenant_a},
    ).json()
    token = bastion.admin("POST", "/tokens", json={"user": admin["id"]}).json()["token"]
    mine = bastion.call("GET", ADMIN + "/audit/requests", token=token).json()["rows"]
    assert {r["tenant_id"] for r in mine} == {traffic.tenant_a}
    other = bastion.call(
        "GET", ADMIN + "/audit/requests", token=token, params={"tenant": traffic.tenant_b}
    )
    assert other.status_code == 403
    own_trace = traffic.traces["alice"][0]
    assert bastion.call("GET", ADMIN + f"/audit/traces/{own_trace}", token=token).status_code == 200
    foreign = bastion.call("GET", ADMIN + f"/audit/traces/{traffic.denied_trace}", token=token)
    assert foreign.status_code == 404
