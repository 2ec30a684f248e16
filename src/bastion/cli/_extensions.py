"""Commands contributed by extensions: ``cli()`` Typer apps and ``cli`` manifests.

Every domain command is one: ``bastion mcp`` is the mcp domain's ``cli()`` app, ``bastion
admin users`` the users domain's contribution to the ``admin`` group (``CLI_GROUPS``).
They are resolved only when needed: to run ``bastion NAME`` (or ``bastion admin NAME``)
for a NAME that is not built in, and to list them in ``--help``. Listing must not import
every extension (that is the whole server stack, seconds), so the group, name and help
line of the entry points' commands are kept in an index file under the user's cache
directory, rebuilt whenever an installed entry point, its distribution's version or any
``.py`` file of its top-level package changes (a walk of ``stat`` calls, about a
millisecond). Running an extension command always imports the real extensions, never the
index.

``cli`` manifests live in the profile's ``extensions.dir``: they are listed and run only
when a profile is named (``--profile`` or ``BASTION_PROFILE``), which loads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import typer

from bastion.cli._lazy import Command, to_click

if TYPE_CHECKING:
    from bastion.kernel.contract import Extension
    from bastion.kernel.manifest import ManifestExtension

# ``bastion.runtime.discovery.ENTRY_POINT_GROUP``, spelled out here so that computing the
# index's fingerprint imports nothing (a test keeps the two equal).
ENTRY_POINT_GROUP = "bastion.extensions"
INDEX_VERSION = 2
# The index spells the root group (``bastion NAME``) as "".
ROOT = ""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "bastion"


def index_path() -> Path:
    """One index per Python environment (``sys.prefix``): each has its own entry points."""
    env = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    return _cache_dir() / f"cli-commands-{env}.json"


def _package_files(module: str) -> Iterable[Path]:
    try:
        spec = importlib.util.find_spec(module.split(".", 1)[0])
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [
            Path(root) / name
            for location in spec.submodule_search_locations
            for root, _, names in os.walk(location)
            for name in names
            if name.endswith(".py")
        ]
    return [Path(spec.origin)] if spec.origin else []


def _entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value))


def fingerprint() -> str:
    """Changes when an entry point, its distribution's version or a file of its package do."""
    digest = hashlib.sha256(str(INDEX_VERSION).encode())
    seen: set[str] = set()
    for ep in _entry_points():
        dist = ep.dist
        digest.update(f"{ep.name}={ep.value}@{dist.name if dist else ''}".encode())
        digest.update(f" {dist.version if dist else ''}\n".encode())
        top = ep.module.split(".", 1)[0]
        if top in seen:
            continue
        seen.add(top)
        for path in sorted(_package_files(top)):
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}\n".encode())
    return digest.hexdigest()


Row = tuple[str, str, str]
"""An indexed command: its group (``ROOT`` or a ``CLI_GROUPS`` name), name, help line."""


