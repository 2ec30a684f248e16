"""The admin API's own refusals (the services' are ``RefusedError``s of the kernel)."""

from __future__ import annotations

from bastion.kernel.errors import RefusedError


class ForbiddenError(RefusedError):
    """403: the caller's tier or tenant does not cover what it asked for."""

    status = 403
