"""Discover extensions: installed entry points, in-process registrations, manifests."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from bastion.infra.config import Profile
from bastion.kernel.conformance import check_meta
from bastion.kernel.contract import Extension, Maturity
from bastion.kernel.errors import ExtensionDisabledError, ExtensionError, MaturityError
from bastion.kernel.manifest import discover_manifests
from bastion.kernel.registration import registered_extensions
from bastion.kernel.registry import ExtensionRegistry

ENTRY_POINT_GROUP = "bastion.extensions"


def _load_entry_point(ep: EntryPoint) -> tuple[Extension, str]:
    source = f"distribution '{ep.dist.name}'" if ep.dist else f"entry point '{ep.value}'"
    try:
        target = ep.load()
    except Exception as exc:
        raise ExtensionError(
            ep.name, f"extension '{ep.name}' ({source}) failed to import: {exc}"
        ) from exc
    if not (isinstance(target, type) and issubclass(target, Extension)):
        raise ExtensionError(ep.name, f"entry point '{ep.name}' ({source}) is not an Extension")
    try:
        extension = target()
    except Exception as exc:
        raise ExtensionError(
            ep.name, f"extension '{ep.name}' ({source}) failed to instantiate: {exc}"
        ) from exc
    check_meta(extension)  # before anyone reads it (the CLI mounts extension commands)
    return extension, source


def installed_extensions() -> list[tuple[Extension, str]]:
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value))
    return [_load_entry_point(ep) for ep in eps]


def discover(
    profile: Profile, extra: Iterable[type[Extension] | Extension] = ()
) -> ExtensionRegistry:
    """Collect, instantiate, insert by id; then apply ``disabled`` and ``min_maturity``."""
    registry = ExtensionRegistry()
    found = installed_extensions()
    for cls in registered_extensions():
        found.append((cls(), f"in-process registration {cls.__module__}.{cls.__qualname__}"))
    for item in extra:
        ext = item() if isinstance(item, type) else item
        found.append((ext, f"in-process {type(ext).__module__}.{type(ext).__qualname__}"))
    for manifest_ext in discover_manifests(profile.extensions.dir):
        found.append((manifest_ext, f"manifest {manifest_ext.manifest_dir / 'manifest.yaml'}"))
    for ext, source in found:
        registry.insert(ext, source)

    for ext_id in profile.extensions.disabled:
        named = registry.get(ext_id)
        if named is None:
            continue
        if named.meta.required:
            raise ExtensionDisabledError(
                ext_id,
                f"extension '{ext_id}' is required and cannot be disabled: Bastion cannot "
                f"serve without it; remove it from extensions.disabled",
            )
        registry.remove(ext_id)

    floor = Maturity.parse(profile.extensions.min_maturity)
    for ext in registry.unordered():
        if ext.meta.maturity < floor:
            raise MaturityError(
                ext.meta.id,
                f"extension '{ext.meta.id}' is {ext.meta.maturity.label}, below "
                f"extensions.min_maturity={floor.label}",
            )
    return registry
