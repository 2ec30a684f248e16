"""Narrow extension kinds: each exposes exactly one surface.

The registry rejects a narrow extension that overrides a surface outside its kind, so an
extension cannot claim to be "API only" and quietly schedule jobs.
"""

from __future__ import annotations

from typing import ClassVar

from bastion.kernel.contract import Extension, implemented_surfaces
from bastion.kernel.errors import ExtensionContractError


class NarrowExtension(Extension):
    allowed_surfaces: ClassVar[frozenset[str]] = frozenset()


class ApiExtension(NarrowExtension):
    """Contributes one router."""

    allowed_surfaces = frozenset({"router"})


class JobExtension(NarrowExtension):
    """Contributes background jobs."""

    allowed_surfaces = frozenset({"jobs"})


class SchemaExtension(NarrowExtension):
    """Contributes migrations only."""

    allowed_surfaces = frozenset({"migrations"})


class ConfigExtension(NarrowExtension):
    """Contributes a validated config namespace."""

    allowed_surfaces = frozenset({"config"})


class ProviderExtension(NarrowExtension):
    """Contributes LLM upstreams and MCP tool providers."""

    allowed_surfaces = frozenset({"llm_upstreams", "tool_providers"})


NARROW_KINDS: tuple[type[NarrowExtension], ...] = (
    ApiExtension,
    JobExtension,
    SchemaExtension,
    ConfigExtension,
    ProviderExtension,
)


def check_narrow_contract(extension: Extension) -> None:
    """Raise ``ExtensionContractError`` if a narrow extension overreaches its kind."""
    if not isinstance(extension, NarrowExtension):
        return
    extra = [s for s in implemented_surfaces(extension) if s not in extension.allowed_surfaces]
    if extra:
        kind = next(k.__name__ for k in NARROW_KINDS if isinstance(extension, k))
        allowed = ", ".join(sorted(extension.allowed_surfaces))
        raise ExtensionContractError(
            extension.meta.id,
            f"extension '{extension.meta.id}' is a {kind} (surfaces: {allowed}) "
            f"but implements {', '.join(extra)}",
        )
