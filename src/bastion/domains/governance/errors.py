"""Governance errors.

The tree::

    GovernanceError                 (BastionError)
    └── GovernanceConfigError       the governance block cannot build a chain; boot stops

Stage failures at request time are not exceptions to callers: the engine turns them into
a deny with reason ``internal_error`` (fail closed).
"""

from __future__ import annotations

from bastion.kernel.errors import BastionError


class GovernanceError(BastionError):
    pass


class GovernanceConfigError(GovernanceError):
    pass
