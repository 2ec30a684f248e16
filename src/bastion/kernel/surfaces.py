"""Calling into extension code: any exception becomes an ``ExtensionError`` naming the
extension and what it was doing, and a result of the wrong type a ``SurfaceResultError``
(``kernel.conformance``), so boot reports one clear line instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bastion.kernel.conformance import check_result
from bastion.kernel.contract import Extension
from bastion.kernel.errors import BastionError, ExtensionError


@contextmanager
def blamed_on(ext: Extension, doing: str) -> Iterator[None]:
    """Re-raise an unexpected exception of the block as ``ExtensionError``: "extension
    'x' failed {doing}: Type: message". A ``BastionError`` passes through unchanged."""
    try:
        yield
    except BastionError:
        raise
    except Exception as exc:
        raise ExtensionError(
            ext.meta.id,
            f"extension '{ext.meta.id}' failed {doing}: {type(exc).__name__}: {exc}",
        ) from exc


def surface(ext: Extension, name: str, *args: Any) -> Any:
    """``getattr(ext, name)(*args)``, with failures attributed to ``ext``."""
    with blamed_on(ext, f"in {name}()"):
        value = getattr(ext, name)(*args)
    check_result(ext, name, value)
    return value
