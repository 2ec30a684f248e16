"""The governance time budget end to end: a prompt that makes an admin's blocklist rule
slow is denied once the chain runs past ``governance.time_budget_ms``, in the caller's
wire format, with its request row and its decision row, and nothing goes upstream."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
import yaml
from sqlalchemy import select

from bastion.infra.audit import governance_decisions
from tests.domains.gateway.conftest import Gateway, Upstreams, cli, new_trace, start_gateway
from tests.domains.gateway.test_failures import CHAT, MESSAGES, error_of, failed_row
from tests.support import running_server

BUDGET_MS = 100
# Over text of a and b, the DFA of this rule needs ~2^20 states: once RE2's state cache
# is full it thrashes at roughly 0.2-1 µs per byte; over 4 MB a single pass took 0.6 s.
RULE = r"a[ab]{20}c"
_RNG = random.Random(3)
SLOW = "".join(_RNG.choice("ab") for _ in range(4 << 20))


@pytest.fixture(scope="module")
def budget_gateway(
    backend_url: str, upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    profile, reader = start_gateway(
        tmp_path_factory.mktemp("budget-gateway"),
        backend_url.replace("bastion.db", "budget.db"),
        upstreams,
    )
    path = profile.joinpath("profile.yaml")
    doc = yaml.safe_load(path.read_text())
    doc["server"]["max_body_bytes"] = 8 << 20
    doc["governance"]["time_budget_ms"] = BUDGET_MS
    doc["governance"]["blocklist"] = {"content": [{"id": "thrash", "regex": RULE}]}
    path.write_text(yaml.safe_dump(doc))
    try:
        with running_server(profile) as server:
            gateway = Gateway(server, reader, upstreams)
            cli(profile, "admin", "users", "create", "budget-user", "--role", "user")
            gateway.keys["alice"] = cli(
                profile, "admin", "keys", "issue", "budget-user", "--name", "e2e"
            )
            yield gateway
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("ingress", "path", "body"),
    [
        (
            "anthropic",
            MESSAGES,
            {
                "model": "claude-opus-4-5",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": SLOW}],
            },
        ),
        ("openai", CHAT, {"model": "gpt-4o", "messages": [{"role": "user", "content": SLOW}]}),
    ],
)
def test_a_chain_past_its_budget_is_denied_in_the_callers_format(
    budget_gateway: Gateway, ingress: str, path: str, body: dict[str, object]
) -> None:
    gw = budget_gateway
    gw.up.reset()
    trace = new_trace("budget")
    started = time.perf_counter()
    response = gw.post(path, body, trace=trace)
    elapsed = time.perf_counter() - started
    error = error_of(response, ingress, 403)
    assert (error["stage"], error["rule"]) == ("blocklist", "governance.time_budget")
    assert error["reason"].startswith(f"governance time budget of {BUDGET_MS} ms exceeded (")
    # The budget, one 64 KB window of the thrashing rule, and moving 4 MB over HTTP.
    assert elapsed < 1.5, elapsed
    assert gw.up.requests() == []
    failed_row(gw, trace, 403, "denied")

    engine = gw.db._engine
    assert engine is not None

    async def decisions() -> list[tuple[str, str | None]]:
        query = select(governance_decisions.c.decision, governance_decisions.c.rule).where(
            governance_decisions.c.trace_id == trace
        )
        async with engine.connect() as conn:
            return [(row[0], row[1]) for row in (await conn.execute(query)).all()]

    deadline = time.monotonic() + 10
    while not (found := gw.db.run(decisions())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found == [("deny", "governance.time_budget")]


def test_a_small_prompt_is_judged_by_the_rule_within_the_budget(budget_gateway: Gateway) -> None:
    gw = budget_gateway
    gw.up.reset()
    body = {
        "model": "claude-opus-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "a" + "b" * 20 + "c"}],
    }
    error = error_of(gw.post(MESSAGES, body, trace=new_trace("budget-hit")), "anthropic", 403)
    assert error["rule"] == "blocklist.thrash"
