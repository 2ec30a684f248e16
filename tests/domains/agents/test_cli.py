"""``bastion agents list`` against a profile with agents in ``services/agents``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bastion.cli import build_app
from tests.domains.agents.conftest import BASE, agents_profile


def invoke(profile: Path, *args: str) -> Result:
    """``bastion agents ...``: the agents domain's ``cli()`` app, found as any extension's."""
    return CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])


def test_agents_list_json(tmp_path: Path) -> None:
    profile = agents_profile(tmp_path / "p", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    result = invoke(profile, "agents", "list", "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == [
        "helpdesk",
        "researcher",
        "payroll",
        "internal-ops",
        "finance-bot",
    ]
    assert rows[0] == {
        "name": "helpdesk",
        "version": "2.1.0",
        "default": True,
        "public": True,
        "route": "claude",
        "mcp": [{"server": "github", "tools": ["create_issue", "search_*"]}],
        "required_scopes": [],
        "skills": ["triage", "status"],
        "card_url": f"{BASE}/.well-known/agent-cards/helpdesk",
    }
    assert (rows[2]["required_scopes"], rows[3]["card_url"]) == (["payroll:read"], None)


def test_agents_list_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # wide enough that Rich truncates no cell
    profile = agents_profile(tmp_path / "p", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    result = invoke(profile, "agents", "list")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Agents" in result.stdout
    assert "github:create_issue,search_*" in result.stdout
    assert "payroll:read" in result.stdout


def test_agents_list_with_no_agents_and_a_bad_profile(tmp_path: Path) -> None:
    empty = agents_profile(tmp_path / "empty", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", {})
    result = invoke(empty, "agents", "list", "--json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])
    bad = agents_profile(
        tmp_path / "bad", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", {"x.yaml": {"name": "x"}}
    )
    result = invoke(bad, "agents", "list")
    assert result.exit_code == 1
    assert "agents.agents[0].description: Field required" in result.stderr
