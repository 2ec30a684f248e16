"""Quota exceptions.

The tree::

    BastionError
    └── QuotaError                        base of every quota error
        └── QuotaBackendError             the shared counter store (Redis) failed or is unreachable

A backend error is raised, never swallowed: the governance engine treats a stage that
raises as a deny, so an unreachable Redis fails closed.
"""

from __future__ import annotations

from bastion.kernel.errors import BackendUnavailableError, BastionError


class QuotaError(BastionError):
    pass


class QuotaBackendError(QuotaError, BackendUnavailableError):
    pass
