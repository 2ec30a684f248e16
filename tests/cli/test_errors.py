"""Errors: one ``error:`` line on stderr (never ``Error``), once, naming the file at fault."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, error_of
from tests.support import write_profile

BASTION = str(Path(sys.executable).parent / "bastion")


def broken(tmp_path: Path, name: str, text: str) -> tuple[Path, Path]:
    """A profile whose ``name`` file (relative to the profile directory) holds ``text``."""
    profile = write_profile(tmp_path / "broken", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    path = profile / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return profile, path


BAD_YAML = 'name: x\ndatabase: {url: "sqlite"\n'


@pytest.mark.parametrize("name", ["profile.yaml", "secrets.yaml", "services/governance.yaml"])
def test_a_yaml_error_is_printed_once_and_names_the_file(tmp_path: Path, name: str) -> None:
    profile, path = broken(tmp_path, name, BAD_YAML)
    result = Cli(profile).fails("admin", "users", "list")
    assert "warning" not in result.stderr
    assert "<unicode string>" not in result.stderr
    assert error_of(result).startswith("error: ")
    assert f'in "{path.resolve()}", line 2, column 11' in result.stderr
    assert result.stderr.count(str(path.resolve())) == result.stderr.count("line ") + 1


def test_a_profile_error_is_printed_once_by_the_real_command(tmp_path: Path) -> None:
    profile, _ = broken(tmp_path, "profile.yaml", "name: x\ncolour: red\n")
    env = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}
    done = subprocess.run(
        [BASTION, "--profile", str(profile), "admin", "tokens", "issue", "admin"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        "error: boot failed at configure: colour: unknown key; it is neither a platform key "
        "nor the config namespace of an installed and enabled extension\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("admin", "users", "list", "--bogus"), "error: No such option: --bogus"),
        (("nope",), "error: No such command 'nope'."),
        (("adminn",), "error: No such command 'adminn'. Did you mean 'admin'?"),
        (("admin", "tokens", "issue"), "error: Missing argument 'user'."),
    ],
)
def test_usage_errors_are_spelled_error(
    offline_cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = offline_cli.fails(*args, code=2)
    assert "Error" not in result.stderr
    assert error_of(result) == message
    assert "Usage: bastion" in result.stderr
