"""An installed extension that breaks the contract: ``bastion plugins validate`` and
``bastion serve`` both stop with the same one ``error:`` line, naming the extension class
and the fix, and no traceback.

The extension is a real distribution: a module and a ``.dist-info`` folder declaring its
entry points, on the ``PYTHONPATH`` of the ``bastion`` subprocesses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import write_profile
from tests.support.processes import ROOT, assert_one_error_line, start_bastion

HEADER = """
from pydantic import BaseModel
from starlette.routing import Route
from bastion.extension import Extension, ExtensionMeta, ExtensionRouter


class NotesConfig(BaseModel):
    greeting: str = "hi"


class NotesUi(Extension):
    meta = ExtensionMeta(id="notes-ui", version="1.0.0", depends_on=("notes",))
"""
GOOD_META = '    meta = ExtensionMeta(id="notes", version="1.0.0", depends_on=("users",))\n'
DECLARE = 'declare it on the class: meta = ExtensionMeta(id="...", version="1.0.0")'
CASES: dict[str, tuple[str, str]] = {
    # What the issue found: a dependant named the class, whose meta was a property.
    "meta is a property": (
        """
class Notes(Extension):
    @property
    def meta(self):
        return ExtensionMeta(id="notes", version="1.0.0")


class NotesUi(Extension):
    meta = ExtensionMeta(id="notes-ui", version="1.0.0", depends_on=(Notes,))
""",
        "error: boot failed at discover: extension class acme_notes:Notes: meta is a "
        "property, not a class attribute; " + DECLARE,
    ),
    "version is not a version": (
        """
class Notes(Extension):
    meta = ExtensionMeta(id="notes", version="latest")
""",
        "error: boot failed at discover: extension class acme_notes:Notes: meta.version "
        "'latest' is not a version; start it with a digit, e.g. \"1.0.0\"",
    ),
    "migrations() returns a dict": (
        "class Notes(Extension):\n"
        + GOOD_META
        + """
    def migrations(self):
        return {1: "CREATE TABLE notes_items (id TEXT)"}
""",
        "error: boot failed at validate: extension 'notes' (acme_notes:Notes): migrations() "
        "returned a dict; return a list of Migration objects (migrations_from_package(...) "
        "builds them)",
    ),
    "router() returns a path": (
        "class Notes(Extension):\n"
        + GOOD_META
        + """
    def router(self, ctx):
        return "/api/v1/notes"
""",
        "error: boot failed at validate: extension 'notes' (acme_notes:Notes): router() "
        "returned a str; return an ExtensionRouter, a list of them, or None",
    ),
    # Issue 21: validate passed it, serve died on Starlette's AssertionError.
    "router base_path without a leading slash": (
        "class Notes(Extension):\n"
        + GOOD_META
        + """
    def router(self, ctx):
        return ExtensionRouter(routes=[], base_path="api/v1/notes")
""",
        "error: boot failed at validate: extension 'notes' (acme_notes:Notes): router() "
        "returned a router whose base_path is 'api/v1/notes'; give a path starting with "
        '"/", e.g. base_path="/api/v1/notes"',
    ),
    # Issue 21: validate and serve passed it, the first request to it failed.
    "router routes hold a path": (
        "class Notes(Extension):\n"
        + GOOD_META
        + """
    def router(self, ctx):
        return ExtensionRouter(routes=["/"], base_path="/api/v1/notes")
""",
        "error: boot failed at validate: extension 'notes' (acme_notes:Notes): router() "
        "returned a router at /api/v1/notes whose routes hold a str at index 0; give "
        'Starlette routes, e.g. Route("/", endpoint)',
    ),
    # Issue 21: it would have become the command name `bastion Bad Id`.
    "id with a capital and a space": (
        """
class Notes(Extension):
    meta = ExtensionMeta(id="Bad Id", version="1.0.0")
""",
        "error: boot failed at discover: extension class acme_notes:Notes: meta.id 'Bad Id' "
        'is not a valid id; use lower-case letters, digits, "-" and "_", starting with a '
        'letter, e.g. id="notes"',
    ),
    "config() returns the model alone": (
        "class Notes(Extension):\n"
        + GOOD_META
        + """
    def config(self):
        return NotesConfig
""",
        "error: boot failed at configure: extension 'notes' (acme_notes:Notes): config() "
        "returned the class NotesConfig; return (namespace, pydantic model class), e.g. "
        '("notes", NotesConfig), or None',
    ),
    "roles() returns names": (
        "class Notes(Extension):\n"
        + GOOD_META
        + """
    def roles(self):
        return ["notes-reader"]
""",
        "error: boot failed at configure: extension 'notes' (acme_notes:Notes): roles() "
        "returned a str at index 0; return a list of RoleDefinition objects",
    ),
}


def install(site: Path, source: str) -> Path:
    """A distribution ``acme-notes`` with entry points ``notes`` and ``notes-ui``."""
    site.mkdir()
    (site / "acme_notes.py").write_text(HEADER + source)
    info = site / "acme_notes-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-notes\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[bastion.extensions]\nnotes = acme_notes:Notes\nnotes-ui = acme_notes:NotesUi\n"
    )
    return site


@pytest.mark.parametrize("case", list(CASES))
def test_a_contract_violation_is_one_error_line_for_validate_and_serve(
    case: str, tmp_path: Path
) -> None:
    source, expected = CASES[case]
    site = install(tmp_path / "site", source)
    profile = write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    path = f"{ROOT}:{site}"
    validate = start_bastion(profile, "plugins", "validate", cwd=tmp_path, PYTHONPATH=path)
    serve = start_bastion(profile, "serve", "--port", "0", cwd=tmp_path, PYTHONPATH=path)
    try:
        assert_one_error_line(validate, expected)
        assert_one_error_line(serve, expected)
    finally:
        for proc in (validate, serve):
            if proc.poll() is None:  # it served: the contract was not enforced
                proc.kill()
                proc.communicate()


CLI_CASES: dict[str, tuple[str, str]] = {
    "cli() returns a command name": (
        """
    def cli(self):
        return "notes"
""",
        "error: extension 'notes' (acme_notes:Notes): cli() returned a str; return a "
        "typer.Typer, a CliCommands, a list of CliCommands, or None",
    ),
    "cli() names a group that is not open": (
        """
    def cli(self):
        import typer
        from bastion.extension import CliCommands

        return CliCommands(typer.Typer(), group="db")
""",
        "error: extension 'notes' (acme_notes:Notes): cli() returned a CliCommands for group "
        "'db', which is not open to extensions; give one of admin, or group=None for "
        "`bastion notes`",
    ),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_a_cli_violation_is_one_error_line_for_validate_and_costs_only_its_commands(
    case: str, tmp_path: Path
) -> None:
    """``serve`` never calls ``cli()``; ``plugins validate`` does, and ``--help`` still
    lists every other extension's commands (the core domains' among them)."""
    source, expected = CLI_CASES[case]
    site = install(tmp_path / "site", "class Notes(Extension):\n" + GOOD_META + source)
    profile = write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    env = {"PYTHONPATH": f"{ROOT}:{site}", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    validate = start_bastion(profile, "plugins", "validate", cwd=tmp_path, **env)
    assert_one_error_line(validate, expected)
    listed = start_bastion(profile, "--help", cwd=tmp_path, COLUMNS="100", **env)
    stdout, stderr = listed.communicate(timeout=120)
    assert listed.returncode == 0, stderr
    assert "mcp " in stdout and "notes" not in stdout
    assert stderr == expected.replace("error:", "warning:", 1) + "; its commands are skipped\n"
