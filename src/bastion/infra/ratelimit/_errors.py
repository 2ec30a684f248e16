"""Rate limit exceptions.

The tree::

    BastionError
    └── RateLimitError                    base of every rate limit error
        └── RateLimitBackendError         the shared backend (Redis) failed or is unreachable

A backend error is raised, never swallowed: the governance engine treats a stage that
raises as a deny, so an unreachable Redis fails closed.
"""

from __future__ import annotations

from bastion.kernel.errors import BackendUnavailableError, BastionError


class RateLimitError(BastionError):
    pass


class RateLimitBackendError(RateLimitError, BackendUnavailableError):
    pass
