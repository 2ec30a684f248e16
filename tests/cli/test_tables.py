"""Tables keep every id whole: the trace id ``audit decisions`` shows pastes into ``trace``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bastion.infra.config import load_profile
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.ids import new_trace_id
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType
from bastion.runtime.boot import boot
from tests.cli.conftest import Cli
from tests.support.principals import jwt_principal

SECRET_PROMPT = "deploy with AKIAQ3ZL7TXJ2KRV6M4W"


async def _denied_prompt(profile: Path) -> str:
    """A real decision, recorded by the real audit writer; its trace id."""
    trace_id = new_trace_id()
    platform = await boot(load_profile(profile))
    await platform.start(jobs=False)
    try:
        decision = await platform.service(GOVERNANCE).engine.evaluate(
            PolicyContext(
                jwt_principal(trace=trace_id), PolicyTarget(TargetType.PROMPT), SECRET_PROMPT
            ),
            record=True,
        )
    finally:
        await platform.close()
    assert not decision.allowed
    return trace_id


def _columns(table: str) -> dict[str, str]:
    """Each column of a Rich table: its header and its body, folded lines joined back."""
    header: list[str] = []
    body: list[str] = []
    for line in table.splitlines():
        for mark, parts in (("┃", header), ("│", body)):
            if line.startswith(mark):
                cells = [c.strip() for c in line.strip(mark).split(mark)]
                parts[:] = [a + b for a, b in zip(parts, cells, strict=True)] if parts else cells
    return dict(zip(header, body, strict=True))


@pytest.mark.parametrize("columns", [80, 200])
def test_the_decisions_table_shows_the_whole_trace_id(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    cli.ok("db", "migrate")
    trace_id = asyncio.run(_denied_prompt(cli.profile))
    monkeypatch.setenv("COLUMNS", str(columns))
    table = cli.ok("audit", "decisions", "--denied")
    assert "…" not in table
    assert max(len(line) for line in table.splitlines()) <= columns
    row = _columns(table)  # one denied decision: one row
    assert row["trace_id"] == trace_id
    assert row["rule"] == "secret.aws-access-key-id"
    if columns == 200:  # room enough: the id is on one line, as it can be copied
        assert trace_id in table
    # and what was read off the table is the key to the next step of the tour
    traced = json.loads(cli.ok("audit", "trace", row["trace_id"], "--json"))
    assert [r["trace_id"] for r in traced] == [trace_id]
    listed = json.loads(cli.ok("audit", "decisions", "--denied", "--json"))
    assert listed[0]["trace_id"] == trace_id


def test_a_narrow_table_folds_instead_of_cutting(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = cli.ok("admin", "users", "create", "a" * 40, "--role", "user").strip()
    monkeypatch.setenv("COLUMNS", "60")
    table = cli.ok("admin", "users", "list")
    assert "…" not in table
    columns = _columns(table)
    assert user_id in columns["id"]
    assert "a" * 40 in columns["name"]
