"""End to end: requests sent with the official anthropic and openai SDKs as two users on
two models through a running Bastion (the gateway's shared server, SQLite and
PostgreSQL), then read back over ``/api/v1/analytics`` and ``bastion analytics``: counts,
tokens and cost equal the ``ai_requests`` rows; admin, tenant admin and user each see
what they may; bad parameters are 400s."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from bastion.extension import INFERENCE
from bastion.infra.audit import audit_events
from bastion.infra.db import create_engine
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, TraceId, UserId
from tests.domains.gateway.conftest import (  # noqa: F401 (fixtures)
    ROLES,
    Gateway,
    backend_url,
    cli,
    db_reader,
    new_trace,
    shared_gateway,
    upstreams,
)
from tests.fakes import Reply, TokenUsage

ASK = [{"role": "user", "content": "Count the invoices."}]


@dataclass
class Traffic:
    gw: Gateway
    since: str
    users: dict[str, str]  # name -> user id
    keys: dict[str, str]  # name -> API key
    rows: list[dict[str, Any]]  # the ai_requests rows the traffic wrote
    tag: str  # what makes this run's user and tenant names unique

    def get(self, report: str, key: str | None, **params: str) -> httpx.Response:
        headers = {} if key is None else {"x-api-key": self.keys.get(key, key)}
        return httpx.get(
            f"{self.gw.url}/api/v1/analytics/{report}",
            params={"since": self.since, **params},
            headers=headers,
            timeout=30,
        )

    def cli(self, *args: str) -> str:
        return cli(self.gw.server.profile_dir, "analytics", *args, "--since", self.since)


def _user(gw: Gateway, name: str, role: str, tenant: str) -> tuple[str, str]:
    profile = gw.server.profile_dir
    user_id = cli(profile, "admin", "users", "create", name, "--role", role, "--tenant", tenant)
    return user_id, cli(profile, "admin", "keys", "issue", name, "--name", "analytics")


@pytest.fixture(scope="module")
def traffic(shared_gateway: Gateway) -> Iterator[Traffic]:  # noqa: F811
    gw = shared_gateway
    gw.up.reset()
    # A window that starts mid-hour, so both the raw and (once rolled) the rollup paths count.
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    tag = new_trace("an")[-5:]
    users, keys = {}, {"admin": gw.keys["admin"]}
    for name, role, tenant in [
        ("ann", "user", "east"),
        ("ben", "user", "west"),
        ("tia", "tenant-admin", "east"),
    ]:
        users[name], keys[name] = _user(gw, f"{name}-{tag}", role, f"{tenant}-{tag}")
    sent = 0
    for name, n_claude, n_gpt in [("ann", 3, 2), ("ben", 1, 2)]:
        for i in range(n_claude):
            gw.up.anthropic.enqueue(Reply(text="42.", usage=TokenUsage(1000 + i, 200 + i, 50)))
            gw.anthropic(keys[name]).messages.create(
                model="claude-sonnet-4-5", max_tokens=300, messages=ASK
            )
        for i in range(n_gpt):
            gw.up.openai.enqueue(Reply(text="42.", usage=TokenUsage(700 + i, 90 + i)))
            gw.openai(keys[name]).chat.completions.create(model="gpt-4o", messages=ASK)
        sent += n_claude + n_gpt
    # A route the user role may not use: a denied request, with its governance decision.
    refused = gw.post(
        "/v1/messages",
        {"model": "restricted-model", "max_tokens": 5, "messages": ASK},
        key=keys["ann"],
    )
    assert refused.status_code == 403
    sent += 1
    deadline = time.monotonic() + 20
    while True:
        rows = [r for uid in users.values() for r in gw.rows(user_id=uid)]
        if len(rows) >= sent or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(rows) == sent
    yield Traffic(gw, since, users, keys, rows, tag)


def _expected(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, int]]:
    out: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        figures = out[tuple(r[k] for k in keys)]
        figures["requests"] += 1
        figures["denied"] += r["outcome"] == "denied"
        figures["cost_microdollars"] += r["cost_microdollars"]
        figures["input_tokens"] += r["input_tokens"]
        figures["output_tokens"] += r["output_tokens"]
    return {k: dict(v) for k, v in out.items()}


def _got(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, int]]:
    figures = ("requests", "denied", "cost_microdollars", "input_tokens", "output_tokens")
    return {tuple(r[k] for k in keys): {f: r[f] for f in figures} for r in rows}


def test_admin_sees_every_user_and_model(traffic: Traffic) -> None:
    answer = traffic.get("usage", "admin", group_by="user,model")
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["visibility"] == "all" and doc["group_by"] == ["user", "model"]
    mine = [r for r in doc["rows"] if r["user"] in traffic.users.values()]
    assert _got(mine, "user", "model") == _expected(traffic.rows, "user_id", "requested_model")
    ann, ben = traffic.users["ann"], traffic.users["ben"]
    counts = {(r["user"], r["model"]): r["requests"] for r in mine}
    assert counts == {
        (ann, "claude-sonnet-4-5"): 3,
        (ann, "gpt-4o"): 2,
        (ann, "restricted-model"): 1,
        (ben, "claude-sonnet-4-5"): 1,
        (ben, "gpt-4o"): 2,
    }
    assert all(r["cost_microdollars"] > 0 for r in mine if r["model"] != "restricted-model")


def test_a_user_sees_only_their_own_usage(traffic: Traffic) -> None:
    ann = traffic.users["ann"]
    doc = traffic.get("usage", "ann", group_by="user").json()
    assert doc["visibility"] == "user"
    assert [r["user"] for r in doc["rows"]] == [ann]
    # Asking for someone else's usage narrows to nothing; it never widens.
    other = traffic.get("usage", "ann", group_by="user", user=traffic.users["ben"]).json()
    assert other["rows"] == []


def test_a_tenant_admin_sees_their_tenant(traffic: Traffic) -> None:
    doc = traffic.get("usage", "tia", group_by="tenant,user").json()
    assert doc["visibility"] == "tenant"
    assert {r["user"] for r in doc["rows"]} == {traffic.users["ann"]}
    west = traffic.get("usage", "tia", group_by="user", tenant=f"west-{traffic.tag}").json()
    assert west["rows"] == []


def test_denials_by_rule(traffic: Traffic) -> None:
    doc = traffic.get("denials", "admin", group_by="rule,user").json()
    mine = [r for r in doc["rows"] if r["user"] == traffic.users["ann"]]
    assert sum(r["requests"] for r in mine) == 1 and mine[0]["rule"]
    assert traffic.get("denials", "ben", group_by="rule").json()["rows"] == []


def test_tools_answer(traffic: Traffic) -> None:
    answer = traffic.get("tools", "admin", group_by="mcp_server,tool")
    assert answer.status_code == 200 and answer.json()["report"] == "tools"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"group_by": "colour"}, "unknown dimension"),
        ({"group_by": "tool"}, "does not record it"),
        ({"since": "last week"}, "neither a duration"),
        ({"limit": "-3"}, "limit"),
        ({"until": "2001-01-01"}, "since must be before until"),
    ],
)
def test_bad_parameters_are_400s(traffic: Traffic, params: dict[str, str], message: str) -> None:
    answer = traffic.get("usage", "admin", **params)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]


def test_a_refused_query_is_audited_without_its_values(traffic: Traffic) -> None:
    secret_like = "bst_not_a_real_key_" + traffic.tag
    answer = traffic.get("usage", "ann", group_by="colour", tenant=secret_like)
    assert answer.status_code == 400

    async def events() -> list[dict[str, Any]]:
        engine = create_engine(str(traffic.gw.platform.profile.database.url))
        try:
            async with engine.connect() as conn:
                query = select(audit_events).where(
                    audit_events.c.event_type == "analytics.query_refused",
                    audit_events.c.actor_user_id == traffic.users["ann"],
                )
                return [dict(r._mapping) for r in await conn.execute(query)]
        finally:
            await engine.dispose()

    deadline = time.monotonic() + 10
    while not (rows := traffic.gw.db.run(events())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rows) == 1
    assert rows[0]["details"]["status"] == 400
    assert sorted(rows[0]["details"]["parameters"]) == ["group_by", "since", "tenant"]
    assert secret_like not in str(rows[0])


def test_a_repeated_parameter_is_a_400(traffic: Traffic) -> None:
    answer = httpx.get(
        f"{traffic.gw.url}/api/v1/analytics/usage?group_by=model&group_by=user",
        headers={"x-api-key": traffic.keys["admin"]},
    )
    assert answer.status_code == 400 and "more than once" in answer.text


def test_no_credential_is_a_401(traffic: Traffic) -> None:
    assert traffic.get("usage", None).status_code == 401


def test_cli_json_csv_and_table(traffic: Traffic) -> None:
    rows = orjson.loads(traffic.cli("usage", "--by", "user,model", "--json"))
    mine = [r for r in rows if r["user"] in traffic.users.values()]
    assert _got(mine, "user", "model") == _expected(traffic.rows, "user_id", "requested_model")
    parsed = list(csv.DictReader(io.StringIO(traffic.cli("usage", "--by", "user", "--csv"))))
    by_user = {r["user"]: int(r["requests"]) for r in parsed}
    assert by_user[traffic.users["ann"]] == 6 and by_user[traffic.users["ben"]] == 3
    for args in (
        ("usage", "--by", "user,model"),
        ("usage", "--by", "client,provider"),
        ("denials", "--by", "rule,user"),
        ("tools",),
        ("top", "users"),
    ):
        table = traffic.cli(*args)
        assert table, args
        assert max(len(line) for line in table.splitlines()) <= 80, table
    assert traffic.users["ann"][:8] in traffic.cli("top", "users")


def _as_agent(traffic: Traffic, agent: str, task: str) -> RequestContext:
    """A user's principal as ``agent``'s task acts for it (what the A2A runtime passes to
    ``INFERENCE``)."""
    role = ROLES["user"]
    user = f"usr_agent_owner-{traffic.tag}"
    caller = RequestContext(
        trace_id=TraceId(new_trace("an-agent")),
        tier=role.tier,
        auth_method=AuthMethod.API_KEY,
        user_id=UserId(user),
        tenant_id=TenantId(f"agents-{traffic.tag}"),
        role=RoleName("user"),
        scopes=frozenset(role.scopes),
        api_key_id=ApiKeyId(f"key_agent_owner-{traffic.tag}"),
    )
    return caller.for_task(agent, task, f"ctx-{task}")


def test_usage_by_agent_over_the_api_and_the_cli(traffic: Traffic) -> None:
    gw = traffic.gw
    inference = gw.platform.service(INFERENCE)
    body = {"model": "claude-sonnet-4-5", "max_tokens": 300, "messages": ASK}
    calls = [("triage", 2), ("coder", 1)]
    for agent, n in calls:
        for i in range(n):
            gw.up.anthropic.enqueue(Reply(text="42.", usage=TokenUsage(400 + i, 40 + i)))
            principal = _as_agent(traffic, f"{agent}-{traffic.tag}", f"task-{agent}-{i}")
            assert gw.server.call(inference.create(principal, body)).ok
    owner = f"usr_agent_owner-{traffic.tag}"
    deadline = time.monotonic() + 20
    while len(rows := gw.rows(user_id=owner)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rows) == 3
    want = _expected(rows, "agent_id", "requested_model")

    answer = traffic.get("usage", "admin", group_by="agent,model", user=owner)
    assert answer.status_code == 200, answer.text
    assert _got(answer.json()["rows"], "agent", "model") == want
    triage = f"triage-{traffic.tag}"
    only = traffic.get("usage", "admin", group_by="agent", agent=triage).json()
    assert only["filters"] == {"agent": triage}
    assert [(r["agent"], r["requests"]) for r in only["rows"]] == [(triage, 2)]
    tools = traffic.get("tools", "admin", group_by="agent", agent=triage)
    assert tools.status_code == 200 and tools.json()["rows"] == []

    listed = orjson.loads(
        traffic.cli("usage", "--by", "agent,model", "--filter", f"user={owner}", "--json")
    )
    assert _got(listed, "agent", "model") == want
    table = traffic.cli("usage", "--by", "agent", "--filter", f"agent={triage}")
    assert triage[:6] in table and max(len(line) for line in table.splitlines()) <= 80


def test_rolling_up_changes_no_figure(traffic: Traffic) -> None:
    before = traffic.get("usage", "admin", group_by="user,model").json()["rows"]
    line = cli(traffic.gw.server.profile_dir, "analytics", "rollup")
    assert "watermark" in line
    after = traffic.get("usage", "admin", group_by="user,model").json()["rows"]
    assert after == before
