"""The helpdesk example: a typed service, a config namespace, a governed route, a table
and a CLI command, each as a core domain has it, driven over real HTTP and the CLI."""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect

from bastion.infra.config import load_profile
from bastion.infra.db import create_engine
from bastion.kernel.migration import migrations_from_package
from bastion.runtime.boot import boot
from bastion.runtime.errors import BootError
from tests.cli.conftest import Cli, error_of, query
from tests.support import ServerThread, running_server, write_profile

TICKETS = "/api/v1/helpdesk/tickets"
# Built at run time, so no scanner of this repository mistakes it for a real token.
GITHUB_TOKEN = "gh" + "p_" + "".join(random.choices(string.ascii_letters + string.digits, k=36))


def helpdesk_profile(block: object) -> dict[str, Any]:
    """The profile keys that configure helpdesk: its namespace holds ``block``."""
    return {"helpdesk": block}


def test_installed_as_an_entry_point() -> None:
    (ep,) = [ep for ep in entry_points(group="bastion.extensions") if ep.name == "helpdesk"]
    assert ep.value == "bastion_helpdesk:HelpdeskExtension"
    assert ep.dist is not None and ep.dist.name == "bastion-helpdesk"
    meta = ep.load().meta
    assert (meta.id, meta.maturity.label, [key.name for key in meta.requires]) == (
        "helpdesk",
        "beta",
        ["governance"],
    )


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[ServerThread]:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {
            **helpdesk_profile({"categories": ["access", "incident"], "max_open_per_user": 2}),
            "governance": {
                # Only the user role may file tickets: the ACL names the action as a tool.
                "scope_check": {
                    "acl": [
                        {
                            "type": "tool",
                            "name": "helpdesk.*",
                            "rules": [{"effect": "allow", "role": "user"}],
                        }
                    ]
                },
                "blocklist": {
                    "content": [
                        {
                            "id": "codename",
                            "literal": "Project Bluebird",
                            "reason": "Project Bluebird is not discussed in tickets",
                        }
                    ]
                },
            },
        },
    )
    with running_server(profile) as srv:
        yield srv


def decision_row(db_url: str, trace_id: str) -> tuple[Any, ...]:
    """The one ``governance_decisions`` row of ``trace_id``, once the writer flushed it."""
    deadline = time.monotonic() + 10
    while True:
        rows = query(
            db_url,
            "SELECT target_type, target_server, target_name, decision, stage, rule, user_id "
            "FROM governance_decisions WHERE trace_id = :t",
            t=trace_id,
        )
        if rows:
            (row,) = rows
            return row
        assert time.monotonic() < deadline, f"no governance_decisions row for {trace_id}"
        time.sleep(0.05)


def test_a_ticket_is_governed_like_a_prompt(server: ServerThread, db_url: str) -> None:
    cli = Cli(server.profile_dir)
    url = server.url + TICKETS
    ticket = {"category": "access", "subject": "Need the github tools", "body": "For CI work."}

    assert httpx.post(url, json=ticket).status_code == 401
    cli.ok("admin", "users", "create", "bot", "--role", "mcp")
    mcp = {"authorization": "Bearer " + cli.ok("admin", "tokens", "issue", "bot").strip()}
    assert httpx.post(url, json=ticket, headers=mcp).status_code == 403  # min_tier=USER

    ana_id = cli.ok("admin", "users", "create", "ana", "--role", "user").strip()
    ana = {"authorization": "Bearer " + cli.ok("admin", "tokens", "issue", "ana").strip()}
    filed = httpx.post(url, json=ticket, headers=ana)
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["id"].startswith("tkt_") and body["trace_id"] == filed.headers["x-trace-id"]
    assert (body["status"], body["user_id"], body["category"]) == ("open", ana_id, "access")
    assert decision_row(db_url, body["trace_id"]) == (
        "tool",
        None,
        "helpdesk.open_ticket",
        "allow",
        None,
        None,
        ana_id,
    )

    # A credential pasted into a ticket never reaches the table: the secret scanner denies
    # it, and the deny is recorded like any governed call's.
    leaked = httpx.post(
        url,
        json={**ticket, "subject": "CI broken", "body": f"my token is {GITHUB_TOKEN}"},
        headers=ana,
    )
    assert leaked.status_code == 403
    error = leaked.json()["error"]
    assert (error["type"], error["stage"], error["rule"]) == (
        "permission_error",
        "secret_scan",
        "secret.github-pat",
    )
    assert error["message"] == (
        "Bastion governance denied the request: input contains a secret (github-pat) at $.body"
    )
    assert GITHUB_TOKEN not in leaked.text
    trace = leaked.json()["trace_id"]
    assert decision_row(db_url, trace)[3:] == ("deny", "secret_scan", "secret.github-pat", ana_id)

    blocked = httpx.post(url, json={**ticket, "body": "About project bluebird"}, headers=ana)
    assert blocked.status_code == 403
    assert blocked.json()["error"]["reason"] == "Project Bluebird is not discussed in tickets"
    denied = decision_row(db_url, blocked.json()["trace_id"])
    assert denied[2:6] == ("helpdesk.open_ticket", "deny", "blocklist", "blocklist.codename")

    admin = {"authorization": "Bearer " + cli.ok("admin", "tokens", "issue", "admin").strip()}
    no_grant = httpx.post(url, json=ticket, headers=admin)
    assert no_grant.status_code == 403
    assert (no_grant.json()["error"]["stage"], no_grant.json()["error"]["rule"]) == (
        "scope_check",
        "acl.no_grant",
    )

    unknown = httpx.post(url, json={**ticket, "category": "bug"}, headers=ana)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == "category: 'bug' is not one of access, incident"
    bad = httpx.post(url, content=b'{"category": "access"', headers=ana)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"

    second = httpx.post(url, json={**ticket, "category": "incident"}, headers=ana)
    assert second.status_code == 201
    third = httpx.post(url, json=ticket, headers=ana)
    assert third.status_code == 409
    assert third.json()["error"]["message"] == (
        "you have 2 open tickets, the most allowed; wait for one to be closed"
    )

    stored = query(db_url, "SELECT id, user_id, body FROM helpdesk_tickets ORDER BY created_at")
    assert [(i, u) for i, u, _ in stored] == [(body["id"], ana_id), (second.json()["id"], ana_id)]
    assert not any(GITHUB_TOKEN in text or "bluebird" in text for _, _, text in stored)

    cli.ok("admin", "users", "create", "ben", "--role", "user")
    ben = {"authorization": "Bearer " + cli.ok("admin", "tokens", "issue", "ben").strip()}
    assert httpx.get(url, headers=ben).json() == []
    assert [t["id"] for t in httpx.get(url, headers=ana).json()] == [
        body["id"],
        second.json()["id"],
    ]


