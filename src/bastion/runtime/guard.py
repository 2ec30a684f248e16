"""Per-mount enforcement of a router's endpoint class.

``api`` answers 401 without valid credentials and 403 below the required tier; ``admin``
requires the admin tier; ``public`` runs as the anonymous tier and is rate limited;
``webhook`` verifies an HMAC signature over the raw body before the route runs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.infra.config import SecretStore
from bastion.infra.http import send_error
from bastion.infra.security import WebhookSignatureError, verify_webhook
from bastion.kernel.context import CONTEXT_SCOPE_KEY, AuthMethod, RequestContext
from bastion.kernel.contract import EndpointClass, ExtensionRouter
from bastion.runtime.scope import AUTH_ERROR_SCOPE_KEY

PublicLimiter = Callable[[RequestContext], Awaitable[int | None]]
RefusalReporter = Callable[[Scope, int, str], Awaitable[None]]
"""Told ``(scope, status, reason)`` after the guard refused a request: the routing
table's entry for the router, which tells the router's observer."""
SIGNATURE_HEADER = b"x-bastion-signature"


class EndpointGuard:
    def __init__(
        self,
        app: ASGIApp,
        router: ExtensionRouter,
        *,
        refused: RefusalReporter,
        secrets: SecretStore,
        public_limiter: PublicLimiter | None = None,
    ) -> None:
        self.app = app
        self.endpoint_class = router.endpoint_class
        self.required = router.required_tier()
        self.style = router.error_style
        self.refused = refused
        self.public_limiter = public_limiter
        self.webhook_secret = (
            secrets.get(router.webhook_secret)
            if router.endpoint_class is EndpointClass.WEBHOOK and router.webhook_secret
            else None
        )
        if router.endpoint_class is EndpointClass.WEBHOOK and not self.webhook_secret:
            raise ValueError(
                f"webhook router at {router.base_path} needs a non-empty webhook_secret"
            )

    def wrapping(self, app: ASGIApp) -> EndpointGuard:
        """The same guard in front of another app (one endpoint of the router)."""
        clone = object.__new__(EndpointGuard)
        clone.__dict__.update(self.__dict__)
        clone.app = app
        return clone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx: RequestContext = scope[CONTEXT_SCOPE_KEY]
        cls = self.endpoint_class
        if cls is EndpointClass.PUBLIC:
            if self.public_limiter is not None:
                retry_ms = await self.public_limiter(ctx)
                if retry_ms is not None:
                    await self._deny(
                        scope, send, ctx, 429, "rate limit exceeded", retry_after_ms=retry_ms
                    )
                    return
        elif cls is EndpointClass.WEBHOOK:
            verified = await self._verified(scope, receive, send, ctx)
            if verified is None:
                return
            receive = verified
        else:
            if ctx.auth_method is AuthMethod.ANONYMOUS:
                reason = scope.get(AUTH_ERROR_SCOPE_KEY) or "authentication required"
                await self._deny(scope, send, ctx, 401, reason)
                return
            if ctx.tier < self.required:
                await self._deny(
                    scope,
                    send,
                    ctx,
                    403,
                    f"tier '{ctx.tier.label}' is below the required tier '{self.required.label}'",
                )
                return
        await self.app(scope, receive, send)

    async def _verified(
        self, scope: Scope, receive: Receive, send: Send, ctx: RequestContext
    ) -> Receive | None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        header = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == SIGNATURE_HEADER), ""
        )
        assert self.webhook_secret is not None
        try:
            verify_webhook(self.webhook_secret, body, header, now=time.time())
        except WebhookSignatureError as exc:
            await self._deny(scope, send, ctx, 401, f"webhook signature rejected: {exc}")
            return None
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    async def _deny(
        self,
        scope: Scope,
        send: Send,
        ctx: RequestContext,
        status: int,
        message: str,
        *,
        retry_after_ms: int | None = None,
    ) -> None:
        details: dict[str, object] = {}
        headers: list[tuple[bytes, bytes]] = []
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="bastion"'))
        if retry_after_ms is not None:
            details["retry_after_ms"] = retry_after_ms
            headers.append((b"retry-after", str(max(1, -(-retry_after_ms // 1000))).encode()))
        await send_error(
            send,
            self.style,
            status,
            message,
            trace_id=ctx.trace_id,
            details=details,
            headers=headers,
        )
        await self.refused(scope, status, message)
