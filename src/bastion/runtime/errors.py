"""Runtime errors.

The tree::

    BootError       boot stopped; the message is one line naming the extension or file

A ``BootError`` wraps the ``BastionError`` that stopped boot (its ``__cause__``).
"""

from __future__ import annotations

from bastion.kernel.errors import BastionError


class BootError(BastionError):
    def __init__(self, step: str, message: str, extension_id: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.extension_id = extension_id

    def __str__(self) -> str:
        return f"boot failed at {self.step}: {self.args[0]}"
