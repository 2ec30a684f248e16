"""Runtime errors.

The tree::

    BootError                   boot stopped; the message is one line naming the extension or file
    CredentialStoreUnavailable  a presented credential could not be checked (the store
                                that holds keys and revocations did not answer); 503

A ``BootError`` wraps the ``BastionError`` that stopped boot (its ``__cause__``).
"""

from __future__ import annotations

from bastion.kernel.context import RequestContext
from bastion.kernel.errors import BastionError


class BootError(BastionError):
    def __init__(self, step: str, message: str, extension_id: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.extension_id = extension_id

    def __str__(self) -> str:
        return f"boot failed at {self.step}: {self.args[0]}"


class CredentialStoreUnavailable(BastionError):
    """A presented credential could not be checked: the API-key lookup or the revocation
    read failed. The request is refused with 503 (fail closed), never served unchecked.
    ``context`` is the anonymous context the refusal is recorded under."""

    def __init__(self, context: RequestContext) -> None:
        super().__init__("the credential could not be checked: the identity store is unavailable")
        self.context = context
