"""Secret scanner exceptions.

The tree::

    BastionError
    └── ScannerError          the secret scanner cannot be built as configured
        └── PatternError      a profile regex is unusable: it does not compile under RE2,
                              names a group other than ``secret``, or matches the empty string

``PatternError`` is also a ``ValueError``, so pydantic reports it as a validation error
that names the offending key path of the profile.
"""

from __future__ import annotations

from bastion.kernel.errors import BastionError


class ScannerError(BastionError):
    """Base of the scanner's errors."""


class PatternError(ScannerError, ValueError):
    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"invalid pattern {pattern!r}: {reason}")
        self.pattern = pattern
        self.reason = reason
