"""Every way a gateway request fails, through a running Bastion: the caller gets the
right status and an error in its own wire format, and exactly one ``ai_requests`` row is
written. Upstream failures come from the fakes (timeouts, 5xx, 4xx, refused keys, dropped
streams); the rest from the caller (bad JSON, unknown model, secrets, limits)."""

from __future__ import annotations

import hashlib
import random
import socket
import string
import time
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest

from bastion.domains.gateway.translate import SSEParser
from tests.domains.gateway.conftest import (
    BACKUP_KEY,
    MAX_BODY_BYTES,
    RETRY_ATTEMPTS,
    TIMEOUT_SECONDS,
    Gateway,
    new_trace,
)
from tests.fakes import Reply, ToolCall, anthropic_message_from_events

MESSAGES = "/v1/messages"
CHAT = "/v1/chat/completions"
ASK = [{"role": "user", "content": "What is the weather in Oslo?"}]

RNG = random.Random(2718)
# Built at run time so no credential-shaped literal sits in the source.
GITHUB_TOKEN = (
    "gh" + "p_" + "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(36))
)


def body_for(ingress: str, model: str, **extra: Any) -> dict[str, Any]:
    if ingress == "anthropic":
        return {"model": model, "max_tokens": 64, "messages": ASK, **extra}
    return {"model": model, "messages": ASK, **extra}


def path_for(ingress: str) -> str:
    return MESSAGES if ingress == "anthropic" else CHAT


# The error type each format uses for each status (Anthropic's and OpenAI's documented
# vocabularies; OpenAI has no type of its own for 413 or the 5xx).
KINDS = {
    "anthropic": {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        502: "api_error",
        504: "timeout_error",
    },
    "openai": {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "invalid_request_error",
        429: "rate_limit_error",
        502: "server_error",
        504: "server_error",
    },
}


def error_of(
    response: httpx.Response, ingress: str, status: int, *, from_upstream: bool = False
) -> dict[str, Any]:
    """The error object of a response in ``ingress`` format, after checking its shape.
    Bastion's own Anthropic-format errors carry the trace id as ``request_id``; an
    upstream's error document passed through does not."""
    kind = KINDS[ingress][status]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    if ingress == "anthropic":
        assert doc["type"] == "error"
        if not from_upstream:
            assert doc["request_id"] == response.headers["x-trace-id"]
    else:
        assert set(doc) == {"error"}
        assert doc["error"]["param"] is None
    error: dict[str, Any] = doc["error"]
    assert error["type"] == kind
    return error


def failed_row(
    gw: Gateway,
    trace: str,
    status: int,
    outcome: str = "error",
    *,
    timeout: float = 10,
    billed: bool = False,
) -> dict[str, Any]:
    """The one row of a failed request; nothing billed unless the upstream had started
    answering (``billed``)."""
    row = gw.row(trace, timeout=timeout)
    assert (row["status"], row["outcome"]) == (status, outcome)
    assert row["error"]
    if not billed:
        assert (row["input_tokens"], row["output_tokens"], row["cost_microdollars"]) == (0, 0, 0)
    assert row["latency_ms"] >= row["overhead_ms"] >= 0
    return row


BOTH = pytest.mark.parametrize("ingress", ["anthropic", "openai"])


# -- upstream failures before the first byte ------------------------------------------------