def test_the_operator_triages_from_the_cli(server: ServerThread, db_url: str) -> None:
    cli = Cli(server.profile_dir)
    url = server.url + TICKETS
    cli.ok("admin", "users", "create", "ana", "--role", "user")
    ana = {"authorization": "Bearer " + cli.ok("admin", "tokens", "issue", "ana").strip()}
    filed = httpx.post(
        url,
        json={"category": "incident", "subject": "Denied", "body": "Why?", "about_trace_id": "t-1"},
        headers=ana,
    ).json()

    listed = json.loads(cli.ok("helpdesk", "list", "--json"))
    assert [(t["id"], t["status"], t["about_trace_id"]) for t in listed] == [
        (filed["id"], "open", "t-1")
    ]
    assert cli.ok("helpdesk", "list").split()[:3] == [filed["id"], "open", "incident"]

    assert cli.ok("helpdesk", "close", filed["id"], "--resolution", "Rule relaxed") == (
        f"closed {filed['id']}\n"
    )
    (mine,) = httpx.get(url, headers=ana).json()
    assert (mine["status"], mine["resolution"]) == ("closed", "Rule relaxed")
    assert mine["closed_at"] is not None
    assert cli.ok("helpdesk", "list") == "(none)\n"
    assert [
        t["id"] for t in json.loads(cli.ok("helpdesk", "list", "--status", "closed", "--json"))
    ] == [filed["id"]]

    again = cli.fails("helpdesk", "close", filed["id"], "--resolution", "x")
    assert error_of(again) == f"error: ticket '{filed['id']}' is already closed"
    assert error_of(cli.fails("helpdesk", "close", "tkt_nope", "--resolution", "x")) == (
        "error: no ticket 'tkt_nope'"
    )
    assert "Invalid value" in cli.fails("helpdesk", "list", "--status", "pending", code=2).stderr


def test_a_disabled_extensions_command_says_so(db_url: str, tmp_path: Path) -> None:
    cli = Cli(
        write_profile(tmp_path / "profile", db_url, {"extensions": {"disabled": ["helpdesk"]}})
    )
    assert error_of(cli.fails("helpdesk", "list")) == (
        "error: service 'helpdesk.tickets' is not provided by any installed and enabled extension"
    )


async def test_the_table_is_migrated_as_declared(db_url: str, tmp_path: Path) -> None:
    from bastion_helpdesk._tables import helpdesk_tickets

    platform = await boot(load_profile(write_profile(tmp_path / "profile", db_url)))
    await platform.close()
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    (migration,) = migrations_from_package("bastion_helpdesk")
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            ledger = (
                await conn.exec_driver_sql(
                    "SELECT version, name, checksum_sha256 FROM extension_migrations "
                    "WHERE extension_id = 'helpdesk'"
                )
            ).all()
            columns = await conn.run_sync(
                lambda sync: inspect(sync).get_columns("helpdesk_tickets")
            )
    finally:
        await engine.dispose()
    assert [(v, n, c.strip()) for v, n, c in ledger] == [
        (1, "tickets", migration.checksum(dialect))
    ]
    migrated = {c["name"]: (c["nullable"], getattr(c["type"], "length", None)) for c in columns}
    declared = {
        c.name: (c.nullable, getattr(c.type, "length", None)) for c in helpdesk_tickets.columns
    }
    assert migrated == declared
    if dialect == "postgresql":
        assert {c["name"]: c["type"].timezone for c in columns if "_at" in c["name"]} == {
            "created_at": True,
            "closed_at": True,
        }


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"max_open_per_user": 0},
            "helpdesk.max_open_per_user: Input should be greater than or equal to 1",
        ),
        (
            {"categories": []},
            "helpdesk.categories: Tuple should have at least 1 item after validation, not 0",
        ),
        (
            {"categories": ["Access Requests"]},
            "helpdesk.categories[0]: String should match pattern '^[a-z][a-z0-9_-]*$'",
        ),
        ({"sla_hours": 4}, "helpdesk.sla_hours: unknown key"),
    ],
)
async def test_config_is_validated_at_boot(tmp_path: Path, block: object, message: str) -> None:
    profile = write_profile(
        tmp_path / "profile",
        f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
        helpdesk_profile(block),
    )
    with pytest.raises(BootError) as info:
        await boot(load_profile(profile))
    assert str(info.value) == f"boot failed at configure: extension 'helpdesk': {message}"
    assert not (tmp_path / "never.db").exists()
