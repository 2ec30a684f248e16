"""The governed proxy end to end: the official SDK client (both protocol eras) against
Bastion on loopback, in front of a real SDK server over streamable HTTP, on SQLite and
PostgreSQL. Every call is checked on both sides: what the client got, what the server
saw, and the ``mcp_tool_executions`` / ``governance_decisions`` rows."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from mcp.shared.exceptions import MCPError

from bastion import __version__
from bastion.domains.mcp import McpSettings
from bastion.infra.db import create_engine
from tests.domains.mcp.conftest import NO_REPO_DELETION, PROTOCOL_MODES, Bastion, cli, user_id
from tests.fakes.mcp_servers import HttpMcpServer, aws_access_key_id, github_token
from tests.support import running_server, write_profile

UPSTREAM_KEY = github_token()
UPSTREAM_BEARER = "upstream-" + secrets.token_hex(16)
FAKE_TOOLS = {
    "echo",
    "add",
    "load_config",
    "sleep",
    "progress",
    "deploy",
    "delete_repository",
    "search",
}


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[HttpMcpServer]:
    with HttpMcpServer() as server:
        yield server


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str, fake: HttpMcpServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bastion]:
    profile = write_profile(
        tmp_path_factory.mktemp("profile"),
        module_db_url,
        {
            "governance": NO_REPO_DELETION,
            "rate_limits": {"requests_per_second": 1000},
            "mcp": {
                "allowed_origins": ["https://console.example.test"],
                "health_interval_seconds": 3600,
                "servers": [
                    {
                        "name": "fake",
                        "description": "The fake HTTP server",
                        "url": fake.url,
                        "credentials": {
                            "headers": {
                                "X-Upstream-Key": {"secret": "fake_key"},
                                "Authorization": {"secret": "fake_bearer", "prefix": "Bearer "},
                            }
                        },
                        "tools": {"deny": ["internal_*"]},
                        "timeout_seconds": 1.5,
                    },
                    {"name": "handshake", "url": fake.url, "protocol": "legacy"},
                ],
            },
        },
        {"fake_key": UPSTREAM_KEY, "fake_bearer": UPSTREAM_BEARER},
    )
    # A second registration of the same upstream, from services/mcp/: only for callers
    # of tier service and up holding mcp:restricted.
    (profile / "services" / "mcp").mkdir(parents=True)
    (profile / "services" / "mcp" / "restricted.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "restricted",
                "url": fake.url,
                "required_scopes": ["mcp:restricted"],
                "min_tier": "service",
            }
        )
    )
    db = create_engine(module_db_url)
    try:
        with running_server(profile) as server:
            yield Bastion(server, profile, db)
    finally:
        await db.dispose()


def text_of(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


# Listing


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_tools_list_is_filtered_per_caller(bastion: Bastion, mode: str) -> None:
    async with bastion.client("fake", bastion.token(user_id()), mode=mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        names = {tool.name for tool in (await client.list_tools()).tools}
    # internal_debug: the server's deny glob; admin_reset: an admin-only prefix.
    assert names == FAKE_TOOLS

    async with bastion.client("fake", bastion.token(user_id(), "admin"), mode=mode) as client:
        admin_names = {tool.name for tool in (await client.list_tools()).tools}
    assert admin_names == FAKE_TOOLS | {"admin_reset"}


async def test_a_tool_acl_hides_and_denies(bastion: Bastion, tmp_path: Path) -> None:
    """The entity ACL for ``server/tool`` applies to listings and calls alike."""
    # The module server has no ACL; this one denies role `user` the add tool.
    fake_url = bastion.platform.contexts["mcp"].config_as(McpSettings).servers[0].url
    profile = write_profile(
        tmp_path / "acl",
        str(bastion.platform.profile.database.url),
        {
            "governance": {
                "scope_check": {
                    "acl": [
                        {
                            "type": "tool",
                            "name": "fake/add",
                            "rules": [{"effect": "deny", "role": "user"}],
                        }
                    ]
                }
            },
            "mcp": {
                "health_interval_seconds": 3600,
                "servers": [{"name": "fake", "url": fake_url}],
            },
        },
    )
    with running_server(profile) as server:
        acl = Bastion(server, profile, bastion.db)
        async with acl.client("fake", acl.token(user_id())) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert "add" not in names and "echo" in names
            with pytest.raises(MCPError) as denied:
                await client.call_tool("add", {"a": 1, "b": 2})
        assert denied.value.error.data["stage"] == "scope_check"
        assert denied.value.error.data["rule"] == "acl.role_deny"


# Calls


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_allowed_call_reaches_the_server_and_is_audited(
    bastion: Bastion, fake: HttpMcpServer, mode: str
) -> None:
    who, trace = user_id(), secrets.token_hex(16)
    marker = f"hello {secrets.token_hex(4)}"
    async with bastion.client("fake", bastion.token(who), mode=mode, trace_id=trace) as client:
        result = await client.call_tool("echo", {"text": marker})
    assert not result.is_error and text_of(result) == marker
    assert {"text": marker} in fake.recorded.tool_calls("echo")

    row = await bastion.execution(trace)
    assert (row["server"], row["method"], row["tool"], row["status"]) == (
        "fake",
        "tools/call",
        "echo",
        "success",
    )
    assert row["user_id"] == who and row["tenant_id"] == "default"
    assert row["protocol_version"] == ("2026-07-28" if mode == "auto" else "2025-11-25")
    assert len(row["arguments_sha256"]) == 64 and row["duration_ms"] > 0
    assert row["upstream_ms"] is not None and row["upstream_ms"] <= row["duration_ms"]
    assert (row["mcp_session_id"] is None) == (mode == "auto")
    decision = [d for d in await bastion.decisions(trace) if d["target_type"] == "tool"]
    assert [(d["decision"], d["target_server"], d["target_name"]) for d in decision] == [
        ("allow", "fake", "echo")
    ]


async def test_a_secret_in_the_arguments_is_denied_before_the_server_sees_it(
    bastion: Bastion, fake: HttpMcpServer
) -> None:
    secret, trace = github_token(), secrets.token_hex(16)
    async with bastion.client("fake", bastion.token(user_id()), trace_id=trace) as client:
        with pytest.raises(MCPError) as denied:
            await client.call_tool("echo", {"text": f"deploy with {secret}"})
    error = denied.value.error
    assert error.code == -32003
    assert error.data["stage"] == "secret_scan" and error.data["rule"] == "secret.github-pat"
    assert error.data["trace_id"] == trace
    assert secret not in str(error.message) + str(error.data)
    assert all(secret not in str(args) for _, args in fake.recorded.calls)

    row = await bastion.execution(trace)
    assert (row["status"], row["stage"], row["rule"]) == (
        "denied",
        "secret_scan",
        "secret.github-pat",
    )
    assert row["upstream_ms"] is None
    [decision] = await bastion.decisions(trace)
    assert (decision["decision"], decision["stage"]) == ("deny", "secret_scan")


async def test_a_blocklisted_tool_is_denied(bastion: Bastion, fake: HttpMcpServer) -> None:
    trace = secrets.token_hex(16)
    async with bastion.client("fake", bastion.token(user_id()), trace_id=trace) as client:
        with pytest.raises(MCPError) as denied:
            await client.call_tool("delete_repository", {"name": "billing"})
    assert denied.value.error.data["stage"] == "blocklist"
    assert denied.value.error.data["rule"] == "blocklist.no-repo-deletion"
    assert "deleted by people" in denied.value.error.message
    assert fake.recorded.tool_calls("delete_repository") == []
    row = await bastion.execution(trace)
    assert (row["status"], row["stage"]) == ("denied", "blocklist")


async def test_a_tool_hidden_by_the_deny_glob_cannot_be_called(
    bastion: Bastion, fake: HttpMcpServer
) -> None:
    trace = secrets.token_hex(16)
    async with bastion.client("fake", bastion.token(user_id()), trace_id=trace) as client:
        with pytest.raises(MCPError) as denied:
            await client.call_tool("internal_debug", {})
    assert denied.value.error.data["stage"] == "mcp.tool_filter"
    assert denied.value.error.data["rule"] == "tools.deny"
    assert fake.recorded.tool_calls("internal_debug") == []
    row = await bastion.execution(trace)
    assert (row["status"], row["stage"], row["rule"]) == ("denied", "mcp.tool_filter", "tools.deny")
    # Bastion's own checks deny before the chain: no decision is recorded for them.
    assert await bastion.decisions(trace) == []


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_secret_in_a_tool_result_is_redacted(
    bastion: Bastion, fake: HttpMcpServer, mode: str
) -> None:
    trace = secrets.token_hex(16)
    async with bastion.client(
        "fake", bastion.token(user_id()), mode=mode, trace_id=trace
    ) as client:
        result = await client.call_tool("load_config", {})
    text = text_of(result)
    assert fake.leaked_secret not in text
    assert "aws_access_key_id = AKIA[REDACTED:aws-access-key-id]" in text
    assert "region = eu-west-1" in text
    row = await bastion.execution(trace)
    assert row["status"] == "success"
    assert '"pattern_id":"aws-access-key-id"' in row["result_findings"]
    assert fake.leaked_secret not in row["result_findings"]


async def test_resources_and_prompts_pass_the_chain(bastion: Bastion, fake: HttpMcpServer) -> None:
    trace = secrets.token_hex(16)
    async with bastion.client("fake", bastion.token(user_id()), trace_id=trace) as client:
        greeting = await client.read_resource("memo://greeting")
        assert greeting.contents[0].text == "hello from the fake server"  # type: ignore[union-attr]
        credentials = await client.read_resource("memo://credentials")
        prompt = await client.get_prompt("review", {"code": "print(1)"})
        with pytest.raises(MCPError) as denied:
            await client.get_prompt("review", {"code": f"key = {aws_access_key_id()}"})
    assert fake.leaked_secret not in credentials.contents[0].text  # type: ignore[union-attr]
    assert "print(1)" in prompt.messages[0].content.text  # type: ignore[union-attr]
    assert denied.value.error.data["stage"] == "secret_scan"

    rows = await bastion.executions(4, trace_id=trace)
    by_call = {(r["method"], r["tool"], r["status"]) for r in rows}
    assert by_call == {
        ("resources/read", "memo://greeting", "success"),
        ("resources/read", "memo://credentials", "success"),
        ("prompts/get", "review", "success"),
        ("prompts/get", "review", "denied"),
    }
    targets = {(d["target_type"], d["target_name"]) for d in await bastion.decisions(trace)}
    assert targets == {
        ("resource", "memo://greeting"),
        ("resource", "memo://credentials"),
        ("mcp_prompt", "review"),
    }


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_progress_notifications_are_relayed_as_sse(bastion: Bastion, mode: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with bastion.client("fake", bastion.token(user_id()), mode=mode) as client:
        result = await client.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
    assert text_of(result) == "3 steps done"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def test_sse_and_json_replies_on_the_wire(bastion: Bastion) -> None:
    """A silent call answers JSON; one with progress answers an SSE stream."""
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    token = bastion.token(user_id())
    headers = {"mcp_protocol_version": "2026-07-28", "mcp_method": "tools/call"}
    plain = await bastion.post(
        "fake",
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 2, "b": 3}, "_meta": envelope},
        },
        token=token,
        mcp_name="add",
        **headers,
    )
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["id"] == 7 and plain.json()["result"]["structuredContent"] == {"result": 5}
    streamed = await bastion.post(
        "fake",
        {
            "jsonrpc": "2.0",
            "id": "p-1",
            "method": "tools/call",
            "params": {
                "name": "progress",
                "arguments": {"steps": 2},
                "_meta": {**envelope, "progressToken": "mine"},
            },
        },
        token=token,
        mcp_name="progress",
        **headers,
    )
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = [
        line.removeprefix("data: ")
        for line in streamed.text.splitlines()
        if line.startswith("data: ")
    ]
    assert len(events) == 3
    assert '"progressToken":"mine"' in events[0] and '"progress":1' in events[0]
    assert '"id":"p-1"' in events[-1] and '"2 steps done"' in events[-1]


async def test_a_slow_tool_times_out(bastion: Bastion, fake: HttpMcpServer) -> None:
    trace = secrets.token_hex(16)
    async with bastion.client("fake", bastion.token(user_id()), trace_id=trace) as client:
        with pytest.raises(MCPError) as timed_out:
            await client.call_tool("sleep", {"seconds": 5})
        assert timed_out.value.error.code == -32001
        assert "1.5s" in timed_out.value.error.message
        # The session survives a timeout.
        assert text_of(await client.call_tool("echo", {"text": "still here"})) == "still here"
    assert {"seconds": 5} in fake.recorded.tool_calls("sleep")
    rows = await bastion.executions(2, trace_id=trace)
    assert {(r["tool"], r["status"]) for r in rows} == {("sleep", "timeout"), ("echo", "success")}


# Credentials


async def test_upstream_credentials_are_injected_and_the_caller_token_is_not(
    bastion: Bastion, fake: HttpMcpServer
) -> None:
    token = bastion.token(user_id())
    marker = secrets.token_hex(8)
    before = len(fake.recorded.headers)
    async with bastion.client("fake", token) as client:
        listed = await client.list_tools()
        result = await client.call_tool("echo", {"text": marker})
    seen = fake.recorded.headers[before:]
    assert seen, "the server saw no request"
    for headers in seen:
        assert headers["x-upstream-key"] == UPSTREAM_KEY
        assert headers["authorization"] == f"Bearer {UPSTREAM_BEARER}"
        assert token not in str(headers)
        assert headers["user-agent"] == f"bastion/{__version__}"
        assert headers["accept-encoding"] == "identity" and "cookie" not in headers
    # Nothing the client received carries the upstream credentials.
    received = listed.model_dump_json() + result.model_dump_json()
    registry = await bastion.registry(bastion.token(user_id(), "admin"))
    for value in (UPSTREAM_KEY, UPSTREAM_BEARER):
        assert value not in received and value not in str(registry)
    raw = await bastion.post(
        "fake",
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        token=token,
    )
    assert UPSTREAM_KEY not in raw.text and UPSTREAM_KEY not in str(raw.headers)


# Protocol details


async def test_2025_06_18_handshake_over_raw_http(bastion: Bastion, fake: HttpMcpServer) -> None:
    token = bastion.token(user_id())
    opened = await bastion.post(
        "fake",
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
        token=token,
    )
    assert opened.status_code == 200, opened.text
    result = opened.json()["result"]
    assert result["protocolVersion"] == "2025-06-18"
    assert result["serverInfo"]["name"] == "bastion/fake"
    assert result["capabilities"]["tools"] == {}
    session = opened.headers["mcp-session-id"]
    headers = {"mcp_session_id": session, "mcp_protocol_version": "2025-06-18"}
    initialized = await bastion.post(
        "fake", {"jsonrpc": "2.0", "method": "notifications/initialized"}, token=token, **headers
    )
    assert initialized.status_code == 202
    listed = await bastion.post(
        "fake", {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, token=token, **headers
    )
    assert listed.status_code == 200
    body = listed.json()
    assert {t["name"] for t in body["result"]["tools"]} == FAKE_TOOLS
    # Fields of the 2026 revision do not leak into a 2025 session.
    assert not {"resultType", "ttlMs", "cacheScope"} & set(body["result"])
    called = await bastion.post(
        "fake",
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 20, "b": 22}},
        },
        token=token,
        **headers,
    )
    assert called.json()["result"]["structuredContent"] == {"result": 42}


async def test_modern_results_are_private_to_the_caller(bastion: Bastion) -> None:
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    listed = await bastion.post(
        "fake",
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope}},
        token=bastion.token(user_id()),
        mcp_protocol_version="2026-07-28",
        mcp_method="tools/list",
    )
    result = listed.json()["result"]
    assert (result["resultType"], result["cacheScope"], result["ttlMs"]) == (
        "complete",
        "private",
        0,
    )


MALFORMED = [
    (b"{not json", 400, -32700),
    (b"[]", 400, -32600),
    (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', 400, -32600),
    (b'{"jsonrpc": "2.0", "id": 1}', 400, -32600),
    (b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}', 400, -32600),
    (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}', 400, -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": 5}', 400, -32602),
    (b'"just a string"', 400, -32600),
]


@pytest.mark.parametrize(("body", "status", "code"), MALFORMED)
async def test_malformed_json_rpc_gets_a_json_rpc_error(
    bastion: Bastion, body: bytes, status: int, code: int
) -> None:
    response = await bastion.post("fake", body, token=bastion.token(user_id()))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["jsonrpc"] == "2.0"
    assert document["error"]["code"] == code
    assert document["error"]["data"]["trace_id"] == response.headers["x-trace-id"]


@pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")
async def test_bad_params_and_unknown_methods(bastion: Bastion) -> None:
    async with bastion.client("fake", bastion.token(user_id()), mode="legacy") as client:
        await client.send_ping()  # answered by Bastion itself
        with pytest.raises(MCPError) as subscribe:
            await client.subscribe_resource("memo://greeting")
        assert subscribe.value.error.code == -32601
        assert "not available through Bastion" in subscribe.value.error.message
    response = await bastion.post(
        "fake",
        {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {
                "name": "echo",
                "arguments": ["not", "an", "object"],
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        },
        token=bastion.token(user_id()),
        mcp_protocol_version="2026-07-28",
        mcp_method="tools/call",
        mcp_name="echo",
    )
    assert response.json()["id"] == 9
    assert response.json()["error"]["code"] == -32602


async def test_modern_headers_must_match_the_body(bastion: Bastion) -> None:
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x"}, "_meta": envelope},
    }
    token = bastion.token(user_id())
    mismatch = await bastion.post(
        "fake",
        body,
        token=token,
        mcp_protocol_version="2026-07-28",
        mcp_method="tools/call",
        mcp_name="add",
    )
    assert mismatch.status_code == 400
    assert (mismatch.json()["id"], mismatch.json()["error"]["code"]) == (3, -32020)
    unknown_version = await bastion.post(
        "fake",
        {
            **body,
            "params": {
                **body["params"],
                "_meta": {**envelope, "io.modelcontextprotocol/protocolVersion": "2099-01-01"},
            },
        },
        token=token,
        mcp_protocol_version="2099-01-01",
        mcp_method="tools/call",
        mcp_name="echo",
    )
    assert unknown_version.json()["error"]["code"] == -32022
    assert unknown_version.json()["error"]["data"]["supported"] == ["2026-07-28"]
    no_envelope = await bastion.post(
        "fake",
        {**body, "params": {"name": "echo", "arguments": {"text": "x"}}},
        token=token,
        mcp_protocol_version="2026-07-28",
        mcp_method="tools/call",
        mcp_name="echo",
    )
    assert no_envelope.json()["error"]["code"] == -32602


# Sessions, origins, access


async def test_sessions_belong_to_their_principal(bastion: Bastion) -> None:
    alice, bob = bastion.token(user_id()), bastion.token(user_id())
    opened = await bastion.post(
        "fake",
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "a", "version": "1"},
            },
        },
        token=alice,
    )
    session = opened.headers["mcp-session-id"]
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert (
        await bastion.post("fake", ping, token=alice, mcp_session_id=session)
    ).status_code == 200
    stolen = await bastion.post("fake", ping, token=bob, mcp_session_id=session)
    assert stolen.status_code == 404 and stolen.json()["error"]["message"] == "Session not found"
    forged = await bastion.post("fake", ping, token=alice, mcp_session_id=session[:-2] + "xx")
    assert forged.status_code == 404
    other_server = await bastion.post(
        "restricted", ping, token=bastion.token(user_id(), "admin"), mcp_session_id=session
    )
    assert other_server.status_code == 404
    missing = await bastion.post("fake", ping, token=alice)
    assert missing.status_code == 400
    async with httpx.AsyncClient() as http:
        ended = await http.delete(
            bastion.endpoint("fake"),
            headers={"authorization": f"Bearer {alice}", "mcp-session-id": session},
        )
        assert ended.status_code == 200
        get = await http.get(bastion.endpoint("fake"), headers={"authorization": f"Bearer {alice}"})
        assert get.status_code == 405 and get.headers["allow"] == "POST, DELETE"
    after = await bastion.post("fake", ping, token=alice, mcp_session_id=session)
    assert after.status_code == 404


async def test_origin_is_validated(bastion: Bastion) -> None:
    token = bastion.token(user_id())
    ping = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "o", "version": "1"},
        },
    }
    evil = await bastion.post("fake", ping, token=token, origin="https://evil.example.test")
    assert evil.status_code == 403 and evil.json()["error"]["code"] == -32003
    allowed = await bastion.post("fake", ping, token=token, origin="https://console.example.test")
    assert allowed.status_code == 200
    no_origin = await bastion.post("fake", ping, token=token)
    assert no_origin.status_code == 200


async def test_authentication_and_server_access(bastion: Bastion) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    anonymous = await bastion.post("fake", ping, token=None)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == -32001
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    unknown = await bastion.post("nope", ping, token=bastion.token(user_id()))
    assert (
        unknown.status_code == 404
        and "unknown MCP server 'nope'" in unknown.json()["error"]["message"]
    )
    # restricted needs tier service and mcp:restricted
    user = await bastion.post("restricted", ping, token=bastion.token(user_id()))
    assert user.status_code == 403 and user.json()["error"]["data"]["stage"] == "mcp.server"
    service_scopes = frozenset({"mcp:call", "mcp:restricted"})
    allowed = bastion.token(user_id(), "service", scopes=service_scopes)
    async with bastion.client("restricted", allowed) as client:
        assert "echo" in {tool.name for tool in (await client.list_tools()).tools}


async def test_registry_lists_what_the_caller_may_see(bastion: Bastion) -> None:
    async with bastion.client("fake", bastion.token(user_id())) as client:
        await client.list_tools()
    view = await bastion.registry(bastion.token(user_id()))
    assert [s["name"] for s in view["servers"]] == ["fake", "handshake"]
    fake_entry, handshake_entry = view["servers"]
    assert handshake_entry["tools"] is None  # never listed yet
    assert fake_entry["endpoint"] == "/api/v1/mcp/fake/mcp"
    assert fake_entry["url"] == bastion.endpoint("fake")
    assert (fake_entry["transport"], fake_entry["source"]) == ("http", "profile")
    assert fake_entry["status"] == "unknown"  # the health job has not run yet
    assert fake_entry["tools"] == len(FAKE_TOOLS)
    assert fake_entry["protocol_version"] == "2026-07-28"
    assert "upstream" not in fake_entry

    service = bastion.token(user_id(), "service", scopes=frozenset({"mcp:call", "mcp:restricted"}))
    async with bastion.client("restricted", service) as client:
        await client.list_tools()
    both = await bastion.registry(service)
    assert [s["name"] for s in both["servers"]] == ["fake", "handshake", "restricted"]
    assert set(both["collisions"]) >= {"echo", "search"}
    assert both["collisions"]["echo"] == ["fake", "restricted"]
    assert both["servers"][0]["tool_collisions"]["echo"] == ["restricted"]
    admin = await bastion.registry(bastion.token(user_id(), "admin"))
    assert (
        admin["servers"][0]["upstream"]
        == bastion.platform.contexts["mcp"].config_as(McpSettings).servers[0].url
    )


async def test_audit_trace_links_identity_decision_and_execution(bastion: Bastion) -> None:
    who, trace = user_id(), secrets.token_hex(16)
    async with bastion.client("fake", bastion.token(who), trace_id=trace) as client:
        await client.call_tool("add", {"a": 1, "b": 1})
    row = await bastion.execution(trace)
    result = await cli(bastion.profile, "audit", "trace", trace, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    linked = json.loads(result.stdout)
    tables = {entry["table"] for entry in linked}
    assert {"governance_decisions", "mcp_tool_executions"} <= tables
    execution = next(e for e in linked if e["table"] == "mcp_tool_executions")
    decision = next(
        e for e in linked if e["table"] == "governance_decisions" and e["target_type"] == "tool"
    )
    assert execution["id"] == row["id"] and execution["user_id"] == who
    assert (execution["tool"], execution["status"]) == ("add", "success")
    assert (decision["user_id"], decision["decision"], decision["target_name"]) == (
        who,
        "allow",
        "add",
    )


# A handshake-era upstream


def upstream_sessions(fake: HttpMcpServer, since: int) -> list[str]:
    return [h["mcp-session-id"] for h in fake.recorded.headers[since:] if "mcp-session-id" in h]


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_each_principal_gets_its_own_upstream_session(
    bastion: Bastion, fake: HttpMcpServer, mode: str
) -> None:
    alice, bob = bastion.token(user_id()), bastion.token(user_id())
    start = len(fake.recorded.headers)
    async with bastion.client("handshake", alice, mode=mode) as client:
        await client.call_tool("echo", {"text": "a1"})
        await client.call_tool("echo", {"text": "a2"})
        alice_sessions = set(upstream_sessions(fake, start))
    middle = len(fake.recorded.headers)
    async with bastion.client("handshake", bob, mode=mode) as client:
        await client.call_tool("echo", {"text": "b1"})
        bob_sessions = set(upstream_sessions(fake, middle))
    assert len(alice_sessions) == 1 and len(bob_sessions) == 1
    assert alice_sessions != bob_sessions
    for headers in fake.recorded.headers[start:]:
        assert headers.get("mcp-protocol-version") in (None, "2025-11-25")
        assert alice not in str(headers) and bob not in str(headers)
    deletes = [
        h
        for h in fake.recorded.headers[start:]
        if h[":method"] == "DELETE" and h.get("mcp-session-id") in alice_sessions
    ]
    # A handshake-era client ends its session (DELETE) and Bastion ends the upstream one;
    # a 2026 client has no session to end, so the upstream one waits for the idle timeout.
    assert len(deletes) == (1 if mode == "legacy" else 0)


async def test_a_forgotten_upstream_session_is_reopened(
    bastion: Bastion, fake: HttpMcpServer
) -> None:
    start = len(fake.recorded.headers)
    async with bastion.client("handshake", bastion.token(user_id())) as client:
        await client.call_tool("echo", {"text": "before"})
        [session] = set(upstream_sessions(fake, start))
        async with httpx.AsyncClient() as http:
            gone = await http.delete(
                fake.url,
                headers={"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"},
            )
        assert gone.status_code == 200
        result = await client.call_tool("echo", {"text": "after"})
    assert text_of(result) == "after"
    assert len(set(upstream_sessions(fake, start))) == 2


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_routable_arguments_are_mirrored_into_headers_upstream(
    bastion: Bastion, fake: HttpMcpServer, mode: str
) -> None:
    """A 2026-07-28 server checks Mcp-Param-* headers against x-mcp-header arguments;
    Bastion mirrors them from the arguments it forwards, whatever the client sent."""
    start = len(fake.recorded.headers)
    async with bastion.client("fake", bastion.token(user_id()), mode=mode) as client:
        result = await client.call_tool("deploy", {"region": "eu-west-1", "version": "1.4.2"})
    assert text_of(result) == "1.4.2 deployed to eu-west-1"
    calls = [h for h in fake.recorded.headers[start:] if h.get("mcp-name") == "deploy"]
    assert [h.get("mcp-param-region") for h in calls] == ["eu-west-1"]


async def test_audit_mode_records_result_secrets_without_redacting(
    bastion: Bastion, fake: HttpMcpServer, tmp_path: Path
) -> None:
    profile = write_profile(
        tmp_path / "audit-only",
        str(bastion.platform.profile.database.url),
        {
            "mcp": {
                "response_secrets": "audit",
                "health_interval_seconds": 3600,
                "servers": [{"name": "fake", "url": fake.url}],
            }
        },
    )
    trace = secrets.token_hex(16)
    with running_server(profile) as server:
        audit_only = Bastion(server, profile, bastion.db)
        async with audit_only.client("fake", audit_only.token(user_id()), trace_id=trace) as client:
            result = await client.call_tool("load_config", {})
    assert fake.leaked_secret in text_of(result)
    row = await bastion.execution(trace)
    assert row["status"] == "success" and "aws-access-key-id" in row["result_findings"]
