"""Secrets in what upstreams answer: redacted in non-streaming responses
(``response_secrets: redact``), only recorded with ``audit``, and always recorded (never
held back) in streams; the pattern ids land in ``ai_requests.response_findings``."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

import pytest

from bastion.infra.scanner import ScannerSettings, SecretScanner
from tests.domains.gateway.conftest import (
    Gateway,
    Upstreams,
    cli,
    new_trace,
    start_gateway,
)
from tests.fakes import Reply, ToolCall
from tests.support import running_server

RNG = random.Random(1618)
# Look-alikes generated at run time: an AWS access key id and a Slack bot token.
AWS_KEY = (
    "AK" + "IA" + "".join(RNG.choice(string.ascii_uppercase + string.digits) for _ in range(16))
)
SLACK_TOKEN = (
    "xo"
    + "xb-"
    + "".join(RNG.choice(string.digits) for _ in range(12))
    + "-"
    + "".join(RNG.choice(string.digits) for _ in range(12))
    + "-"
    + "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(24))
)
TEXT = f"Use {AWS_KEY} for the bucket."
ASK = [{"role": "user", "content": "Which key should I use?"}]
SCANNER = SecretScanner(ScannerSettings())


def pattern_ids(*texts: str) -> str:
    """What the scanner calls the secrets in ``texts``, as the row records them."""
    found = {f.pattern_id for text in texts for f in SCANNER.scan_text(text)}
    assert found, texts  # the look-alikes must look like secrets to the scanner
    return ",".join(sorted(found))


@pytest.fixture(scope="module")
def audit_gateway(
    backend_url: str, upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """A second server on the same backend whose response policy is audit-only."""
    profile, reader = start_gateway(
        tmp_path_factory.mktemp("audit-gateway"),
        backend_url.replace("bastion.db", "audit.db"),
        upstreams,
    )
    text = profile.joinpath("profile.yaml").read_text()
    profile.joinpath("profile.yaml").write_text(
        text.replace("response_secrets: redact", "response_secrets: audit")
    )
    try:
        with running_server(profile) as server:
            gateway = Gateway(server, reader, upstreams)
            cli(profile, "admin", "users", "create", "bob", "--role", "user")
            gateway.keys["alice"] = cli(profile, "admin", "keys", "issue", "bob", "--name", "e2e")
            yield gateway
    finally:
        reader.close()


@pytest.fixture
def audit_gw(audit_gateway: Gateway) -> Gateway:
    audit_gateway.up.reset()
    return audit_gateway


def create(gw: Gateway, trace: str) -> tuple[Any, bytes]:
    """The parsed message and the bytes Bastion answered with."""
    raw = gw.anthropic().messages.with_raw_response.create(
        model="claude-opus-4-5", max_tokens=64, messages=ASK, extra_headers={"x-trace-id": trace}
    )
    return raw.parse(), raw.http_response.content


def test_redact_mode_redacts_a_non_streaming_answer(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(
        Reply(text=TEXT, tool_calls=[ToolCall("notify", {"token": SLACK_TOKEN, "to": "#ops"})])
    )
    trace = new_trace("redact")
    message, raw = create(gw, trace)
    assert raw != gw.up.anthropic.sent[-1]
    text, tool = message.content
    assert text.type == "text" and tool.type == "tool_use"
    assert text.text == SCANNER.redact_text(TEXT)[0]
    assert AWS_KEY not in text.text and "[REDACTED:" in text.text
    assert tool.input["to"] == "#ops"
    assert SLACK_TOKEN not in tool.input["token"] and "[REDACTED:" in tool.input["token"]
    row = gw.row(trace)
    assert (row["status"], row["outcome"]) == (200, "success")
    assert row["response_findings"] == pattern_ids(TEXT, SLACK_TOKEN)


def test_redact_mode_redacts_for_openai_callers_too(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text=TEXT))
    trace = new_trace("redact-oa")
    completion = gw.openai().chat.completions.create(
        model="claude-opus-4-5",
        messages=ASK,  # type: ignore[arg-type]
        extra_headers={"x-trace-id": trace},
    )
    content = completion.choices[0].message.content
    assert content == SCANNER.redact_text(TEXT)[0] and AWS_KEY not in content
    assert gw.row(trace)["response_findings"] == pattern_ids(TEXT)


def test_clean_answer_records_no_findings(gw: Gateway) -> None:
    gw.up.anthropic.enqueue(Reply(text="Nothing to see."))
    trace = new_trace("clean")
    message, raw = create(gw, trace)
    assert message.content[0].text == "Nothing to see."  # type: ignore[union-attr]
    # The untouched document is relayed as the upstream sent it.
    assert raw == gw.up.anthropic.sent[-1]
    assert gw.row(trace)["response_findings"] is None


def test_streamed_secret_is_recorded_not_held_back(gw: Gateway) -> None:
    # Streamed eight characters at a time, so the key is cut across deltas.
    gw.up.anthropic.enqueue(Reply(text=TEXT, delta_size=8, split=5))
    trace = new_trace("stream-secret")
    with gw.anthropic().messages.stream(
        model="claude-opus-4-5", max_tokens=64, messages=ASK, extra_headers={"x-trace-id": trace}
    ) as stream:
        message = stream.get_final_message()
    assert message.content[0].text == TEXT  # type: ignore[union-attr]
    row = gw.row(trace)
    assert (row["status"], row["streaming"]) == (200, True)
    assert row["response_findings"] == pattern_ids(TEXT)


def test_streamed_secret_in_tool_arguments_of_a_translated_stream(gw: Gateway) -> None:
    gw.up.openai.enqueue(
        Reply(tool_calls=[ToolCall("notify", {"token": SLACK_TOKEN})], delta_size=4)
    )
    trace = new_trace("stream-secret-oa")
    with gw.anthropic().messages.stream(
        model="gpt-4o", max_tokens=64, messages=ASK, extra_headers={"x-trace-id": trace}
    ) as stream:
        message = stream.get_final_message()
    assert message.content[0].input == {"token": SLACK_TOKEN}  # type: ignore[union-attr]
    assert gw.row(trace)["response_findings"] == pattern_ids(SLACK_TOKEN)


def test_audit_mode_records_without_redacting(audit_gw: Gateway) -> None:
    audit_gw.up.anthropic.enqueue(Reply(text=TEXT))
    trace = new_trace("audit")
    message, raw = create(audit_gw, trace)
    assert message.content[0].text == TEXT  # type: ignore[union-attr]
    # Audit-only relays the upstream's bytes untouched.
    assert raw == audit_gw.up.anthropic.sent[-1]
    row = audit_gw.row(trace)
    assert (row["status"], row["outcome"]) == (200, "success")
    assert row["response_findings"] == pattern_ids(TEXT)