@BOTH
def test_timeout_is_504_after_retries(gw: Gateway, ingress: str) -> None:
    latency = TIMEOUT_SECONDS * 2
    gw.up.anthropic.enqueue(*[Reply(text="too late", latency=latency)] * RETRY_ATTEMPTS)
    trace = new_trace("timeout")
    started = time.monotonic()
    response = gw.post(path_for(ingress), body_for(ingress, "slow-model"), trace=trace)
    elapsed = time.monotonic() - started
    error = error_of(response, ingress, 504)
    assert error["message"] == "the upstream timed out"
    assert TIMEOUT_SECONDS * RETRY_ATTEMPTS <= elapsed < latency * RETRY_ATTEMPTS + 2
    assert len(gw.up.anthropic.requests) == RETRY_ATTEMPTS
    row = failed_row(gw, trace, 504)
    assert row["attempts"] == RETRY_ATTEMPTS
    assert "no response within 0.4s" in row["error"]
    # Waiting on the upstream is not gateway overhead.
    assert row["overhead_ms"] < row["latency_ms"] - TIMEOUT_SECONDS * 1000
    assert float(response.headers["x-bastion-overhead-ms"]) == pytest.approx(
        row["overhead_ms"], abs=0.01
    )
    # Let the fake finish its late answers so they cannot leak into the next test.
    deadline = time.monotonic() + 5
    while len(gw.up.anthropic.sent) < RETRY_ATTEMPTS and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("stream", [False, True])
def test_retry_then_success(gw: Gateway, stream: bool) -> None:
    gw.up.anthropic.enqueue(Reply.error(503, "overloaded"), Reply(text="Second time lucky."))
    trace = new_trace("retry")
    client = gw.anthropic()
    if stream:
        with client.messages.stream(
            model="claude-opus-4-5",
            max_tokens=64,
            messages=ASK,
            extra_headers={"x-trace-id": trace},
        ) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(
            model="claude-opus-4-5",
            max_tokens=64,
            messages=ASK,
            extra_headers={"x-trace-id": trace},
        )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Second time lucky."
    assert len(gw.up.anthropic.requests) == 2
    row = gw.row(trace)
    assert (row["status"], row["outcome"], row["attempts"]) == (200, "success", 2)
    assert row["streaming"] is stream


