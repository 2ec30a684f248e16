"""Cost in integer microdollars (tokens x USD per million tokens) from the shipped
catalog or a route's own ``pricing``, recorded on each ``ai_requests`` row, and quota
windows that count the tokens those rows report."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.domains.gateway.conftest import (
    INPUT_QUOTA_TENANTS,
    INPUT_QUOTA_TOKENS,
    QUOTA_OUTPUT_TOKENS,
    QUOTA_TENANT,
    Gateway,
    new_trace,
)
from tests.fakes import Reply, TokenUsage

ASK = [{"role": "user", "content": "Summarise the report."}]
USAGE = TokenUsage(
    input_tokens=1000,
    output_tokens=500,
    cache_read_input_tokens=200,
    cache_creation_input_tokens=100,
)


def call(gw: Gateway, model: str, *, stream: bool = False, key: str | None = None) -> str:
    trace = new_trace("cost")
    client = gw.anthropic(key)
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": 600,
        "messages": ASK,
        "extra_headers": {"x-trace-id": trace},
    }
    if stream:
        with client.messages.stream(**kwargs) as events:
            events.get_final_message()
    else:
        client.messages.create(**kwargs)
    return trace


def tokens(row: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        row["input_tokens"],
        row["output_tokens"],
        row["cache_read_tokens"],
        row["cache_write_tokens"],
    )


@pytest.mark.parametrize("stream", [False, True])
def test_catalog_price_of_the_upstream_model(gw: Gateway, stream: bool) -> None:
    gw.up.anthropic.enqueue(Reply(text="Done.", usage=USAGE))
    row = gw.row(call(gw, "alias-sonnet", stream=stream))
    assert tokens(row) == (1000, 500, 200, 100)
    # claude-sonnet-4-5 (what alias-sonnet is sent upstream as): $3 in, $15 out,
    # $0.30 cache read, $3.75 cache write per million tokens.
    assert row["cost_microdollars"] == 1000 * 3 + 500 * 15 + 200 * 0.3 + 100 * 3.75 == 10935


def test_route_pricing_overrides_the_catalog(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="Done.", usage=USAGE))
    row = gw.row(call(gw, "priced-model"))
    # The route says $2 in and $10 out; cache tokens fall back to the input price.
    assert row["cost_microdollars"] == 1000 * 2 + 500 * 10 + (200 + 100) * 2 == 7600


def test_openai_usage_is_split_into_disjoint_counts(gw: Gateway) -> None:
    # OpenAI reports cached tokens inside prompt_tokens (1200 here, 200 of them cached).
    gw.up.openai.enqueue(
        Reply(text="Done.", usage=TokenUsage(1000, 500, cache_read_input_tokens=200))
    )
    row = gw.row(call(gw, "gpt-4o", stream=True))
    assert tokens(row) == (1000, 500, 200, 0)
    # gpt-4o: $2.50 in, $10 out, $1.25 cached.
    assert row["cost_microdollars"] == 1000 * 2.5 + 500 * 10 + 200 * 1.25 == 7750


def test_model_without_a_price_costs_nothing_but_counts_tokens(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="Done.", usage=USAGE))
    row = gw.row(call(gw, "claude-unpriced-experiment"))
    assert tokens(row) == (1000, 500, 200, 100)
    assert row["cost_microdollars"] == 0


def test_quota_on_output_tokens_denies_once_exceeded(gw: Gateway) -> None:
    # The tenant may produce 10 output tokens an hour. Usage is counted after each
    # response, so the second request (7 used) still passes and the third does not.
    token = gw.token("quota-user", tenant=QUOTA_TENANT)
    gw.up.anthropic.enqueue(*[Reply(text="Done.", usage=TokenUsage(20, 7))] * 3)
    first = gw.row(call(gw, "claude-opus-4-5", key=token))
    second = gw.row(call(gw, "claude-opus-4-5", key=token, stream=True))
    assert first["output_tokens"] + second["output_tokens"] == 14 > QUOTA_OUTPUT_TOKENS
    assert first["tenant_id"] == second["tenant_id"] == QUOTA_TENANT

    trace = new_trace("quota")
    response = gw.post(
        "/v1/messages",
        {"model": "claude-opus-4-5", "max_tokens": 64, "messages": ASK},
        key=token,
        trace=trace,
    )
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert (error["type"], error["stage"]) == ("rate_limit_error", "quota")
    assert error["reason"].startswith("tenant quota of 10 output tokens per 1h window reached")
    assert int(response.headers["retry-after"]) >= 1
    assert len(gw.up.anthropic.requests) == 2
    row = gw.row(trace)
    assert (row["status"], row["outcome"]) == (429, "denied")
    # Another tenant is not affected.
    gw.up.anthropic.enqueue(Reply(text="Done."))
    assert gw.row(call(gw, "claude-opus-4-5"))["status"] == 200


@pytest.mark.parametrize("how", ["upstream fails", "caller hangs up"])
def test_quota_counts_what_an_unfinished_stream_was_billed(gw: Gateway, how: str) -> None:
    # A stream that does not finish still had its prompt billed (message_start says so):
    # that usage is recorded on the row, and counts against the quota like any other.
    tenant = INPUT_QUOTA_TENANTS[0] if how == "upstream fails" else INPUT_QUOTA_TENANTS[1]
    token = gw.token("quota-user", tenant=tenant)
    text = "word " * 100
    if how == "upstream fails":
        gw.up.anthropic.enqueue(Reply(text=text, usage=TokenUsage(150, 40), fail_after_events=3))
    else:
        gw.up.anthropic.enqueue(
            Reply(text=text, usage=TokenUsage(150, 40), delta_size=5, chunk_delay=0.01)
        )
    trace = new_trace("quota-abort")
    body = {"model": "claude-opus-4-5", "max_tokens": 64, "stream": True, "messages": ASK}
    with httpx.stream(
        "POST",
        gw.url + "/v1/messages",
        json=body,
        headers={"authorization": f"Bearer {token}", "x-trace-id": trace},
        timeout=10,
    ) as response:
        assert response.status_code == 200
        next(response.iter_raw())
    row = gw.row(trace)
    assert row["status"] in (499, 502) and row["input_tokens"] == 150 > INPUT_QUOTA_TOKENS
    denied = gw.post(
        "/v1/messages",
        {"model": "claude-opus-4-5", "max_tokens": 64, "messages": ASK},
        key=token,
    )
    assert denied.status_code == 429, denied.text
    assert denied.json()["error"]["stage"] == "quota"
    assert len(gw.up.anthropic.requests) == 1
