"""Config namespaces: every extension's ``config()`` block, a top-level key of the profile.

Core domains (``gateway:``, ``mcp:``, ``agents:``, ``governance:``) and third-party
extensions (``helpdesk:``) are resolved the same way: the namespace is claimed by one
extension, may not be a platform key, and its block is validated by the extension's model.
A top-level key nobody claims is refused by name (a typo is not silently ignored); a block
that belongs to a disabled extension (its namespace being its id) may stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bastion.infra.config import (
    PLATFORM_KEYS,
    LoadedProfile,
    Profile,
    reference_markdown,
    validation_message,
)
from bastion.kernel.config import WorkersCheck, config_as
from bastion.kernel.contract import Extension
from bastion.kernel.errors import ExtensionConfigError
from bastion.kernel.registration import registered_extensions
from bastion.kernel.registry import ExtensionRegistry
from bastion.kernel.surfaces import surface
from bastion.runtime.discovery import discover, installed_extensions

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Namespace:
    """One extension's claim on a top-level key of the profile."""

    name: str
    model: type[BaseModel]
    extension_id: str


def namespaces(extensions: list[Extension]) -> list[Namespace]:
    """The namespaces of ``extensions``, in their order; a namespace that is a platform
    key, or that two extensions claim, is refused with one line naming both sides."""
    claimed: dict[str, Namespace] = {}
    for ext in extensions:
        spec = surface(ext, "config")
        if spec is None:
            continue
        name, model = spec
        if name in PLATFORM_KEYS:
            raise ExtensionConfigError(
                ext.meta.id,
                f"extension '{ext.meta.id}' declares config namespace '{name}', which is a "
                f"platform key of the profile ({', '.join(sorted(PLATFORM_KEYS))}); "
                "choose another name",
            )
        held = claimed.get(name)
        if held is not None:
            raise ExtensionConfigError(
                ext.meta.id,
                f"extension '{ext.meta.id}' declares config namespace '{name}', which "
                f"extension '{held.extension_id}' already declares; one of them must change",
            )
        claimed[name] = Namespace(name, model, ext.meta.id)
    return list(claimed.values())


def resolve(registry: ExtensionRegistry, profile: Profile) -> dict[str, BaseModel | None]:
    """Each extension's validated config by extension id (None without a namespace)."""
    extensions = registry.ordered()
    declared = {ns.extension_id: ns for ns in namespaces(extensions)}
    blocks = profile.namespaces()
    configs: dict[str, BaseModel | None] = {}
    for ext in extensions:
        ns = declared.get(ext.meta.id)
        if ns is None:
            configs[ext.meta.id] = None
            continue
        block = blocks.get(ns.name)
        if block is None:
            block = {}
        if not isinstance(block, dict):
            raise ExtensionConfigError(
                ext.meta.id, f"{ns.name}: expected a mapping for '{ext.meta.id}'"
            )
        try:
            configs[ext.meta.id] = ns.model.model_validate(block)
        except ValidationError as exc:
            raise ExtensionConfigError(
                ext.meta.id, validation_message(exc, f"extension '{ext.meta.id}'", (ns.name,))
            ) from None
    known = {ns.name for ns in declared.values()} | set(profile.extensions.disabled)
    unknown = sorted(set(blocks) - known)
    if unknown:
        raise ExtensionConfigError(
            unknown[0],
            f"{unknown[0]}: unknown key; it is neither a platform key nor the config "
            "namespace of an installed and enabled extension",
        )
    return configs


def extension_config(loaded: LoadedProfile, extension_id: str, model: type[M]) -> M:
    """One extension's validated config, as boot would hand it over (for a command that
    needs its namespace and nothing booted)."""
    registry = discover(loaded.profile)
    registry.validate()
    configs = resolve(registry, loaded.profile)
    if extension_id not in configs:
        raise ExtensionConfigError(
            extension_id, f"extension '{extension_id}' is not installed and enabled"
        )
    return config_as(extension_id, configs[extension_id], model)


def reference(*, builtin: bool = False) -> str:
    """The configuration reference of this installation: the platform keys and the
    namespace of every installed extension (only Bastion's own with ``builtin``)."""
    found = [ext for ext, _ in installed_extensions()]
    found += [cls() for cls in registered_extensions()]
    if builtin:
        found = [ext for ext in found if type(ext).__module__.startswith("bastion.")]
    return reference_markdown([(ns.name, ns.model, ns.extension_id) for ns in namespaces(found)])


def workers_conflicts(
    registry: ExtensionRegistry, configs: dict[str, BaseModel | None], workers: int
) -> str | None:
    """The first extension that says ``workers`` processes cannot share its state."""
    if workers == 1:
        return None
    for ext in registry.ordered():
        if isinstance(ext, WorkersCheck):
            conflict = ext.workers_conflict(configs.get(ext.meta.id), workers)
            if conflict is not None:
                return conflict
    return None


__all__ = [
    "Namespace",
    "extension_config",
    "namespaces",
    "reference",
    "resolve",
    "workers_conflicts",
]
