"""Translation exceptions.

The tree::

    BastionError                          (bastion.kernel.errors)
    └── TranslationError                  a payload cannot be carried into the other wire format
        ├── InvalidPayloadError           the payload is not a well-formed request of its own format
        └── UnsupportedFeatureError       well formed, but uses a feature the target has no
                                          equivalent for, and dropping it would change the answer

A gateway maps both to a 400 in the caller's own error format. Stream translators never
raise for what an upstream sends: an upstream that misbehaves mid-stream becomes an
``error`` event in the outgoing stream, since the response status is already on the wire.
"""

from __future__ import annotations

from bastion.kernel.errors import BastionError


class TranslationError(BastionError):
    """Base of every error raised while translating between wire formats."""


class InvalidPayloadError(TranslationError):
    pass


class UnsupportedFeatureError(TranslationError):
    def __init__(self, feature: str, target: str) -> None:
        super().__init__(f"{feature} has no equivalent in the {target} API")
        self.feature = feature
        self.target = target
