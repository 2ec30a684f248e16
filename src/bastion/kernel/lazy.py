"""Package attributes imported on first use.

A package whose public surface includes something expensive to import (the MCP SDK,
the Redis client) names it here, so that importing the package (every CLI command does,
through extension discovery or the profile models) does not pay for it::

    __getattr__ = lazy_attributes(__name__, {"McpService": "bastion.domains.mcp._service"})

Type checkers see the names through an ``if TYPE_CHECKING:`` import beside it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that imports ``name`` from ``sources[name]``."""

    def __getattr__(name: str) -> Any:
        module = sources.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
