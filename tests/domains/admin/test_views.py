"""The read-only views of what config-as-code owns: jobs and their runs, agents, gateway
routes and providers, the effective configuration (secrets redacted). Admin tier only."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from bastion.cli import build_app
from tests.domains.admin.conftest import ADMIN, UPSTREAM_KEY, Bastion, unique


def test_jobs_and_their_runs(bastion: Bastion) -> None:
    jobs = {j["job"]: j for j in bastion.admin("GET", "/jobs").json()["jobs"]}
    assert jobs["auth.prune-expired-tokens"]["schedule"] == "every 3600s"
    assert "mcp.health" in jobs
    ran = CliRunner().invoke(
        build_app(bastion.profile),
        ["--profile", str(bastion.profile), "jobs", "run", "auth.prune-expired-tokens"],
    )
    assert ran.exit_code == 0, ran.stderr
    jobs = {j["job"]: j for j in bastion.admin("GET", "/jobs").json()["jobs"]}
    last = jobs["auth.prune-expired-tokens"]["last_run"]
    assert last["outcome"] == "success" and last["error"] is None
    runs = bastion.admin("GET", "/jobs/auth.prune-expired-tokens/runs", params={"limit": 5})
    assert runs.status_code == 200
    assert runs.json()["runs"][0] == last
    assert bastion.admin("GET", "/jobs/nope.job/runs").status_code == 404


def test_agents(bastion: Bastion) -> None:
    [agent] = bastion.admin("GET", "/agents").json()["agents"]
    assert (agent["name"], agent["version"], agent["route"]) == ("helpdesk", "2.1.0", "claude")
    assert agent["mcp"] == [{"server": "github", "tools": ["create_issue", "search_*"]}]
    assert agent["skills"] == ["triage", "status"]
    assert agent["card"]["name"] == "Helpdesk"
    assert bastion.admin("GET", "/agents/helpdesk").json() == agent
    assert bastion.admin("GET", "/agents/nobody").status_code == 404


def test_gateway_routes_and_providers(bastion: Bastion) -> None:
    view = bastion.admin("GET", "/gateway").json()
    [route] = view["routes"]
    assert (route["name"], route["provider"]) == ("claude", "anthropic")
    assert route["api_key_secret"] == "anthropic_key"  # a secret's name, not its value
    assert route["extra_headers"] == {"x-team-token": "***"}
    tags = {p["tag"] for p in view["providers"]}
    assert {"anthropic", "openai", "mock"} <= tags


def test_the_effective_configuration_is_redacted(bastion: Bastion) -> None:
    answer = bastion.admin("GET", "/config")
    assert answer.status_code == 200
    assert UPSTREAM_KEY not in answer.text
    assert "literal-header-value" not in answer.text
    secrets_file = (bastion.profile / "secrets.yaml").read_text()
    signing_key = secrets_file.split("jwt_signing_key:", 1)[1].split()[0]
    assert signing_key not in answer.text
    config = answer.json()["config"]
    assert config["governance"]["quota"]["rules"][0]["name"] == "tenant-daily"


@pytest.mark.parametrize("path", ["/jobs", "/agents", "/gateway", "/config", "/mcp/servers"])
def test_views_are_for_the_admin_tier(bastion: Bastion, path: str) -> None:
    token = bastion.token("tenant-admin", user="usr_ta", tenant="acme")
    assert bastion.call("GET", ADMIN + path, token=token).status_code == 403
    assert bastion.call("GET", ADMIN + path).status_code == 401


def test_a_state_change_from_the_cli_is_one_implementation(bastion: Bastion) -> None:
    """``bastion admin users set`` is the same service as ``PATCH /users/{user}``."""
    name = unique("cli-set")
    user = bastion.admin("POST", "/users", json={"name": name, "role": "user"}).json()

    def cli() -> None:
        result = CliRunner().invoke(
            build_app(bastion.profile),
            [
                "--profile",
                str(bastion.profile),
                "admin",
                "users",
                "set",
                name,
                "--tenant",
                "moved",
            ],
        )
        assert result.exit_code == 0, result.stderr
        assert "tenant moved" in result.stdout

    asyncio.run(asyncio.to_thread(cli))
    assert bastion.admin("GET", f"/users/{user['id']}").json()["tenant"] == "moved"
    [event] = bastion.events("admin.user.update", user["id"])
    assert event["details"]["source"] == "cli"
    assert event["actor_user_id"] is None