def test_fallback_route_answers_when_the_primary_keeps_failing(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(*[Reply.error(503, "overloaded")] * RETRY_ATTEMPTS)
    gw.up.backup.enqueue(Reply(text="From the backup."))
    trace = new_trace("fallback")
    message = gw.anthropic().messages.create(
        model="primary-model", max_tokens=64, messages=ASK, extra_headers={"x-trace-id": trace}
    )
    assert message.content[0].type == "text" and message.content[0].text == "From the backup."
    assert len(gw.up.anthropic.requests) == RETRY_ATTEMPTS
    (sent,) = gw.up.backup.requests
    assert sent.body["model"] == "backup-upstream"
    assert sent.header("x-api-key") == BACKUP_KEY
    row = gw.row(trace)
    assert (row["status"], row["outcome"]) == (200, "success")
    assert (row["route"], row["upstream_model"], row["attempts"]) == (
        "backup",
        "backup-upstream",
        RETRY_ATTEMPTS + 1,
    )
    assert row["requested_model"] == "primary-model"


def test_fallback_chain_exhausted_is_502(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(*[Reply.error(500)] * RETRY_ATTEMPTS)
    gw.up.backup.enqueue(*[Reply.error(529, error_type="overloaded_error")] * RETRY_ATTEMPTS)
    trace = new_trace("fallback-502")
    response = gw.post(MESSAGES, body_for("anthropic", "primary-model"), trace=trace)
    error = error_of(response, "anthropic", 502)
    assert error["message"] == "the upstream failed: upstream answered 529"
    row = failed_row(gw, trace, 502)
    assert row["attempts"] == 2 * RETRY_ATTEMPTS


@BOTH
def test_upstream_5xx_after_retries_is_502(gw: Gateway, ingress: str) -> None:
    gw.up.anthropic.enqueue(*[Reply.error(500, "boom")] * RETRY_ATTEMPTS)
    trace = new_trace("5xx")
    response = gw.post(path_for(ingress), body_for(ingress, "claude-opus-4-5"), trace=trace)
    error = error_of(response, ingress, 502)
    assert error["message"] == "the upstream failed: upstream answered 500"
    assert len(gw.up.anthropic.requests) == RETRY_ATTEMPTS
    assert failed_row(gw, trace, 502)["attempts"] == RETRY_ATTEMPTS


def test_unreachable_upstream_is_502(gw: Gateway) -> None:
    trace = new_trace("dead")
    response = gw.post(MESSAGES, body_for("anthropic", "dead-model"), trace=trace)
    error = error_of(response, "anthropic", 502)
    assert error["message"] == "the upstream could not be reached"
    row = failed_row(gw, trace, 502)
    assert row["attempts"] == RETRY_ATTEMPTS
    assert "ClientConnectorError" in row["error"] or "Connect" in row["error"]


@BOTH
def test_upstream_refusing_the_route_key_is_502_not_401(gw: Gateway, ingress: str) -> None:
    trace = new_trace("revoked")
    response = gw.post(path_for(ingress), body_for(ingress, "revoked-model"), trace=trace)
    error = error_of(response, ingress, 502)
    assert error["message"] == "the upstream refused the gateway's credentials (401)"
    assert response.headers.get("www-authenticate") is None
    row = failed_row(gw, trace, 502)
    assert (row["attempts"], row["error"]) == (1, "upstream 401")


def test_upstream_4xx_body_passes_through_unchanged(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(
        Reply.error(400, "max_tokens: 999999 > 64000", error_type="invalid_request_error")
    )
    trace = new_trace("4xx")
    response = gw.post(MESSAGES, body_for("anthropic", "claude-opus-4-5"), trace=trace)
    assert response.status_code == 400
    assert response.content == orjson.dumps(
        {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "max_tokens: 999999 > 64000"},
        }
    )
    assert "x-bastion-overhead-ms" in response.headers
    assert len(gw.up.anthropic.requests) == 1  # a 4xx is not retried
    row = failed_row(gw, trace, 400)
    assert (row["attempts"], row["error"]) == (1, "upstream 400")


def test_upstream_4xx_in_the_openai_format(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply.error(404, "model: claude-opus-4-5 not found"))
    trace = new_trace("4xx-oa")
    response = gw.post(CHAT, body_for("openai", "claude-opus-4-5"), trace=trace)
    error = error_of(response, "openai", 404)
    assert error["message"] == "model: claude-opus-4-5 not found"
    failed_row(gw, trace, 404)


def test_openai_upstream_4xx_is_translated_for_anthropic_callers(gw: Gateway) -> None:
    gw.up.openai.enqueue(Reply.error(400, "Invalid 'messages[0].content'"))
    trace = new_trace("4xx-translated")
    response = gw.post(MESSAGES, body_for("anthropic", "gpt-4o"), trace=trace)
    error = error_of(response, "anthropic", 400, from_upstream=True)
    assert error["message"] == "Invalid 'messages[0].content'"
    failed_row(gw, trace, 400)


def test_upstream_429_passes_through_with_retry_after_once_retries_are_spent(
    gw: Gateway,
) -> None:
    limited = Reply(status=429, error_message="slow down", headers={"retry-after": "7"})
    gw.up.anthropic.enqueue(*[limited] * RETRY_ATTEMPTS)
    trace = new_trace("429-upstream")
    response = gw.post(MESSAGES, body_for("anthropic", "claude-opus-4-5"), trace=trace)
    error = error_of(response, "anthropic", 429, from_upstream=True)
    assert error["message"] == "slow down"
    assert response.headers["retry-after"] == "7"
    assert len(gw.up.anthropic.requests) == RETRY_ATTEMPTS
    assert failed_row(gw, trace, 429)["attempts"] == RETRY_ATTEMPTS


def test_request_with_an_unknown_role_is_400_before_any_upstream(gw: Gateway) -> None:
    trace = new_trace("unknown-role")
    body = body_for("anthropic", "gpt-4o", messages=[{"role": "robot", "content": "beep"}])
    response = gw.post(MESSAGES, body, trace=trace)
    error = error_of(response, "anthropic", 400)
    assert error["message"] == "messages.0.role: input should be 'user' or 'assistant'"
    assert gw.up.openai.requests == []
    failed_row(gw, trace, 400)


# -- upstream failures mid-stream ---------------------------------------------------------------


def sse_events(data: bytes) -> list[dict[str, Any]]:
    parser = SSEParser()
    return [event.json() for event in parser.feed(data) + parser.flush()]


LONG_REPLY = Reply(
    text="A long answer that will not arrive whole. " * 4,
    tool_calls=[ToolCall("get_weather", {"city": "Oslo"})],
    delta_size=6,
)


@pytest.mark.parametrize("fail_mode", ["close", "error_event"])
def test_mid_stream_failure_ends_with_an_error_event(gw: Gateway, fail_mode: str) -> None:
    failing = Reply(**{**LONG_REPLY.__dict__, "fail_after_events": 6, "fail_mode": fail_mode})
    gw.up.anthropic.enqueue(failing, failing)
    # Raw: the caller gets what the upstream sent, then one terminal error event.
    trace = new_trace("midstream-raw")
    started = time.monotonic()
    with httpx.stream(
        "POST",
        gw.url + MESSAGES,
        json=body_for("anthropic", "claude-opus-4-5", stream=True),
        headers={"x-api-key": gw.keys["alice"], "x-trace-id": trace},
        timeout=10,
    ) as response:
        assert response.status_code == 200
        data = response.read()
    assert time.monotonic() - started < 5
    upstream = gw.up.anthropic.sent[-1]
    events = sse_events(data)
    assert [e["type"] for e in events[:6]] == [e["type"] for e in sse_events(upstream)[:6]]
    assert data.startswith(b"".join(event + b"\n\n" for event in upstream.split(b"\n\n")[:6]))
    assert events[-1]["type"] == "error" and len(events) == 7
    rebuilt = anthropic_message_from_events(events)
    assert rebuilt["error"]["type"] in ("api_error", "overloaded_error")
    row = failed_row(gw, trace, 502, billed=True)
    assert row["streaming"] is True and row["ttfb_ms"] is not None
    # What message_start announced before the failure is still billed: 12 input tokens
    # and 1 output token at claude-opus-4-5's $5 / $25 per million.
    assert (row["input_tokens"], row["output_tokens"], row["cost_microdollars"]) == (12, 1, 85)
    # The SDK raises instead of hanging or returning half a message.
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        gw.anthropic().messages.stream(
            model="claude-opus-4-5", max_tokens=64, messages=ASK
        ) as stream,
    ):
        for _ in stream:
            pass
    assert raised.value.body is not None


def test_mid_stream_failure_of_a_translated_stream(gw: Gateway) -> None:
    failing = Reply(**{**LONG_REPLY.__dict__, "fail_after_events": 5})
    gw.up.openai.enqueue(failing, failing)
    trace = new_trace("midstream-oa")
    with (
        pytest.raises(anthropic.APIStatusError),
        gw.anthropic().messages.stream(
            model="gpt-4o", max_tokens=64, messages=ASK, extra_headers={"x-trace-id": trace}
        ) as stream,
    ):
        for _ in stream:
            pass
    failed_row(gw, trace, 502, billed=True)
    # The OpenAI format ends with an error chunk, which the openai SDK raises.
    trace = new_trace("midstream-oa-oa")
    with pytest.raises(openai.APIError):
        for _ in gw.openai().chat.completions.create(
            model="gpt-4o",
            messages=ASK,  # type: ignore[arg-type]
            stream=True,
            extra_headers={"x-trace-id": trace},
        ):
            pass
    failed_row(gw, trace, 502, billed=True)


# -- the caller's own failures ------------------------------------------------------------------


SECRET_PLACES = {
    "user text": {"messages": [{"role": "user", "content": f"deploy with {GITHUB_TOKEN}"}]},
    "system": {"system": f"token: {GITHUB_TOKEN}", "messages": ASK},
    "tool_result": {
        "messages": [
            *ASK,
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "env", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": GITHUB_TOKEN}],
            },
        ]
    },
    "tool_use input": {
        "messages": [
            *ASK,
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "env", "input": {"v": GITHUB_TOKEN}}
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
        ]
    },
    # The blind spots of issue 14: each passed the scan before.
    "text document": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {
                            "type": "text",
                            "media_type": "text/plain",
                            "data": f"config notes\ntoken={GITHUB_TOKEN}\n",
                        },
                    },
                    {"type": "text", "text": "Summarise the notes."},
                ],
            }
        ]
    },
    "tool description": {
        "messages": ASK,
        "tools": [
            {
                "name": "deploy",
                "description": f"Deploys with {GITHUB_TOKEN}",
                "input_schema": {"type": "object", "properties": {}},
            }
        ],
    },
    "tool input_schema": {
        "messages": ASK,
        "tools": [
            {
                "name": "deploy",
                "input_schema": {
                    "type": "object",
                    "properties": {"auth": {"type": "string", "default": GITHUB_TOKEN}},
                },
            }
        ],
    },
    "metadata.user_id": {"messages": ASK, "metadata": {"user_id": f"ci {GITHUB_TOKEN}"}},
    "stop_sequences": {"messages": ASK, "stop_sequences": [f"end {GITHUB_TOKEN}"]},
    "split across adjacent text blocks": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"deploy with {GITHUB_TOKEN[:16]}"},
                    {"type": "text", "text": f"{GITHUB_TOKEN[16:]} please"},
                ],
            }
        ]
    },
    "zero-width space inside": {
        "messages": [
            {
                "role": "user",
                "content": f"deploy with {GITHUB_TOKEN[:9]}\u200b{GITHUB_TOKEN[9:]}",
            }
        ]
    },
    "nested tool_result content": {
        "messages": [
            *ASK,
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "env", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": f"TOKEN={GITHUB_TOKEN}"}],
                    }
                ],
            },
        ]
    },
}


