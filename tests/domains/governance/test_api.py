"""``POST /api/v1/governance/evaluate`` and ``POST /api/v1/hooks/govern`` through a real
server, on SQLite and PostgreSQL: response shapes, errors, and the decision rows."""

from __future__ import annotations

import random
import secrets
import string
from typing import Any

import pytest

from tests.domains.governance.conftest import Bastion

EVALUATE = "/api/v1/governance/evaluate"
HOOK = "/api/v1/hooks/govern"
CHAIN = ["scope_check", "secret_scan", "blocklist", "rate_limit", "quota"]
RNG = random.Random(314)
AWS_KEY = (
    "AK" + "IA" + "".join(RNG.choice(string.ascii_uppercase + string.digits) for _ in "x" * 16)
)
GITHUB_TOKEN = (
    "gh" + "p_" + "".join(RNG.choice(string.ascii_letters + string.digits) for _ in "x" * 36)
)


def user(prefix: str = "usr") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def assert_trace(trace: list[dict[str, Any]], results: list[str]) -> None:
    assert [e["stage"] for e in trace] == CHAIN
    assert [e["result"] for e in trace] == results
    for entry in trace:
        assert isinstance(entry["duration_us"], int | float) and entry["duration_us"] >= 0


# Evaluate


async def test_evaluate_allow_shape_and_row(bastion: Bastion) -> None:
    who = user()
    response = await bastion.post(
        EVALUATE,
        bastion.token(who),
        {"target": {"type": "prompt"}, "input": "summarise this changelog"},
        **{"x-client-id": "ci-bot"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["decision", "stage", "rule", "reason", "trace", "trace_id"]
    assert (body["decision"], body["stage"], body["rule"], body["reason"]) == (
        "allow",
        None,
        None,
        None,
    )
    assert_trace(body["trace"], ["allow"] * 5)
    assert body["trace_id"] == response.headers["x-trace-id"]

    row = await bastion.row_for(body["trace_id"])
    assert (row["user_id"], row["tenant_id"], row["tier"], row["client_id"]) == (
        who,
        "default",
        "user",
        "ci-bot",
    )
    assert (row["target_type"], row["target_server"], row["target_name"]) == ("prompt", None, None)
    assert (row["decision"], row["stage"], row["rule"], row["reason"]) == (
        "allow",
        None,
        None,
        None,
    )
    assert [e["stage"] for e in row["trace"]] == CHAIN
    assert row["duration_us"] >= 0


async def test_evaluate_secret_deny_carries_redacted_details(bastion: Bastion) -> None:
    response = await bastion.post(
        EVALUATE,
        bastion.token(user()),
        {
            "target": {"type": "tool", "server": "github", "tool": "create_issue"},
            "input": {"title": "ci", "env": [{"name": "GH", "value": GITHUB_TOKEN}]},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["decision", "stage", "rule", "reason", "trace", "details", "trace_id"]
    assert (body["decision"], body["stage"], body["rule"]) == (
        "deny",
        "secret_scan",
        "secret.github-pat",
    )
    assert body["reason"] == "input contains a secret (github-pat) at $.env[0].value"
    assert body["details"] == {
        "findings": [
            {
                "pattern_id": "github-pat",
                "path": "$.env[0].value",
                "redacted": "ghp_[REDACTED:github-pat]",
            }
        ],
        "finding_count": 1,
    }
    assert_trace(body["trace"], ["allow", "deny", "skip", "skip", "skip"])
    assert body["trace"][1]["rule"] == "secret.github-pat"
    assert GITHUB_TOKEN not in response.text
    row = await bastion.row_for(body["trace_id"])
    assert (row["target_type"], row["target_server"], row["target_name"]) == (
        "tool",
        "github",
        "create_issue",
    )
    assert (row["decision"], row["stage"], row["rule"]) == (
        "deny",
        "secret_scan",
        "secret.github-pat",
    )
    assert GITHUB_TOKEN not in repr(row)


@pytest.mark.parametrize(
    ("target", "data", "stage", "rule", "reason"),
    [
        (
            {"type": "tool", "server": "payroll", "tool": "export_all"},
            {},
            "blocklist",
            "blocklist.payroll-export",
            "payroll export",
        ),
        (
            {"type": "tool", "tool": "Bash"},
            {"command": "rm -rf / "},
            "blocklist",
            "blocklist.rm-root",
            "deletes the filesystem root",
        ),
        (
            {"type": "prompt"},
            "What is Project Nightjar?",
            "blocklist",
            "blocklist.codename",
            "internal codename",
        ),
        (
            {"type": "tool", "server": "ops", "tool": "admin_drop_cache"},
            {},
            "scope_check",
            "scope.admin_tool",
            "tool 'admin_drop_cache' is reserved for the admin tier",
        ),
    ],
)
async def test_evaluate_denies_with_exact_rule(
    bastion: Bastion,
    target: dict[str, str],
    data: object,
    stage: str,
    rule: str,
    reason: str,
) -> None:
    response = await bastion.post(
        EVALUATE, bastion.token(user()), {"target": target, "input": data}
    )
    body = response.json()
    assert (body["decision"], body["stage"], body["rule"], body["reason"]) == (
        "deny",
        stage,
        rule,
        reason,
    )
    assert "details" not in body


async def test_evaluate_route_and_agent_targets(bastion: Bastion) -> None:
    token = bastion.token(user())
    route = await bastion.post(
        EVALUATE,
        token,
        {"target": {"type": "route", "name": "claude-sonnet"}, "input": {"messages": []}},
    )
    assert route.json()["decision"] == "allow"
    row = await bastion.row_for(route.json()["trace_id"])
    assert (row["target_type"], row["target_name"]) == ("route", "claude-sonnet")
    unknown = await bastion.post(
        EVALUATE, token, {"target": {"type": "route", "name": "no-such-route"}, "input": {}}
    )
    assert (unknown.json()["rule"], unknown.json()["reason"]) == (
        "acl.unknown_entity",
        "unknown route 'no-such-route'",
    )
    mcp_client = bastion.token(user("mcp"), "mcp")
    agent = await bastion.post(
        EVALUATE, mcp_client, {"target": {"type": "agent", "name": "researcher"}, "input": "go"}
    )
    assert (agent.json()["rule"], agent.json()["reason"]) == (
        "scope.missing",
        "missing scope 'agents:invoke'",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not valid JSON: "),
        (b"", "body is not valid JSON: "),
        (b"[1, 2]", "body must be a JSON object"),
        (b'{"input": "x"}', "target must be an object with a 'type'"),
        (
            b'{"target": {"type": "email"}, "input": "x"}',
            "target.type must be one of: prompt, tool, route, agent, resource, mcp_prompt",
        ),
        (b'{"target": "prompt"}', "target must be an object with a 'type'"),
        (b'{"target": {"type": "tool"}, "input": {}}', "target.tool is required for a tool target"),
        (
            b'{"target": {"type": "tool", "tool": 7}, "input": {}}',
            "target.tool must be a non-empty string",
        ),
    ],
)
async def test_evaluate_bad_requests_are_400_json(
    bastion: Bastion, body: bytes, message: str
) -> None:
    response = await bastion.post(
        EVALUATE, bastion.token(user()), body, **{"content-type": "application/json"}
    )
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"]["type"] == "invalid_request_error"
    assert payload["error"]["message"].startswith(message)
    assert payload["trace_id"] == response.headers["x-trace-id"]
    # A request that never reached the chain leaves no decision row.
    assert await bastion.rows(trace_id=payload["trace_id"]) == []


@pytest.mark.parametrize("path", [EVALUATE, HOOK])
async def test_credentials_are_required(bastion: Bastion, path: str) -> None:
    response = await bastion.post(path, None, {"target": {"type": "prompt"}, "input": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "authentication_error",
        "message": "authentication required",
    }
    forged = await bastion.post(path, "eyJhbGciOiJIUzI1NiJ9.e30.bad", {"input": "x"})
    assert forged.status_code == 401


# Claude Code hooks


def pre_tool_use(tool_name: str, tool_input: dict[str, Any], session: str) -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": "/home/dev/.claude/projects/x/transcript.jsonl",
        "cwd": "/home/dev/project",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool_name,
        "tool_input": tool_input,
    }


def prompt_submit(prompt: str, session: str) -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": "/home/dev/.claude/projects/x/transcript.jsonl",
        "cwd": "/home/dev/project",
        "hook_event_name": "UserPromptSubmit",
        "prompt": prompt,
    }


async def _hook_row(bastion: Bastion, response: Any) -> dict[str, Any]:
    return await bastion.row_for(response.headers["x-trace-id"])


async def test_pre_tool_use_allow_shape(bastion: Bastion) -> None:
    session = f"sess-{secrets.token_hex(4)}"
    response = await bastion.post(
        HOOK, bastion.token(user()), pre_tool_use("Read", {"file_path": "/tmp/notes.md"}, session)
    )
    assert response.status_code == 200
    assert response.json() == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "allowed by Bastion governance",
        }
    }
    row = await _hook_row(bastion, response)
    assert (row["target_type"], row["target_server"], row["target_name"]) == ("tool", None, "Read")
    assert row["session_id"] == session
    assert row["decision"] == "allow"


