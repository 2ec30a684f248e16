"""What the core middleware leaves in each request's ASGI scope for the guard and the
routing table behind it (the caller itself is under ``kernel.context.CONTEXT_SCOPE_KEY``)."""

from __future__ import annotations

# Why the credential presented was not accepted, or None: the guard's 401 message.
AUTH_ERROR_SCOPE_KEY = "bastion.auth_error"
# ``time.perf_counter()`` when the middleware took the request: a refusal's elapsed time.
STARTED_SCOPE_KEY = "bastion.started"