@pytest.mark.parametrize("place", list(SECRET_PLACES))
def test_secret_in_the_prompt_is_denied_and_nothing_goes_upstream(gw: Gateway, place: str) -> None:
    trace = new_trace("deny")
    body = {"model": "claude-opus-4-5", "max_tokens": 64, **SECRET_PLACES[place]}
    response = gw.post(MESSAGES, body, trace=trace)
    error = error_of(response, "anthropic", 403)
    assert (error["stage"], error["rule"]) == ("secret_scan", "secret.github-pat")
    assert error["reason"].startswith("input contains a secret (github-pat) at ")
    assert error["message"] == f"Bastion governance denied the request: {error['reason']}"
    assert GITHUB_TOKEN not in response.text
    assert gw.up.requests() == []
    row = failed_row(gw, trace, 403, "denied")
    assert GITHUB_TOKEN not in row["error"]


OPENAI_SECRET_PLACES = {
    "user text": {"messages": [{"role": "user", "content": f"use {GITHUB_TOKEN}"}]},
    # Dropped by the translation to Anthropic, scanned from the caller's body.
    "messages[].name": {"messages": [{"role": "user", "name": GITHUB_TOKEN, "content": "hi"}]},
    "tools[].function.description": {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {
                "type": "function",
                "function": {"name": "deploy", "description": f"uses {GITHUB_TOKEN}"},
            }
        ],
    },
    "stop": {"messages": [{"role": "user", "content": "hi"}], "stop": [f"x {GITHUB_TOKEN}"]},
    "user": {"messages": [{"role": "user", "content": "hi"}], "user": GITHUB_TOKEN},
}