async def test_pre_tool_use_deny_shape(bastion: Bastion) -> None:
    session = f"sess-{secrets.token_hex(4)}"
    response = await bastion.post(
        HOOK,
        bastion.token(user()),
        pre_tool_use("Bash", {"command": "rm -rf /", "description": "clean up"}, session),
    )
    assert response.status_code == 200
    assert response.json() == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": (
                "Bastion governance denied (blocklist/blocklist.rm-root): "
                "deletes the filesystem root"
            ),
        }
    }
    row = await _hook_row(bastion, response)
    assert (row["decision"], row["rule"], row["session_id"]) == (
        "deny",
        "blocklist.rm-root",
        session,
    )


async def test_mcp_tool_names_map_to_a_server_and_tool(bastion: Bastion) -> None:
    session = f"sess-{secrets.token_hex(4)}"
    token = bastion.token(user())
    allowed = await bastion.post(
        HOOK, token, pre_tool_use("mcp__github__create_issue", {"title": "bug"}, session)
    )
    assert allowed.json()["hookSpecificOutput"]["permissionDecision"] == "allow"
    row = await _hook_row(bastion, allowed)
    assert (row["target_type"], row["target_server"], row["target_name"]) == (
        "tool",
        "github",
        "create_issue",
    )
    assert row["session_id"] == session
    # The server-qualified blocklist glob sees the mapped server.
    denied = await bastion.post(HOOK, token, pre_tool_use("mcp__payroll__export_csv", {}, session))
    assert denied.json()["hookSpecificOutput"] == {
        "hookEventName": "PreToolUse",
        "permissionDecision": "deny",
        "permissionDecisionReason": (
            "Bastion governance denied (blocklist/blocklist.payroll-export): payroll export"
        ),
    }
    row = await _hook_row(bastion, denied)
    assert (row["target_server"], row["target_name"]) == ("payroll", "export_csv")
    # Names that do not follow the convention stay plain tool names.
    odd = await bastion.post(HOOK, token, pre_tool_use("mcp__lonely", {}, session))
    row = await _hook_row(bastion, odd)
    assert (row["target_server"], row["target_name"]) == (None, "mcp__lonely")


