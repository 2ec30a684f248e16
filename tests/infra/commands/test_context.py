"""``command_context(ctx)``: the typed context every ``bastion`` command gets, and what a
command run without ``bastion`` around it is told."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from bastion.cli import build_app
from bastion.cli._host import CommandHost
from bastion.infra.commands import CommandContext, command_context, emit, run
from tests.support import write_profile

app = typer.Typer()


@app.command()
def where(ctx: typer.Context) -> None:
    """The profile's name, through the context."""
    print(command_context(ctx).profile().profile.name)


@app.command()
def booted(ctx: typer.Context) -> None:
    """Boot, ask the platform for its engine's dialect."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, object]]:
        async with bastion.platform(migrate=False, mount=False) as p:
            return [{"dialect": p.engine.dialect.name}]

    emit(run(go), as_json=True)


def test_the_host_bastion_puts_on_the_context_is_a_command_context() -> None:
    assert isinstance(CommandHost(), CommandContext)


def test_a_command_mounted_under_bastion_gets_the_profile_and_a_platform(tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "p", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    root = build_app(profile)
    root.add_typer(app, name="probe")
    runner = CliRunner()
    named = runner.invoke(root, ["--profile", str(profile), "probe", "where"])
    assert (named.exit_code, named.stdout) == (0, "test\n"), named.stderr
    dialect = runner.invoke(root, ["--profile", str(profile), "probe", "booted"])
    assert dialect.exit_code == 0, dialect.stderr
    assert json.loads(dialect.stdout) == [{"dialect": "sqlite"}]


def test_a_command_run_without_bastion_is_one_error_line() -> None:
    result = CliRunner().invoke(app, ["where"], prog_name="probe")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: 'probe where' is a bastion command: run it through `bastion`, which gives it "
        "its context\n"
    )