def _read_index(expected: str) -> list[Row] | None:
    try:
        document = orjson.loads(index_path().read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(document, dict) or document.get("fingerprint") != expected:
        return None
    return [
        (str(group), str(name), str(help_line))
        for group, name, help_line in document.get("commands", [])
    ]


def _write_index(key: str, rows: list[Row]) -> None:
    path = index_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        scratch.write_bytes(orjson.dumps({"fingerprint": key, "commands": rows}))
        scratch.replace(path)
    except OSError:
        pass  # a read-only home only costs the next --help the imports


def _help_line(command: Command) -> str:
    text = command.short_help or command.help or ""
    return str(text).strip().split("\n\n", 1)[0].replace("\n", " ")


@dataclass(frozen=True)
class Contribution:
    """One app of one extension's ``cli()``: ``bastion [group] name ...``."""

    group: str  # ROOT or a CLI_GROUPS name
    name: str
    app: typer.Typer
    extension: str

    @property
    def command_path(self) -> str:
        return f"bastion {self.group} {self.name}" if self.group else f"bastion {self.name}"


def _contributed(ext: Extension) -> list[Contribution]:
    from bastion.kernel.contract import CliCommands
    from bastion.kernel.surfaces import surface

    value = surface(ext, "cli")  # the conformance check has vetted its shape
    ext_id = ext.meta.id
    if value is None:
        return []
    if isinstance(value, typer.Typer):
        return [Contribution(ROOT, ext_id, value, ext_id)]
    items: list[CliCommands] = [value] if isinstance(value, CliCommands) else list(value)
    return [
        Contribution(c.group, c.name or ext_id, c.app, ext_id)
        if c.group
        else Contribution(ROOT, ext_id, c.app, ext_id)
        for c in items
    ]


def contributions(extensions: Iterable[Extension], *, strict: bool = False) -> list[Contribution]:
    """Every command the extensions' ``cli()`` contribute, in extension order; a command
    path two extensions want goes to the first (the other is skipped, with a warning).

    An extension whose ``cli()`` breaks the contract loses its own commands, with a
    warning, and no other's (``strict``, for ``plugins validate``: its error is raised)."""
    from bastion.kernel.errors import BastionError

    found: dict[tuple[str, str], Contribution] = {}
    for ext in extensions:
        try:
            contributed = _contributed(ext)
        except BastionError as exc:
            if strict:
                raise
            print(f"warning: {exc}; its commands are skipped", file=sys.stderr)
            continue
        for contribution in contributed:
            where = (contribution.group, contribution.name)
            held = found.get(where)
            if held is not None:
                _shadowed(
                    contribution.command_path,
                    f"extension '{contribution.extension}'",
                    f"extension '{held.extension}'",
                )
                continue
            found[where] = contribution
    return list(found.values())


def _installed(group: str, taken: set[str]) -> list[Contribution]:
    """Import every installed extension; the commands they contribute to ``group``."""
    found: list[Contribution] = []
    for contribution in contributions(_installed_extensions()):
        if contribution.group != group:
            continue
        if contribution.name in taken:
            _shadowed(contribution.command_path, f"extension '{contribution.extension}'")
            continue
        found.append(contribution)
        taken.add(contribution.name)
    return found


def _manifests(profile_dir: Path | None, taken: set[str]) -> list[tuple[str, ManifestExtension]]:
    if profile_dir is None and not os.environ.get("BASTION_PROFILE"):
        return []
    from bastion.infra.config import load_profile
    from bastion.kernel.manifest import discover_manifests

    found: list[tuple[str, ManifestExtension]] = []
    for manifest in discover_manifests(load_profile(profile_dir).profile.extensions.dir):
        if manifest.kind != "cli":
            continue
        name = manifest.manifest.name or manifest.meta.id
        if name in taken:
            _shadowed(f"bastion {name}", f"manifest {manifest.manifest_dir / 'manifest.yaml'}")
            continue
        found.append((name, manifest))
        taken.add(name)
    return found


def _manifest_command(name: str, ext: ManifestExtension) -> Command:
    """``bastion NAME ARGS...`` runs the manifest's command with ARGS appended.

    A plain command, not a sub-app: a group would read the first ARG as a subcommand name.
    """

    def run_plugin(ctx: typer.Context) -> None:
        env = {**os.environ, **ext.manifest.env}
        completed = subprocess.run(ext.command_line(ctx.args), env=env, check=False)
        raise typer.Exit(completed.returncode)

    holder = typer.Typer()
    holder.command(
        name=name,
        help=ext.meta.description or f"Run the '{ext.meta.id}' CLI plugin.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(run_plugin)
    return typer.main.get_command(holder)


def _shadowed(path: str, owner: str, holder: str = "a built-in command") -> None:
    print(
        f"warning: {owner} wants the command '{path}', which {holder} has; skipped", file=sys.stderr
    )


def extension_listing(
    profile_dir: Path | None, group: str, builtin: Iterable[str]
) -> list[tuple[str, str]]:
    """``(name, help line)`` of every extension command in ``group``, for its ``--help``."""
    from bastion.kernel.errors import BastionError

    taken = set(builtin)
    rows: list[tuple[str, str]] = []
    try:
        key = fingerprint()
        indexed = _read_index(key)
        if indexed is None:
            built = contributions(_installed_extensions())
            for c in built:
                if c.group == group and c.name in taken:
                    _shadowed(c.command_path, f"extension '{c.extension}'")
            indexed = [(c.group, c.name, _help_line(to_click(c.app, c.name))) for c in built]
            _write_index(key, indexed)
        rows = [(name, line) for at, name, line in indexed if at == group and name not in taken]
        if group == ROOT:
            taken.update(name for name, _ in rows)
            rows += [
                (name, _help_line(_manifest_command(name, ext)))
                for name, ext in _manifests(profile_dir, taken)
            ]
    except BastionError as exc:
        # Help stays usable to diagnose exactly this.
        print(f"warning: extension commands unavailable: {exc}", file=sys.stderr)
    return rows


def extension_command(
    profile_dir: Path | None, group: str, builtin: Iterable[str], name: str
) -> Command | None:
    """The command ``bastion [group] NAME`` for a NAME no built-in command has, or None."""
    from bastion.kernel.errors import BastionError

    taken = set(builtin)
    try:
        for contribution in _installed(group, taken):
            if contribution.name == name:
                return to_click(contribution.app, name)
        if group == ROOT:
            for found, manifest in _manifests(profile_dir, taken):
                if found == name:
                    return _manifest_command(name, manifest)
    except BastionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    return None


def _installed_extensions() -> list[Extension]:
    """Every installed extension (imported), in boot order when they would boot (so
    ``bastion admin --help`` lists ``users`` before the ``tokens`` that need them)."""
    from bastion.kernel.errors import BastionError
    from bastion.kernel.registry import ExtensionRegistry
    from bastion.runtime.discovery import installed_extensions

    found = [ext for ext, _ in installed_extensions()]
    registry = ExtensionRegistry()
    try:
        for ext in found:
            registry.insert(ext)
        return registry.ordered()
    except BastionError:
        return found  # boot says what is wrong; the commands are still there to run


__all__ = [
    "ROOT",
    "Contribution",
    "contributions",
    "extension_command",
    "extension_listing",
    "fingerprint",
    "index_path",
]
