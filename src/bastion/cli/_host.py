"""``CommandHost``: the ``CommandContext`` (``bastion.infra.commands``) of ``bastion``.

The root callback puts one on Click's context object for every command; it imports the
runtime only when a command calls it, so a command that never does (``cowork-helper``)
does not pay for it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bastion.infra.commands import CommandContext
    from bastion.infra.config import LoadedProfile
    from bastion.runtime.platform import Platform

M = TypeVar("M", bound="BaseModel")


class CommandHost:
    def profile(self) -> LoadedProfile:
        from bastion.cli._common import loaded_profile

        return loaded_profile()

    def config_as(self, extension_id: str, model: type[M]) -> M:
        from bastion.cli._common import loaded_profile
        from bastion.runtime.namespaces import extension_config

        return extension_config(loaded_profile(), extension_id, model)

    def platform(
        self, *, migrate: bool = True, mount: bool = True
    ) -> AbstractAsyncContextManager[Platform]:
        from bastion.cli._common import platform

        return platform(migrate=migrate, mount=mount)


if TYPE_CHECKING:
    # The platform a command boots is the protocol's: mypy checks the host against it.
    _conforms: CommandContext = CommandHost()

__all__ = ["CommandHost"]