@pytest.mark.parametrize("place", list(OPENAI_SECRET_PLACES))
def test_secret_deny_in_the_openai_format(gw: Gateway, place: str) -> None:
    trace = new_trace("deny-oa")
    body = {"model": "gpt-4o", **OPENAI_SECRET_PLACES[place]}
    response = gw.post(CHAT, body, trace=trace)
    error = error_of(response, "openai", 403)
    assert (error["stage"], error["rule"]) == ("secret_scan", "secret.github-pat")
    assert gw.up.requests() == []
    failed_row(gw, trace, 403, "denied")


def test_count_tokens_is_governed_too(gw: Gateway) -> None:
    body = {"model": "claude-opus-4-5", **SECRET_PLACES["user text"]}
    response = gw.post("/v1/messages/count_tokens", body)
    error = error_of(response, "anthropic", 403)
    assert error["rule"] == "secret.github-pat"
    assert gw.up.requests() == []


def test_rate_limit_is_429_with_retry_after(gw: Gateway) -> None:
    first = gw.post(MESSAGES, body_for("anthropic", "mock-1"), key="svc")
    assert first.status_code == 200, first.text
    trace = new_trace("ratelimit")
    response = gw.post(MESSAGES, body_for("anthropic", "mock-1"), key="svc", trace=trace)
    error = error_of(response, "anthropic", 429)
    assert error["stage"] == "rate_limit"
    assert int(response.headers["retry-after"]) >= 1
    failed_row(gw, trace, 429, "denied")


