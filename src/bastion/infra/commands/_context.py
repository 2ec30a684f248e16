"""The typed context a command gets from the ``bastion`` root, and the platform it boots.

The root command puts a ``CommandContext`` on Click's context object (``ctx.obj``) before
any subcommand runs; ``command_context(ctx)`` returns it typed. The implementation lives in
``bastion.cli`` (it boots through ``bastion.runtime``, which no domain may import); what
it promises is this protocol, so a domain's command and a third-party extension's reach
the platform the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

import typer

from bastion.infra.audit import admin_event_row
from bastion.infra.commands._output import fail
from bastion.infra.services import AUDIT
from bastion.kernel.services import ServiceKey, ServiceRegistry

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bastion.infra.config import LoadedProfile

T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")


class CommandPlatform(Protocol):
    """The platform booted for one command: its database and its typed services."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def services(self) -> ServiceRegistry:
        """Every service of the platform; ``provider_of(KEY)`` says whether one is there
        (a disabled extension provides nothing)."""
        ...

    def service(self, key: ServiceKey[T]) -> T:
        """The service ``key`` names, typed, built now if it was not yet."""
        ...


@runtime_checkable
class CommandContext(Protocol):
    """What every ``bastion`` command gets from the platform."""

    def profile(self) -> LoadedProfile:
        """The active profile (``--profile``, ``BASTION_PROFILE`` or the built-in one),
        validated; logging is configured from it, to stderr."""
        ...

    def config_as(self, extension_id: str, model: type[M]) -> M:
        """The validated ``config()`` block of ``extension_id`` (its top-level namespace
        in the profile), as ``model``, without booting: what ``ctx.config_as(model)``
        gives the extension at boot."""
        ...

    def platform(
        self, *, migrate: bool = True, mount: bool = True
    ) -> AbstractAsyncContextManager[CommandPlatform]:
        """The platform, booted for the ``async with`` block and closed after it. With
        ``migrate`` (the default) pending migrations are applied and the audit writer runs,
        so ``record_admin_action`` rows are written; ``mount=False`` calls no extension's
        ``router()`` (faster, for a command whose services do not need the routes)."""
        ...


def command_context(ctx: typer.Context) -> CommandContext:
    """The ``CommandContext`` of the ``bastion`` command running now; take
    ``ctx: typer.Context`` as a parameter of the command to pass it."""
    found = ctx.find_root().obj
    if not isinstance(found, CommandContext):
        raise fail(
            f"'{ctx.command_path}' is a bastion command: run it through `bastion`, which "
            "gives it its context"
        )
    return found


async def record_admin_action(
    p: CommandPlatform, action: str, subject: str, details: Mapping[str, object] | None = None
) -> None:
    """An ``audit_events`` row (and SIEM event) for an operator action from the CLI:
    ``event_type`` is ``admin.<action>``; ``details`` carry ``source: cli``."""
    await p.service(AUDIT).record_event(admin_event_row(None, action, subject, details))
