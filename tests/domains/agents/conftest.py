"""A Bastion on loopback per backend, its agents defined in ``services/agents/*.yaml``,
and tokens signed by that server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bastion.infra.security import BUILTIN_ROLES
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.runtime.platform import Platform
from tests.support import ServerThread, running_server, write_profile

BASE = "https://bastion.example.test"
ROLES = {str(role.name): role for role in BUILTIN_ROLES}

HELPDESK: dict[str, Any] = {
    "name": "helpdesk",
    "display_name": "Helpdesk",
    "description": "Answers employee IT questions and files tickets.",
    "version": "2.1.0",
    "default": True,
    "route": "claude",
    "streaming": True,
    "mcp": [{"server": "github", "tools": ["create_issue", "search_*"]}],
    "skills": [
        {
            "id": "triage",
            "name": "Ticket triage",
            "description": "Classifies an IT request and files a ticket for it.",
            "tags": ["it", "tickets"],
            "examples": ["My laptop will not boot"],
        },
        {
            "id": "status",
            "name": "Ticket status",
            "description": "Reports the status of a ticket.",
            "tags": ["it"],
            "output_modes": ["application/json"],
        },
    ],
}


def _skill(skill_id: str) -> dict[str, Any]:
    return {
        "id": skill_id,
        "name": skill_id.replace("-", " ").title(),
        "description": f"Does {skill_id}.",
        "tags": [skill_id],
    }


MORE: list[dict[str, Any]] = [
    {
        "name": "researcher",
        "description": "Reads papers and writes literature summaries.",
        "version": "0.4.0",
        "url": "https://agents.example.test/researcher",
        "protocol_binding": "HTTP+JSON",
        "input_modes": ["text/plain", "application/pdf"],
        "output_modes": ["text/markdown"],
        "documentation_url": "https://docs.example.test/researcher",
        "icon_url": "https://docs.example.test/researcher.png",
        "provider": {"organization": "Research Lab", "url": "https://lab.example.test"},
        "skills": [_skill("summarise")],
    },
    {
        "name": "payroll",
        "description": "Answers payroll questions.",
        "version": "1.0.0",
        "required_scopes": ["payroll:read"],
        "mcp": [{"server": "workday"}],
        "skills": [_skill("payslip")],
    },
    {
        "name": "internal-ops",
        "description": "Runs operational runbooks.",
        "version": "1.0.0",
        "public": False,
        "skills": [_skill("runbook")],
    },
    {
        "name": "finance-bot",
        "description": "Reconciles ledgers.",
        "version": "3.0.0",
        "skills": [_skill("reconcile")],
    },
]
ALL_AGENTS = ["helpdesk", "researcher", "payroll", "internal-ops", "finance-bot"]

PROFILE: dict[str, Any] = {
    "agents": {
        "public_base_url": BASE + "/",
        "provider": {"organization": "Example Corp", "url": "https://example.test"},
    },
    "governance": {
        "scope_check": {
            "acl": [
                {
                    "type": "agent",
                    "name": "researcher",
                    "rules": [
                        {"effect": "deny", "user": "usr_blocked"},
                        {"effect": "allow", "tenant": "default"},
                    ],
                },
                {
                    "type": "agent",
                    "name": "finance-*",
                    "rules": [{"effect": "allow", "role": "admin"}],
                },
            ]
        }
    },
    "rate_limits": {"requests_per_second": 1000},
}


def write_agents(profile_dir: Path, files: dict[str, Any]) -> None:
    folder = profile_dir / "services" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(yaml.safe_dump(content, sort_keys=False))


def agents_profile(
    directory: Path,
    db_url: str,
    files: dict[str, Any] | None = None,
    profile: dict[str, Any] | None = None,
) -> Path:
    """A profile whose agents come from ``services/agents/*.yaml`` (a mapping or a list)."""
    path = write_profile(directory, db_url, PROFILE if profile is None else profile)
    write_agents(path, {"helpdesk.yaml": HELPDESK, "more.yaml": MORE} if files is None else files)
    return path


@dataclass
class Bastion:
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def platform(self) -> Platform:
        assert self.server.platform is not None
        return self.server.platform

    def token(
        self,
        user: str,
        role: str = "user",
        *,
        scopes: Iterable[str] | None = None,
        tenant: str = "default",
    ) -> str:
        definition = ROLES[role]
        return self.platform.jwt.issue(
            user_id=UserId(user),
            tenant_id=TenantId(tenant),
            role=RoleName(role),
            tier=definition.tier,
            scopes=definition.scopes if scopes is None else scopes,
        ).token

    async def get(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            return await client.get(path, headers=headers)

    async def post(self, path: str, token: str, body: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            return await client.post(path, json=body, headers={"authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bastion]:
    """One server per backend with the five agents above."""
    profile = agents_profile(tmp_path_factory.mktemp("profile"), module_db_url)
    with running_server(profile) as server:
        yield Bastion(server)
