"""A Bastion whose agents run: a fake Anthropic upstream behind the gateway, a real MCP
server behind the proxy, and the official ``a2a-sdk`` client pointed at the agents'
``/a2a`` endpoints (the card's interface URL moved to the test server's port)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.client import Client
from a2a.types import a2a_pb2
from google.protobuf.json_format import MessageToDict

from tests.domains.agents.conftest import Bastion as AgentsBastion
from tests.domains.agents.conftest import write_agents
from tests.fakes import FakeAnthropic
from tests.fakes.mcp_servers import HttpMcpServer
from tests.support import write_profile

UPSTREAM_KEY = "upstream-anthropic-" + uuid.uuid4().hex
MCP_KEY = "upstream-mcp-" + uuid.uuid4().hex

ASSISTANT: dict[str, Any] = {
    "name": "assistant",
    "description": "Answers questions, adding numbers with the fake MCP server's tools.",
    "version": "1.0.0",
    "model": "claude-agent",
    "instructions": "You are a careful assistant.",
    "streaming": True,
    "push_notifications": True,
    "mcp": [{"server": "fake", "tools": ["add", "echo", "delete_repository"]}],
    "limits": {"max_iterations": 3, "max_tokens": 512, "timeout_seconds": 20},
    "skills": [{"id": "answer", "name": "Answer", "description": "Answers.", "tags": ["qa"]}],
}
QUIET: dict[str, Any] = {
    "name": "quiet",
    "description": "Answers without streaming.",
    "version": "1.0.0",
    "model": "claude-agent",
    "skills": [{"id": "answer", "name": "Answer", "description": "Answers.", "tags": ["qa"]}],
}
BUDGETS: list[dict[str, Any]] = [
    {
        **QUIET,
        "name": f"budget-{name}",
        "description": "Gives up early.",
        "mcp": [{"server": "fake", "tools": ["add"]}],
        "limits": limits,
    }
    for name, limits in (
        ("tokens", {"max_total_tokens": 100}),
        ("cost", {"max_cost_microdollars": 50}),
        ("turns", {"max_iterations": 1}),
        ("time", {"timeout_seconds": 1}),
    )
]


def profile(
    directory: Path,
    db_url: str,
    upstream: FakeAnthropic,
    mcp: HttpMcpServer,
    agents: Iterable[dict[str, Any]] = (ASSISTANT, QUIET, *BUDGETS),
    extra: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
) -> Path:
    path = write_profile(
        directory,
        db_url,
        {
            "rate_limits": {"requests_per_second": 1000},
            "governance": {
                "blocklist": {
                    "tools": [
                        {
                            "id": "no-repo-deletion",
                            "pattern": "*/delete_repository",
                            "reason": "repositories are deleted by people, not agents",
                        }
                    ]
                }
            },
            "gateway": {
                "routes": [
                    {
                        "name": "claude",
                        "model_pattern": "claude-*",
                        "provider": "anthropic",
                        "endpoint": upstream.base_url,
                        "api_key_secret": "anthropic_key",
                        "pricing": {"input": 2.0, "output": 10.0},
                    }
                ]
            },
            "mcp": {
                "health_interval_seconds": 3600,
                "servers": [
                    {
                        "name": "fake",
                        "url": mcp.url,
                        "credentials": {"headers": {"X-Upstream-Key": {"secret": "fake_key"}}},
                    }
                ],
            },
            **(extra or {}),
        },
        {"anthropic_key": UPSTREAM_KEY, "fake_key": MCP_KEY, **(secrets or {})},
    )
    write_agents(path, {"agents.yaml": list(agents)})
    return path


def message(text: str, **ids: str) -> dict[str, Any]:
    return {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"text": text}], **ids}


def as_dict(proto: Any) -> dict[str, Any]:
    return MessageToDict(proto, preserving_proto_field_name=False)


class Bastion(AgentsBastion):
    """The agents tests' server, with an A2A client and raw JSON-RPC calls."""

    def endpoint(self, agent: str) -> str:
        return f"{self.url}/api/v1/agents/{agent}/a2a"

    async def card(self, agent: str) -> a2a_pb2.AgentCard:
        """The agent's card as the SDK discovers it (``A2ACardResolver``), its interface
        moved from the configured base URL to this server's port."""
        async with httpx.AsyncClient(timeout=10) as http:
            card = await A2ACardResolver(http, self.url).get_agent_card(
                relative_card_path=f"/.well-known/agent-cards/{agent}"
            )
        for interface in card.supported_interfaces:
            assert interface.url.endswith(f"/api/v1/agents/{agent}/a2a"), interface
            assert interface.protocol_binding == "JSONRPC"
            interface.url = self.endpoint(agent)
        return card

    @asynccontextmanager
    async def client(
        self, agent: str, token: str, *, streaming: bool = True, **headers: str
    ) -> AsyncIterator[Client]:
        http = httpx.AsyncClient(
            headers={"authorization": f"Bearer {token}", **headers}, timeout=30
        )
        async with http:
            config = ClientConfig(streaming=streaming, httpx_client=http)
            client = ClientFactory(config).create(await self.card(agent))
            try:
                yield client
            finally:
                await client.close()

    async def rpc(
        self,
        agent: str,
        token: str | None,
        method: str,
        params: Any = None,
        *,
        version: str | None = "1.0",
        raw: bytes | None = None,
    ) -> httpx.Response:
        """One raw JSON-RPC call (``raw`` bytes sent as they are)."""
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if version:
            headers["a2a-version"] = version
        body = raw
        if body is None:
            call: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
            if params is not None:
                call["params"] = params
            body = orjson.dumps(call)
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(self.endpoint(agent), content=body, headers=headers)

    async def stream(
        self, agent: str, token: str, method: str, params: Any, *, version: str = "1.0"
    ) -> list[dict[str, Any]]:
        """An SSE call's results, in order."""
        headers = {
            "authorization": f"Bearer {token}",
            "a2a-version": version,
            "accept": "text/event-stream",
        }
        call = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
        results: list[dict[str, Any]] = []
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream("POST", self.endpoint(agent), json=call, headers=headers) as answer,
        ):
            assert answer.headers["content-type"].startswith("text/event-stream"), answer
            async for line in answer.aiter_lines():
                if line.startswith("data: "):
                    frame = orjson.loads(line[6:])
                    assert frame["id"] == 7 and "result" in frame, frame
                    results.append(frame["result"])
        return results
