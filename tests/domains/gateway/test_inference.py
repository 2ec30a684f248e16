"""``INFERENCE``: model calls made in process, as an A2A native agent makes them, through
the running Bastion's own gateway (on its own event loop) to the fake upstreams, on
SQLite and PostgreSQL: the reply, what reached the upstream, the ``ai_requests`` row
with the task's ids, the cost, and the refusals."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from bastion.domains.gateway._inference import message_events
from bastion.extension import INFERENCE, Inference, ModelReply
from bastion.infra.audit import governance_decisions
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, TraceId, UserId
from tests.domains.gateway.conftest import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    ROLES,
    UPSTREAM_HEADERS,
    Gateway,
    new_trace,
)
from tests.fakes import Reply, TokenUsage, ToolCall, anthropic_message_from_events
from tests.fakes.mcp_servers import github_token

ASK = [{"role": "user", "content": "What is the weather in Oslo?"}]
USAGE = TokenUsage(input_tokens=1000, output_tokens=500)
AGENT, TASK, CONVERSATION = "weather-agent", "task-0001", "ctx-0001"


def principal(trace: str) -> RequestContext:
    """A user's API-key principal as an agent's task acts for it."""
    user = ROLES["user"]
    caller = RequestContext(
        trace_id=TraceId(trace),
        tier=user.tier,
        auth_method=AuthMethod.API_KEY,
        user_id=UserId("usr_agent_owner"),
        tenant_id=TenantId("default"),
        role=RoleName("user"),
        scopes=frozenset(user.scopes),
        api_key_id=ApiKeyId("key_agent_owner"),
    )
    return caller.for_task(AGENT, TASK, CONVERSATION)


def inference(gw: Gateway) -> Inference:
    return gw.platform.service(INFERENCE)


def create(gw: Gateway, trace: str, body: Mapping[str, Any]) -> ModelReply:
    return gw.server.call(inference(gw).create(principal(trace), body))


def stream(gw: Gateway, trace: str, body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    async def collect() -> list[Mapping[str, Any]]:
        return [event async for event in inference(gw).stream(principal(trace), body)]

    return gw.server.call(collect())


def task_ids(row: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return row["agent_id"], row["task_id"], row["context_id"]


def decisions(gw: Gateway, trace: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while not (found := gw.db.select(governance_decisions, trace_id=trace)):
        assert time.monotonic() < deadline, f"no governance decision for {trace}"
        time.sleep(0.02)
    return found


def test_create_goes_through_the_pipeline_and_is_recorded_for_the_task(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="Sunny.", usage=USAGE))
    trace = new_trace("inf-create")
    reply = create(gw, trace, {"model": "priced-model", "max_tokens": 64, "messages": ASK})

    assert reply.ok and reply.status == 200, reply.body
    assert reply.body["type"] == "message" and reply.body["content"] == [
        {"type": "text", "text": "Sunny."}
    ]
    # The route's price: $2 in, $10 out per million tokens.
    assert reply.cost_microdollars == 1000 * 2 + 500 * 10 == 7000

    (sent,) = gw.up.anthropic.requests
    assert sent.path == "/v1/messages"
    assert sent.body == {"model": "priced-model", "max_tokens": 64, "messages": ASK}
    assert sent.header("x-api-key") == ANTHROPIC_KEY
    assert sent.header("anthropic-version") == "2023-06-01"
    assert set(sent.headers) <= UPSTREAM_HEADERS, sent.headers
    assert b"key_agent_owner" not in sent.raw_body and TASK.encode() not in sent.raw_body

    row = gw.row(trace)
    assert (row["status"], row["outcome"], row["ingress"], row["streaming"]) == (
        200,
        "success",
        "anthropic",
        False,
    )
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)
    assert (row["user_id"], row["tenant_id"], row["api_key_id"]) == (
        "usr_agent_owner",
        "default",
        "key_agent_owner",
    )
    assert (row["route"], row["provider"]) == ("priced-model", "anthropic")
    assert (row["input_tokens"], row["output_tokens"], row["cost_microdollars"]) == (
        1000,
        500,
        7000,
    )
    (decision,) = decisions(gw, trace)
    assert (decision["decision"], decision["target_type"], decision["target_name"]) == (
        "allow",
        "prompt",
        "priced-model",
    )
    assert task_ids(decision) == (AGENT, TASK, CONVERSATION)


def test_create_ignores_the_request_s_stream_flag(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="Whole.", usage=USAGE))
    body = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": ASK, "stream": True}
    reply = create(gw, new_trace("inf-whole"), body)
    assert reply.status == 200 and reply.body["content"][0]["text"] == "Whole."
    assert "stream" not in gw.up.anthropic.last_request.body


def test_create_is_translated_for_an_openai_route(gw: Gateway) -> None:
    gw.up.openai.enqueue(
        Reply(text="Checking.", tool_calls=[ToolCall("get_weather", {"city": "Oslo"})])
    )
    trace = new_trace("inf-openai")
    reply = create(gw, trace, {"model": "gpt-4o", "max_tokens": 64, "messages": ASK})
    assert reply.status == 200, reply.body
    content = reply.body["content"]
    assert content[0] == {"type": "text", "text": "Checking."}
    assert (content[1]["type"], content[1]["name"], content[1]["input"]) == (
        "tool_use",
        "get_weather",
        {"city": "Oslo"},
    )
    sent = gw.up.openai.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.header("authorization") == f"Bearer {OPENAI_KEY}"
    row = gw.row(trace)
    assert (row["provider"], row["status"]) == ("openai", 200)
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)


def test_stream_yields_the_events_as_they_arrive_then_the_cost(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(
        Reply(text="It is sunny in Oslo today.", usage=USAGE, delta_size=4, split=7)
    )
    trace = new_trace("inf-stream")
    events = stream(gw, trace, {"model": "priced-model", "max_tokens": 64, "messages": ASK})

    assert events[0]["type"] == "message_start"
    assert [e["type"] for e in events[-2:]] == ["message_stop", "bastion.cost"]
    assert events[-1] == {"type": "bastion.cost", "cost_microdollars": 7000}
    deltas = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert len(deltas) > 1 and "".join(deltas) == "It is sunny in Oslo today."
    message = anthropic_message_from_events(events[:-1])
    assert message["content"] == [{"type": "text", "text": "It is sunny in Oslo today."}]
    assert gw.up.anthropic.last_request.body["stream"] is True

    row = gw.row(trace)
    assert (row["status"], row["outcome"], row["streaming"]) == (200, "success", True)
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)
    assert (row["output_tokens"], row["cost_microdollars"]) == (500, 7000)
    assert row["ttfb_ms"] is not None


def test_a_stream_broken_upstream_ends_with_one_error_event(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(
        Reply(text="This will not finish.", fail_after_events=3, fail_mode="error_event")
    )
    trace = new_trace("inf-broken")
    events = stream(gw, trace, {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": ASK})
    assert events[0]["type"] == "message_start"
    assert [e["type"] for e in events].count("error") == 1
    last = events[-1]
    assert (last["type"], last["status"]) == ("error", 502)
    assert last["error"]["message"]
    row = gw.row(trace)
    assert (row["status"], row["outcome"]) == (502, "error")
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)


def test_a_reader_that_stops_early_leaves_a_cancelled_row(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="a long answer " * 20, delta_size=4, chunk_delay=0.01))
    trace = new_trace("inf-leave")
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": ASK}

    async def read_two() -> list[str]:
        events = inference(gw).stream(principal(trace), body)
        seen: list[str] = []
        async for event in events:
            seen.append(str(event["type"]))
            if len(seen) == 2:
                break
        await events.aclose()  # type: ignore[attr-defined]
        return seen

    assert gw.server.call(read_two()) == ["message_start", "content_block_start"]
    row = gw.row(trace)
    assert (row["status"], row["outcome"]) == (499, "cancelled")
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)


@pytest.mark.parametrize("streamed", [False, True], ids=["create", "stream"])
def test_a_secret_in_the_prompt_is_denied_before_the_upstream(gw: Gateway, streamed: bool) -> None:
    token = github_token()
    trace = new_trace("inf-deny")
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"deploy with {token}"}],
    }
    if streamed:
        (event,) = stream(gw, trace, body)
        status, error = event["status"], event["error"]
        assert event["type"] == "error"
    else:
        reply = create(gw, trace, body)
        assert reply.body["type"] == "error" and reply.body["request_id"] == trace
        status, error = reply.status, reply.body["error"]
        assert reply.error_message == error["message"] and reply.cost_microdollars == 0
    assert status == 403
    assert (error["type"], error["stage"], error["rule"]) == (
        "permission_error",
        "secret_scan",
        "secret.github-pat",
    )
    assert token not in str(error)
    assert gw.up.requests() == []

    row = gw.row(trace)
    assert (row["status"], row["outcome"], row["streaming"]) == (403, "denied", streamed)
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)
    (decision,) = decisions(gw, trace)
    assert (decision["decision"], decision["stage"], decision["rule"]) == (
        "deny",
        "secret_scan",
        "secret.github-pat",
    )
    assert task_ids(decision) == (AGENT, TASK, CONVERSATION)


@pytest.mark.parametrize("streamed", [False, True], ids=["create", "stream"])
def test_a_model_without_a_route_is_404(gw: Gateway, streamed: bool) -> None:
    trace = new_trace("inf-404")
    body = {"model": "no-such-model", "max_tokens": 8, "messages": ASK}
    if streamed:
        (event,) = stream(gw, trace, body)
        status, error = event["status"], event["error"]
    else:
        reply = create(gw, trace, body)
        status, error = reply.status, reply.body["error"]
    assert (status, error["type"]) == (404, "not_found_error")
    assert error["message"] == "model 'no-such-model' has no gateway route"
    assert gw.up.requests() == []
    row = gw.row(trace)
    assert (row["status"], row["requested_model"]) == (404, "no-such-model")
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)


def test_a_malformed_request_is_400_with_its_row(gw: Gateway) -> None:
    trace = new_trace("inf-400")
    reply = create(gw, trace, {"model": "claude-sonnet-4-5", "messages": ASK})
    assert (reply.status, reply.body["error"]["type"]) == (400, "invalid_request_error")
    assert "max_tokens" in reply.error_message

    unencodable = create(
        gw, new_trace("inf-400"), {"model": "claude-sonnet-4-5", "max_tokens": 8, "x": {1, 2}}
    )
    assert unencodable.status == 400
    assert unencodable.error_message.startswith("request body is not JSON")
    assert gw.up.requests() == []
    row = gw.row(trace)
    assert (row["status"], row["outcome"]) == (400, "error")
    assert task_ids(row) == (AGENT, TASK, CONVERSATION)


def test_a_whole_message_becomes_the_events_that_stream_it() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [
            {"type": "thinking", "thinking": "Weather, then.", "signature": "c2ln"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 9},
    }
    events = list(message_events(message))
    assert [e["type"] for e in events][:2] == ["message_start", "content_block_start"]
    assert events[0]["message"]["content"] == [] and events[-1] == {"type": "message_stop"}
    rebuilt = anthropic_message_from_events(events)
    assert rebuilt["content"][1:] == message["content"][1:]
    assert rebuilt["content"][0]["thinking"] == "Weather, then."
    assert (rebuilt["stop_reason"], rebuilt["usage"]["output_tokens"]) == ("tool_use", 9)
