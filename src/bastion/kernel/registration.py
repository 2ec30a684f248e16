"""In-process registration for tests and embedding (``@register_extension``)."""

from __future__ import annotations

from typing import TypeVar

from bastion.kernel.contract import Extension

E = TypeVar("E", bound=type[Extension])

_registered: list[type[Extension]] = []


def register_extension(cls: E) -> E:
    """Register an extension class in this process, as if installed with an entry point."""
    if cls not in _registered:
        _registered.append(cls)
    return cls


def registered_extensions() -> list[type[Extension]]:
    return list(_registered)


def unregister_extension(cls: type[Extension]) -> None:
    if cls in _registered:
        _registered.remove(cls)
