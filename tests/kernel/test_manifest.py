"""Standalone extensions (``cli`` and ``mcp-server``) declared by ``manifest.yaml``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bastion.infra.config import Profile
from bastion.kernel.errors import (
    DependencyCycleError,
    DuplicateExtensionError,
    ManifestError,
    MissingDependencyError,
)
from bastion.kernel.manifest import ManifestExtension, discover_manifests, load_manifest
from bastion.kernel.tiers import Tier
from bastion.runtime.discovery import discover
from tests.examples.install import examples_installed  # noqa: F401  (autouse)
from tests.support import write_profile

BASTION = Path(sys.executable).parent / "bastion"


def manifest(root: Path, folder: str, body: str) -> Path:
    path = root / folder / "manifest.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


def profile_for(plugins: Path) -> Profile:
    return Profile.model_validate({"extensions": {"dir": str(plugins)}})


def test_cli_manifest_loads(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        "notes",
        """
        id: notes
        kind: cli
        version: "0.3"
        description: Take notes
        maturity: beta
        depends_on: [users]
        command: ./notes.py --verbose "two words"
        env: {NOTES_HOME: /tmp/notes}
        """,
    )
    ext = load_manifest(path)
    assert isinstance(ext, ManifestExtension)
    assert (ext.meta.id, ext.meta.version, ext.meta.maturity.label, ext.kind) == (
        "notes",
        "0.3",
        "beta",
        "cli",
    )
    assert ext.meta.dependency_ids() == ["users"]
    assert ext.meta.description == "Take notes"
    assert ext.manifest.command == ["./notes.py", "--verbose", "two words"]
    assert ext.manifest.env == {"NOTES_HOME": "/tmp/notes"}
    assert ext.tool_providers() == ()
    # a relative head that does not exist is left to PATH; extra args are appended
    assert ext.command_line(["x"]) == ["./notes.py", "--verbose", "two words", "x"]
    (path.parent / "notes.py").write_text("")
    assert ext.command_line(["x"]) == [
        str(path.parent / "notes.py"),
        "--verbose",
        "two words",
        "x",
    ]


def test_mcp_server_manifest_contributes_a_tool_provider(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        "search",
        """
        id: search
        kind: mcp-server
        version: "2"
        command: [./server.py, --stdio]
        env: {INDEX: docs}
        required_scopes: ["search:query"]
        min_tier: user
        """,
    )
    (path.parent / "server.py").write_text("")
    ext = load_manifest(path)
    (server,) = ext.tool_providers()
    assert server.name == "search" and server.url is None
    assert list(server.command) == [str(path.parent / "server.py"), "--stdio"]
    assert dict(server.env) == {"INDEX": "docs"}
    assert server.required_scopes == frozenset({"search:query"})
    assert server.min_tier is Tier.USER


def test_discovery_finds_manifests_in_path_order(tmp_path: Path) -> None:
    for folder, ext_id in (("b", "beta-tool"), ("a", "alpha-tool")):
        manifest(tmp_path, folder, f"id: {ext_id}\nkind: cli\nversion: '1'\ncommand: [echo]\n")
    (tmp_path / "not-a-plugin").mkdir()
    assert [m.meta.id for m in discover_manifests(tmp_path)] == ["alpha-tool", "beta-tool"]
    assert discover_manifests(tmp_path / "missing") == []
    assert discover_manifests(None) == []


def test_manifests_join_boot_order_after_their_dependencies(tmp_path: Path) -> None:
    manifest(
        tmp_path,
        "notes",
        "id: notes\nkind: cli\nversion: '1'\ncommand: [echo]\ndepends_on: [hello]\npriority: 1\n",
    )
    manifest(
        tmp_path,
        "search",
        "id: search\nkind: mcp-server\nversion: '1'\ncommand: [echo]\ndepends_on: [users]\n",
    )
    registry = discover(profile_for(tmp_path))
    order = [e.meta.id for e in registry.validate()]
    assert order.index("hello") < order.index("notes")
    assert order.index("users") < order.index("search")
    assert registry.source_of("notes") == f"manifest {tmp_path / 'notes' / 'manifest.yaml'}"


@pytest.mark.parametrize("kind", ["cli", "mcp-server"])
def test_duplicate_id_with_an_installed_extension(tmp_path: Path, kind: str) -> None:
    path = manifest(
        tmp_path, "impostor", f"id: hello\nkind: {kind}\nversion: '9'\ncommand: [echo]\n"
    )
    with pytest.raises(DuplicateExtensionError) as info:
        discover(profile_for(tmp_path))
    assert str(info.value) == (
        "extension id 'hello' is registered twice: by distribution 'bastion-hello' "
        f"and by manifest {path}"
    )


@pytest.mark.parametrize("kind", ["cli", "mcp-server"])
def test_missing_dependency(tmp_path: Path, kind: str) -> None:
    manifest(
        tmp_path,
        "lonely",
        f"id: lonely\nkind: {kind}\nversion: '1'\ncommand: [echo]\ndepends_on: [users, ghost]\n",
    )
    registry = discover(profile_for(tmp_path))
    with pytest.raises(MissingDependencyError) as info:
        registry.validate()
    assert str(info.value) == "extension 'lonely' requires 'ghost', which is not installed"
    assert info.value.extension_id == "lonely"


def test_cycle_across_cli_and_mcp_manifests(tmp_path: Path) -> None:
    manifest(
        tmp_path,
        "a",
        "id: tool-a\nkind: mcp-server\nversion: '1'\ncommand: [echo]\ndepends_on: [tool-b]\n",
    )
    manifest(
        tmp_path,
        "b",
        "id: tool-b\nkind: cli\nversion: '1'\ncommand: [echo]\ndepends_on: [tool-c]\n",
    )
    manifest(
        tmp_path,
        "c",
        "id: tool-c\nkind: cli\nversion: '1'\ncommand: [echo]\ndepends_on: [tool-a]\n",
    )
    registry = discover(profile_for(tmp_path))
    with pytest.raises(DependencyCycleError) as info:
        registry.validate()
    assert str(info.value) == "dependency cycle: tool-a -> tool-b -> tool-c -> tool-a"
    assert info.value.path == ["tool-a", "tool-b", "tool-c", "tool-a"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("id: x\nkind: cli\nversion: '1'\n", "command: Field required"),
        (
            "id: x\nkind: daemon\nversion: '1'\ncommand: [echo]\n",
            "kind: Input should be 'mcp-server' or 'cli'",
        ),
        (
            "id: x\nkind: cli\nversion: '1'\ncommand: [echo]\ncolour: red\n",
            "colour: Extra inputs are not permitted",
        ),
        (
            "id: Bad Id\nkind: cli\nversion: '1'\ncommand: [echo]\n",
            "id: String should match pattern '^[a-z][a-z0-9_-]*$'",
        ),
        (  # the command name `bastion Bad Name`
            "id: x\nkind: cli\nversion: '1'\ncommand: [echo]\nname: Bad Name\n",
            "name: String should match pattern '^[a-z][a-z0-9_-]*$'",
        ),
        (
            "id: x\nkind: cli\nversion: '1'\ncommand: [echo]\nenv: [A, B]\n",
            "env: Input should be a valid dictionary",
        ),
        (
            "id: x\nkind: cli\nversion: '1'\ncommand: [echo]\nmaturity: alpha\n",
            "maturity: Input should be 'experimental', 'beta' or 'ga'",
        ),
    ],
)
def test_malformed_manifest_names_the_file_and_key(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = manifest(tmp_path, "broken", body)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value) == f"{path}: {expected}"
    assert info.value.extension_id == "broken"
    # discovery surfaces the same error
    with pytest.raises(ManifestError):
        discover(profile_for(tmp_path))


def test_unreadable_manifest(tmp_path: Path) -> None:
    path = manifest(tmp_path, "broken", "id: [unclosed\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value).startswith(f"{path}: cannot read manifest: ")
    assert "\n" not in str(info.value).split(": cannot read manifest: ")[0]


SHOW_ARGV = """\
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "env": os.environ.get("NOTES_HOME")}))
sys.exit(int(os.environ.get("NOTES_EXIT", "0")))
"""


def test_cli_plugin_is_a_bastion_subcommand(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    folder = plugins / "notes"
    script = folder / "show_argv.py"
    manifest(
        plugins,
        "notes",
        """
        id: notes
        kind: cli
        version: "1"
        description: Print the arguments
        command: [./show_argv.py, --from-manifest]
        env: {NOTES_HOME: /srv/notes}
        """,
    )
    script.write_text(f"#!{sys.executable}\n{SHOW_ARGV}")
    script.chmod(0o755)
    profile = write_profile(
        tmp_path / "profile",
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        {"extensions": {"dir": str(plugins)}},
    )
    env = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}

    def bastion(*args: str, **extra_env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(BASTION), "--profile", str(profile), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**env, **extra_env},
        )

    # three independent processes, started together
    procs = [
        bastion("notes", "a", "b", "--c", "d e"),
        bastion("notes", "x", NOTES_EXIT="3"),
        bastion("--help"),
    ]
    (done, done_err), (failed, _), (helped, _) = [p.communicate(timeout=60) for p in procs]
    assert procs[0].returncode == 0, done_err
    assert json.loads(done) == {
        "argv": ["--from-manifest", "a", "b", "--c", "d e"],
        "env": "/srv/notes",
    }
    assert procs[1].returncode == 3
    assert json.loads(failed)["argv"] == ["--from-manifest", "x"]
    assert procs[2].returncode == 0
    assert "notes" in helped and "Print the arguments" in helped
