"""Local servers that Bastion spawns over stdio: the official SDK client through Bastion
to a real SDK server process; its environment, per-principal processes for a
handshake-era server, restarts with backoff, timeouts and shutdown; SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from bastion.domains.mcp import McpSettings
from bastion.infra.db import create_engine
from tests.domains.mcp.conftest import PROTOCOL_MODES, Bastion, user_id
from tests.fakes.mcp_servers import STDIO_SERVER, github_token
from tests.support import running_server, write_profile

STDIO_TOKEN = github_token()
SENTINEL = "do-not-inherit-" + secrets.token_hex(4)


def stdio_server(name: str, record: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "command": sys.executable,
        "args": [str(STDIO_SERVER)],
        "env": {"FAKE_MCP_RECORD": str(record), "PLAIN_SETTING": "plain"},
        "credentials": {"env": {"UPSTREAM_TOKEN": {"secret": "stdio_token"}}},
        **extra,
    }


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bastion]:
    directory = tmp_path_factory.mktemp("stdio")
    profile = write_profile(
        directory / "profile",
        module_db_url,
        {
            "rate_limits": {"requests_per_second": 1000},
            "mcp": {
                "health_interval_seconds": 3600,
                "restart_backoff_seconds": 0.1,
                "sse_keepalive_seconds": 0.25,
                "servers": [
                    # 4 s: the fake's interpreter takes 1-2 s to start on a loaded 2-vCPU machine.
                    stdio_server("local", directory / "local.jsonl", timeout_seconds=4),
                    stdio_server("handshake", directory / "handshake.jsonl", protocol="legacy"),
                ],
            },
        },
        {"stdio_token": STDIO_TOKEN},
    )
    db = create_engine(module_db_url)
    with pytest.MonkeyPatch.context() as env:
        # Bastion's own environment: a spawned server must not inherit it.
        env.setenv("BASTION_TEST_SENTINEL", SENTINEL)
        try:
            with running_server(profile) as server:
                yield Bastion(server, profile, db)
        finally:
            await db.dispose()


def record_of(bastion: Bastion, server: str) -> Path:
    spec = next(
        s
        for s in bastion.platform.contexts["mcp"].config_as(McpSettings).servers
        if s.name == server
    )
    return Path(spec.env["FAKE_MCP_RECORD"])


async def pid_of(bastion: Bastion, server: str, token: str, mode: str = "auto") -> int:
    async with bastion.client(server, token, mode=mode) as client:
        result = await client.call_tool("whoami", {})
    assert result.structured_content is not None
    return int(result.structured_content["result"])


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_spawned_server_is_governed_like_a_remote_one(bastion: Bastion, mode: str) -> None:
    trace = secrets.token_hex(16)
    marker = secrets.token_hex(6)
    async with bastion.client(
        "local", bastion.token(user_id()), mode=mode, trace_id=trace
    ) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"echo", "whoami", "sleep"}
        result = await client.call_tool("echo", {"text": marker})
        assert result.content[0].text == marker  # type: ignore[union-attr]
        with pytest.raises(MCPError) as denied:
            await client.call_tool("echo", {"text": f"token {github_token()}"})
    assert denied.value.error.data["stage"] == "secret_scan"
    calls = [r for r in records(record_of(bastion, "local")) if r["event"] == "call"]
    assert [c["arguments"]["text"] for c in calls if c["tool"] == "echo"].count(marker) == 1
    assert all("token " not in c["arguments"].get("text", "") for c in calls)
    rows = await bastion.executions(2, trace_id=trace)
    assert {(r["server"], r["tool"], r["status"]) for r in rows} == {
        ("local", "echo", "success"),
        ("local", "echo", "denied"),
    }


async def test_the_process_gets_its_credentials_and_nothing_of_bastions_environment(
    bastion: Bastion,
) -> None:
    async with bastion.client("local", bastion.token(user_id())) as client:
        listed = await client.list_tools()
        result = await client.call_tool("echo", {"text": "x"})
    starts = [r for r in records(record_of(bastion, "local")) if r["event"] == "start"]
    assert starts
    for start in starts:
        assert start["env"] == {
            "UPSTREAM_TOKEN": STDIO_TOKEN,
            "BASTION_TEST_SENTINEL": None,
            "PLAIN_SETTING": "plain",
        }
    assert STDIO_TOKEN not in listed.model_dump_json() + result.model_dump_json()
    assert STDIO_TOKEN not in str(await bastion.registry(bastion.token(user_id(), "admin")))


async def test_a_modern_server_runs_one_process_for_everyone(bastion: Bastion) -> None:
    alice, bob = bastion.token(user_id()), bastion.token(user_id())
    assert await pid_of(bastion, "local", alice) == await pid_of(bastion, "local", bob)


async def whoami(client: Any) -> int:
    result = await client.call_tool("whoami", {})
    return int(result.structured_content["result"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_handshake_era_server_gets_a_process_per_principal(
    bastion: Bastion, mode: str
) -> None:
    alice, bob = bastion.token(user_id()), bastion.token(user_id())
    async with (
        bastion.client("handshake", alice, mode=mode) as as_alice,
        bastion.client("handshake", bob, mode=mode) as as_bob,
    ):
        alice_pid = await whoami(as_alice)
        assert await whoami(as_alice) == alice_pid
        bob_pid = await whoami(as_bob)
        assert bob_pid != alice_pid
        view = await bastion.registry(alice)
        entry = next(s for s in view["servers"] if s["name"] == "handshake")
        assert entry["protocol_version"] == "2025-11-25" and entry["processes"] >= 2
    if mode == "legacy":
        # Each client ended its session (DELETE): its principal's process goes with it.
        async with asyncio.timeout(10):
            while alive(alice_pid) or alive(bob_pid):
                await asyncio.sleep(0.05)
    else:
        assert alive(alice_pid) and alive(bob_pid)


async def test_a_dead_server_is_restarted(bastion: Bastion) -> None:
    token = bastion.token(user_id())
    first = await pid_of(bastion, "local", token)
    before = next(s for s in (await bastion.registry(token))["servers"] if s["name"] == "local")
    os.kill(first, signal.SIGKILL)
    second = await pid_of(bastion, "local", token)
    assert second != first
    starts = [r["pid"] for r in records(record_of(bastion, "local")) if r["event"] == "start"]
    assert second in starts
    after = next(s for s in (await bastion.registry(token))["servers"] if s["name"] == "local")
    assert after["restarts"] == before["restarts"] + 1
    metrics = await asyncio.to_thread(httpx.get, f"{bastion.url}/metrics")
    assert 'bastion_mcp_stdio_restarts_total{server="local"}' in metrics.text


async def test_a_slow_call_times_out_and_the_process_lives_on(bastion: Bastion) -> None:
    token, trace = bastion.token(user_id()), secrets.token_hex(16)
    before = await pid_of(bastion, "local", token)
    async with bastion.client("local", token, trace_id=trace) as client:
        with pytest.raises(MCPError) as timed_out:
            await client.call_tool("sleep", {"seconds": 8})
    assert timed_out.value.error.code == -32001
    assert await pid_of(bastion, "local", token) == before
    row = await bastion.execution(trace)
    assert (row["tool"], row["status"]) == ("sleep", "timeout")
    assert "no answer within 4s" in row["reason"]


async def test_processes_stop_with_bastion(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {"mcp": {"servers": [stdio_server("local", tmp_path / "r.jsonl")]}},
        {"stdio_token": STDIO_TOKEN},
    )
    db = create_engine(db_url)
    try:
        with running_server(profile) as server:
            bastion = Bastion(server, profile, db)
            pid = await pid_of(bastion, "local", bastion.token(user_id()))
            os.kill(pid, 0)  # alive
    finally:
        await db.dispose()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_server_that_cannot_start_is_an_error_not_a_hang(
    db_url: str, tmp_path: Path
) -> None:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {
            "mcp": {
                "servers": [
                    {
                        "name": "broken",
                        "command": str(tmp_path / "missing-binary"),
                        "timeout_seconds": 2,
                    }
                ]
            }
        },
    )
    db = create_engine(db_url)
    try:
        with running_server(profile) as server:
            bastion = Bastion(server, profile, db)
            async with asyncio.timeout(10):
                response = await bastion.post(
                    "broken",
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "initialize",
                        "params": {
                            "protocolVersion": "2025-11-25",
                            "capabilities": {},
                            "clientInfo": {"name": "t", "version": "1"},
                        },
                    },
                    token=bastion.token(user_id()),
                )
    finally:
        await db.dispose()
    error = response.json()["error"]
    assert error["code"] == -32603
    assert "cannot start" in error["message"] and "missing-binary" in error["message"]


async def test_a_long_silent_call_is_kept_alive_over_sse(bastion: Bastion) -> None:
    token = bastion.token(user_id())
    async with bastion.client("local", token) as client:
        result = await client.call_tool("sleep", {"seconds": 0.8})
    assert result.content[0].text == "awake"  # type: ignore[union-attr]
    raw = await bastion.post(
        "local",
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "tools/call",
            "params": {
                "name": "sleep",
                "arguments": {"seconds": 0.8},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        },
        token=token,
        mcp_protocol_version="2026-07-28",
        mcp_method="tools/call",
        mcp_name="sleep",
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.count(": keepalive") >= 2
    last = json.loads(raw.text.rstrip().splitlines()[-1].removeprefix("data: "))
    assert (last["id"], last["result"]["structuredContent"]) == (5, {"result": "awake"})
    # A client that accepts only JSON gets JSON, however long the call.
    plain = await bastion.post(
        "local",
        {
            "jsonrpc": "2.0",
            "id": 6,
            "method": "tools/call",
            "params": {
                "name": "whoami",
                "arguments": {},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        },
        token=token,
        accept="application/json",
        mcp_protocol_version="2026-07-28",
        mcp_method="tools/call",
        mcp_name="whoami",
    )
    assert plain.headers["content-type"] == "application/json"


async def test_a_client_that_leaves_mid_stream_cancels_the_call(bastion: Bastion) -> None:
    token = bastion.token(user_id())
    pid = await pid_of(bastion, "local", token)  # the process is up before the clock starts
    trace = secrets.token_hex(16)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "sleep",
            "arguments": {"seconds": 1.5},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {
        "authorization": f"Bearer {token}",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "sleep",
        "x-trace-id": trace,
    }
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("POST", bastion.endpoint("local"), json=body, headers=headers) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        async for chunk in response.aiter_text():
            assert ": keepalive" in chunk
            break  # and hang up
    row = await bastion.execution(trace)
    assert (row["tool"], row["status"]) == ("sleep", "error")
    assert row["reason"] == "cancelled: the client went away"
    assert row["upstream_ms"] is not None  # it was cancelled while upstream
    # The server was told, and carries on serving.
    assert await pid_of(bastion, "local", token) == pid
