"""Calling into extension code: any exception becomes an ``ExtensionError`` naming the
extension and the surface, and a result of the wrong type a ``SurfaceResultError``
(``kernel.conformance``), so boot reports one clear line instead of a traceback."""

from __future__ import annotations

from typing import Any

from bastion.kernel.conformance import check_result
from bastion.kernel.contract import Extension
from bastion.kernel.errors import BastionError, ExtensionError


def surface(ext: Extension, name: str, *args: Any) -> Any:
    """``getattr(ext, name)(*args)``, with failures attributed to ``ext``."""
    try:
        value = getattr(ext, name)(*args)
    except BastionError:
        raise
    except Exception as exc:
        raise ExtensionError(
            ext.meta.id,
            f"extension '{ext.meta.id}' failed in {name}(): {type(exc).__name__}: {exc}",
        ) from exc
    check_result(ext, name, value)
    return value
