"""Commands contributed by extensions: an entry point's ``cli()`` app and a ``cli`` manifest.

They are listed in ``bastion --help`` and they run; listing reads an index so that ``--help``
does not import every extension, and the index follows changes to the extension's code. A
third-party extension adds to the ``admin`` group and boots the platform for a typed
service exactly as the users and auth domains do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import write_profile

BASTION = str(Path(sys.executable).parent / "bastion")

EXTENSION = '''
import pathlib, typer
from bastion.extension import (
    USERS, CliCommands, Extension, ExtensionMeta, command_context, emit, fail, run,
)

pathlib.Path(__file__).with_name("imported").touch()

app = typer.Typer(help="Greetings from an installed extension.")
admin_app = typer.Typer(help="Accounts, seen by an installed extension.")


@app.command()
def hi(name: str) -> None:
    """Say hi."""
    print(f"hi {name}")


@admin_app.command()
def whois(ctx: typer.Context, name: str) -> None:
    """The account NAME, from the users domain's typed service."""
    bastion = command_context(ctx)

    async def go():
        async with bastion.platform(mount=False) as p:
            account = await p.service(USERS).find(name)
        if account is None:
            raise fail(f"no user {name!r}")
        return [{"id": account.id, "name": account.name, "role": account.role}]

    emit(run(go), as_json=True)


class CliExtension(Extension):
    meta = ExtensionMeta(id="cliext", version="1.0.0", requires=(USERS,))

    def cli(self):
        return [CliCommands(app), CliCommands(admin_app, group="admin", name="accounts")]
'''


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory on PYTHONPATH holding a distribution with a ``bastion.extensions`` entry
    point, as ``pip install`` would leave it."""
    root = tmp_path / "site"
    package = root / "bst_cliext"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(EXTENSION)
    info = root / "bst_cliext-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bst-cliext\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[bastion.extensions]\ncliext = bst_cliext:CliExtension\n"
    )
    return root


def bastion(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}
    env.update(
        PYTHONPATH=str(site),
        XDG_CACHE_HOME=str(site.parent / "cache"),
        COLUMNS="100",
    )
    return subprocess.run(
        [BASTION, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=site.parent,
        timeout=120,
        check=False,
    )


def test_an_entry_point_command_is_listed_and_runs(site: Path) -> None:
    marker = site / "bst_cliext" / "imported"
    first = bastion(site, "--help")
    assert first.returncode == 0, first.stderr
    assert "cliext" in first.stdout and "Greetings from an installed extension." in first.stdout
    assert marker.exists()  # the index was built by importing the extensions

    marker.unlink()
    again = bastion(site, "--help")
    assert "Greetings from an installed extension." in again.stdout
    assert not marker.exists()  # listed from the index

    version = bastion(site, "--version")
    assert version.stdout.startswith("bastion ") and not marker.exists()

    source = site / "bst_cliext" / "__init__.py"
    source.write_text(source.read_text().replace("an installed", "a changed"))
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    changed = bastion(site, "--help")
    assert "Greetings from a changed extension." in changed.stdout, changed.stdout

    ran = bastion(site, "cliext", "hi", "ana")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "hi ana\n", "")
    assert "Say hi." in bastion(site, "cliext", "--help").stdout


def test_an_extension_adds_to_the_admin_group_beside_the_core_domains(
    site: Path, tmp_path: Path
) -> None:
    marker = site / "bst_cliext" / "imported"
    bastion(site, "--help")  # builds the index
    marker.unlink()
    listed = bastion(site, "admin", "--help")
    assert listed.returncode == 0, listed.stderr
    for name, line in (
        ("users", "User accounts."),
        ("tokens", "Self-issued JWTs."),
        ("keys", "API keys (bst_...)."),
        ("accounts", "Accounts, seen by an installed extension."),
    ):
        assert re.search(rf"│ {name} +{re.escape(line)}", listed.stdout), listed.stdout
    assert not marker.exists()  # listed from the index, as the core's commands are

    profile = write_profile(tmp_path / "p", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    admin_id = bastion(site, "--profile", str(profile), "admin", "users", "list", "--json")
    assert admin_id.returncode == 0, admin_id.stderr
    (admin,) = json.loads(admin_id.stdout)
    found = bastion(site, "--profile", str(profile), "admin", "accounts", "whois", "admin")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == [{"id": admin["id"], "name": "admin", "role": "admin"}]
    missing = bastion(site, "--profile", str(profile), "admin", "accounts", "whois", "nobody")
    assert (missing.returncode, missing.stderr) == (1, "error: no user 'nobody'\n")


def test_a_cli_manifest_is_listed_and_runs(site: Path, tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    (plugins / "notes").mkdir(parents=True)
    (plugins / "notes" / "manifest.yaml").write_text(
        textwrap.dedent(
            """
            id: notes
            kind: cli
            version: '0.3'
            description: Take notes
            command: [echo, noted]
            """
        )
    )
    profile = write_profile(
        tmp_path / "p",
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        {"extensions": {"dir": str(plugins)}},
    )
    listed = bastion(site, "--profile", str(profile), "--help")
    assert "notes" in listed.stdout and "Take notes" in listed.stdout, listed.stderr
    ran = bastion(site, "--profile", str(profile), "notes", "--flag", "x")
    assert (ran.returncode, ran.stdout) == (0, "noted --flag x\n"), ran.stderr
    # a builtin command does not even read the manifests
    (plugins / "notes" / "manifest.yaml").write_text("id: [broken")
    shown = bastion(site, "--profile", str(profile), "config", "reference", "--builtin")
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
