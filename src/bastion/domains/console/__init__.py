"""The operator console at ``/admin``."""

from bastion.domains.console._config import ConsoleConfig
from bastion.domains.console._extension import ConsoleExtension
from bastion.domains.console._login import LoginMethod, PastedCredential

__all__ = ["ConsoleConfig", "ConsoleExtension", "LoginMethod", "PastedCredential"]