@BOTH
def test_unknown_model_is_404_naming_it(gw: Gateway, ingress: str) -> None:
    trace = new_trace("unknown")
    response = gw.post(path_for(ingress), body_for(ingress, "no-such-model-9"), trace=trace)
    error = error_of(response, ingress, 404)
    assert error["message"] == "model 'no-such-model-9' has no gateway route"
    assert "x-bastion-overhead-ms" in response.headers
    row = failed_row(gw, trace, 404)
    assert (row["requested_model"], row["route"], row["provider"]) == (
        "no-such-model-9",
        None,
        None,
    )


@BOTH
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"model": "claude-opus-4-5", ', "request body is not valid JSON"),
        (b"[1, 2]", "request body must be a JSON object"),
        (b'{"messages": []}', "model: field required"),
    ],
)
def test_malformed_request_is_400(gw: Gateway, ingress: str, raw: bytes, message: str) -> None:
    trace = new_trace("bad")
    response = gw.post(path_for(ingress), raw, trace=trace)
    error = error_of(response, ingress, 400)
    assert error["message"].startswith(message)
    row = failed_row(gw, trace, 400)
    assert row["request_sha256"] == hashlib.sha256(raw).hexdigest()
    assert gw.up.requests() == []


def test_missing_max_tokens_is_400(gw: Gateway) -> None:
    trace = new_trace("no-max")
    response = gw.post(MESSAGES, {"model": "claude-opus-4-5", "messages": ASK}, trace=trace)
    error = error_of(response, "anthropic", 400)
    assert error["message"] == "max_tokens: field required"
    failed_row(gw, trace, 400)


@BOTH
def test_oversized_body_is_413(gw: Gateway, ingress: str) -> None:
    body = body_for(ingress, "claude-opus-4-5")
    body["messages"] = [{"role": "user", "content": "x" * MAX_BODY_BYTES}]
    response = gw.post(path_for(ingress), body, trace=new_trace("413"))
    error = error_of(response, ingress, 413)
    assert error["message"] == f"request body exceeds the limit of {MAX_BODY_BYTES} bytes"
    assert gw.up.requests() == []


@BOTH
@pytest.mark.parametrize("credential", [None, "bst_notarealkey0000000000000000", "not.a.jwt"])
def test_missing_or_invalid_credential_is_401(
    gw: Gateway, ingress: str, credential: str | None
) -> None:
    response = gw.post(
        path_for(ingress),
        body_for(ingress, "claude-opus-4-5"),
        key=credential,
        trace=new_trace("401"),
    )
    error = error_of(response, ingress, 401)
    assert error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert gw.up.requests() == []


@BOTH
def test_oversized_body_writes_one_row(gw: Gateway, ingress: str) -> None:
    body = body_for(ingress, "claude-opus-4-5")
    body["messages"] = [{"role": "user", "content": "x" * MAX_BODY_BYTES}]
    trace = new_trace("413-row")
    assert gw.post(path_for(ingress), body, trace=trace).status_code == 413
    row = failed_row(gw, trace, 413)
    assert row["ingress"] == ingress and row["user_id"] is not None
    assert row["error"] == f"request body exceeds the limit of {MAX_BODY_BYTES} bytes"