async def test_pre_tool_use_secret_in_tool_input_is_denied_without_echoing_it(
    bastion: Bastion,
) -> None:
    response = await bastion.post(
        HOOK,
        bastion.token(user()),
        pre_tool_use("Bash", {"command": f"aws configure set aws_access_key_id {AWS_KEY}"}, "s1"),
    )
    output = response.json()["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny"
    assert output["permissionDecisionReason"] == (
        "Bastion governance denied (secret_scan/secret.aws-access-key-id): "
        "input contains a secret (aws-access-key-id) at $.command"
    )
    assert AWS_KEY not in response.text


async def test_user_prompt_submit_allow_and_block(bastion: Bastion) -> None:
    token = bastion.token(user())
    session = f"sess-{secrets.token_hex(4)}"
    allowed = await bastion.post(HOOK, token, prompt_submit("refactor the parser", session))
    assert allowed.status_code == 200
    assert allowed.json() == {}
    row = await _hook_row(bastion, allowed)
    assert (row["target_type"], row["decision"], row["session_id"]) == ("prompt", "allow", session)

    blocked = await bastion.post(
        HOOK, token, prompt_submit(f"why does {AWS_KEY} not work?", session)
    )
    assert blocked.status_code == 200
    assert blocked.json() == {
        "decision": "block",
        "reason": (
            "Bastion governance denied (secret_scan/secret.aws-access-key-id): "
            "input contains a secret (aws-access-key-id)"
        ),
    }
    assert AWS_KEY not in blocked.text
    row = await _hook_row(bastion, blocked)
    assert (row["decision"], row["rule"], row["session_id"]) == (
        "deny",
        "secret.aws-access-key-id",
        session,
    )


async def test_signed_session_beats_the_hook_payload(bastion: Bastion) -> None:
    token = bastion.token(user(), session="sess-from-token")
    response = await bastion.post(HOOK, token, prompt_submit("hello", "sess-from-payload"))
    row = await _hook_row(bastion, response)
    assert row["session_id"] == "sess-from-token"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"hook_event_name": "PostToolUse", "tool_name": "Read", "session_id": "s"},
            "unsupported hook_event_name 'PostToolUse': expected PreToolUse or UserPromptSubmit",
        ),
        (
            {"hook_event_name": "Stop", "session_id": "s"},
            "unsupported hook_event_name 'Stop': expected PreToolUse or UserPromptSubmit",
        ),
        (
            {"tool_name": "Read"},
            "unsupported hook_event_name None: expected PreToolUse or UserPromptSubmit",
        ),
        ({"hook_event_name": "PreToolUse", "tool_input": {}}, "PreToolUse needs tool_name"),
        ({"hook_event_name": "UserPromptSubmit"}, "UserPromptSubmit needs prompt"),
        ([], "body must be a JSON object"),
    ],
)
async def test_unsupported_or_malformed_hooks_are_400(
    bastion: Bastion, payload: object, message: str
) -> None:
    response = await bastion.post(HOOK, bastion.token(user()), payload)
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error", "message": message}
    assert await bastion.rows(trace_id=response.headers["x-trace-id"]) == []


async def test_hook_with_invalid_json_is_400(bastion: Bastion) -> None:
    response = await bastion.post(HOOK, bastion.token(user()), b'{"hook_event_name": ')
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body is not valid JSON: ")
