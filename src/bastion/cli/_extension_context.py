"""What an extension's ``cli()`` commands run in: the platform a built-in command boots,
seen through that extension's own ``ExtensionContext`` (exported by ``bastion.extension``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bastion.cli._common import fail, platform, run
from bastion.kernel.contract import ExtensionContext

T = TypeVar("T")


def run_in_context(extension_id: str, work: Callable[[ExtensionContext], Awaitable[T]]) -> T:
    """Boot with the active profile (``--profile``) as a built-in command does (migrated,
    the audit writer running, no routes mounted, no jobs), await ``work`` with
    ``extension_id``'s context, close, and return its result. A boot that fails is one
    ``error:`` line and exit status 1, as for every ``bastion`` command."""

    async def go() -> T:
        async with platform(mount=False) as booted:
            ctx = booted.contexts.get(extension_id)
            if ctx is None:
                raise fail(f"extension '{extension_id}' is not installed and enabled")
            return await work(ctx)

    return run(go)