@BOTH
def test_oversized_chunked_body_writes_one_row(gw: Gateway, ingress: str) -> None:
    # No content-length: the limit trips while the gateway is reading the body.
    payload = orjson.dumps(body_for(ingress, "claude-opus-4-5")) + b" " * MAX_BODY_BYTES
    trace = new_trace("413-chunked")
    response = httpx.post(
        gw.url + path_for(ingress),
        content=iter([payload[i : i + 65536] for i in range(0, len(payload), 65536)]),
        headers={"x-api-key": gw.keys["alice"], "x-trace-id": trace},
        timeout=10,
    )
    error_of(response, ingress, 413)
    failed_row(gw, trace, 413)
    assert gw.up.requests() == []


@BOTH
@pytest.mark.parametrize("credential", [None, "bst_notarealkey0000000000000000"])
def test_refused_credential_writes_one_row(
    gw: Gateway, ingress: str, credential: str | None
) -> None:
    trace = new_trace("401-row")
    response = gw.post(
        path_for(ingress), body_for(ingress, "claude-opus-4-5"), key=credential, trace=trace
    )
    assert response.status_code == 401
    row = failed_row(gw, trace, 401)
    assert row["ingress"] == ingress and row["user_id"] is None
    assert row["requested_model"] is None and row["request_sha256"] is None


def test_refused_request_off_the_inference_paths_writes_no_row(gw: Gateway) -> None:
    # The same router as /v1/messages, other routes (or another method): no inference call.
    traces = []
    for method, path in (
        ("GET", "/v1/models"),
        ("POST", "/v1/messages/count_tokens"),
        ("GET", MESSAGES),
    ):
        trace = new_trace("401-off")
        response = httpx.request(method, gw.url + path, headers={"x-trace-id": trace}, timeout=10)
        assert response.status_code == 401
        traces.append(trace)
    # The audit queue is FIFO: once a later refusal's row is in, an earlier one would be.
    later = new_trace("401-after")
    assert (
        gw.post(
            MESSAGES, body_for("anthropic", "claude-opus-4-5"), key=None, trace=later
        ).status_code
        == 401
    )
    failed_row(gw, later, 401)
    for trace in traces:
        assert gw.rows(trace_id=trace) == []


def test_client_going_away_mid_stream_is_recorded_as_cancelled(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="word " * 200, delta_size=5, chunk_delay=0.01))
    trace = new_trace("cancel")
    with httpx.stream(
        "POST",
        gw.url + MESSAGES,
        json=body_for("anthropic", "claude-opus-4-5", stream=True),
        headers={"x-api-key": gw.keys["alice"], "x-trace-id": trace},
        timeout=10,
    ) as response:
        assert response.status_code == 200
        assert next(response.iter_raw()).startswith(b"event: message_start")
    # The caller hung up long before the upstream's 200 deltas were through.
    row = failed_row(gw, trace, 499, "cancelled", billed=True)
    assert row["streaming"] is True and row["input_tokens"] == 12
    assert row["latency_ms"] < 200 * 10


def test_client_leaving_before_its_body_arrives_gets_a_row(gw: Gateway) -> None:
    trace = new_trace("no-body")
    port = int(gw.url.rsplit(":", 1)[1])
    head = (
        f"POST {MESSAGES} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: 4000\r\nx-api-key: {gw.keys['alice']}\r\nx-trace-id: {trace}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + b'{"model": "claude-opus-4-5", "messages": [')
        time.sleep(0.2)  # the gateway is waiting for the rest of the body
    row = failed_row(gw, trace, 499, "cancelled")
    assert row["requested_model"] is None and row["request_sha256"] is None
    assert gw.up.requests() == []
