"""The core middleware every route sits behind, core and extension alike.

Pure ASGI (no ``BaseHTTPMiddleware``) so the per-request cost stays in microseconds:
trace id, identity, body limit, ``x-trace-id`` on the response, metrics, and a last
line of defence that turns an unhandled exception into a wire-format 500.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.infra.http import send_error
from bastion.kernel.context import CONTEXT_SCOPE_KEY
from bastion.kernel.contract import ErrorStyle
from bastion.runtime.errors import CredentialStoreUnavailable
from bastion.runtime.identity import Authenticator
from bastion.runtime.routing import RoutingTable
from bastion.runtime.scope import AUTH_ERROR_SCOPE_KEY, STARTED_SCOPE_KEY

_WANTED = (b"x-trace-id", b"x-session-id", b"x-client-id", b"content-length")

log = structlog.get_logger("bastion.http")

REQUESTS = Counter("bastion_http_requests_total", "HTTP requests served", ["method", "status"])
LATENCY = Histogram(
    "bastion_http_request_duration_seconds",
    "Time from request to response start",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


_counters: dict[tuple[str, int], Any] = {}


def _count(method: str, status: int) -> None:
    # Labelled children are looked up once per (method, status), not per request.
    child = _counters.get((method, status))
    if child is None:
        child = _counters[(method, status)] = REQUESTS.labels(method, str(status))
    child.inc()


def _http_message(exc: HTTPException, scope: Scope) -> str:
    if exc.status_code == 405:
        return f"method {scope['method']} not allowed on {scope['path']}"
    if exc.status_code == 404:
        return f"no route for {scope['method']} {scope['path']}"
    return str(exc.detail)


class RequestTooLarge(Exception):
    pass


class CoreMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        table: RoutingTable,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.table = table
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        wanted: dict[bytes, str | None] = {}
        for name, value in headers:
            if name in _WANTED:
                wanted[name] = value.decode("latin-1")
        client = scope.get("client")
        unavailable: CredentialStoreUnavailable | None = None
        try:
            ctx, auth_error = await self.authenticator.authenticate(
                headers, wanted, client[0] if client else None
            )
        except CredentialStoreUnavailable as exc:
            # Fail closed: a credential that cannot be checked is not served; the refusal
            # is recorded like any other (spilled while the database is down).
            unavailable, ctx, auth_error = exc, exc.context, str(exc)
        scope[CONTEXT_SCOPE_KEY] = ctx
        scope[AUTH_ERROR_SCOPE_KEY] = auth_error
        scope[STARTED_SCOPE_KEY] = started
        # With an "app" in scope Starlette raises HTTPException (405 ...) instead of
        # answering in plain text, and the handler below answers in the caller's format.
        scope.setdefault("app", self.app)
        trace_header = (b"x-trace-id", ctx.trace_id.encode())
        state = {"started": False, "status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                state["status"] = message["status"]
                message["headers"] = [*message.get("headers", ()), trace_header]
                LATENCY.observe(time.perf_counter() - started)
            await send(message)

        if unavailable is not None:
            await self._refuse(scope, send_wrapper, 503, str(unavailable), {"retry-after": "1"})
            _count(scope["method"], 503)
            return

        length = wanted.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._refuse(scope, send_wrapper, 413, self._too_large())
            _count(scope["method"], 413)
            return

        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise RequestTooLarge
            return message

        try:
            await self.app(scope, receive_limited, send_wrapper)
        except RequestTooLarge:
            if not state["started"]:
                await self._refuse(scope, send_wrapper, 413, self._too_large())
        except HTTPException as exc:
            if not state["started"]:
                await self._refuse(
                    scope,
                    send_wrapper,
                    exc.status_code,
                    _http_message(exc, scope),
                    dict(exc.headers or {}),
                    tell=False,
                )
        except Exception:
            log.exception("unhandled error", path=scope["path"], trace_id=ctx.trace_id)
            if not state["started"]:
                await self._refuse(scope, send_wrapper, 500, "internal error")
        _count(scope["method"], state["status"])

    def _too_large(self) -> str:
        return f"request body exceeds the limit of {self.max_body_bytes} bytes"

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        message: str,
        extra_headers: dict[str, str] | None = None,
        *,
        tell: bool = True,
    ) -> None:
        """Answer in the serving router's format; ``tell``: and tell that router's
        observer (a routing answer, 404 or 405, is not a refusal)."""
        mounted = self.table.resolve(scope["path"])
        style = mounted.style if mounted is not None else ErrorStyle.JSON
        await send_error(
            send,
            style,
            status,
            message,
            trace_id=scope[CONTEXT_SCOPE_KEY].trace_id,
            headers=[(k.lower().encode(), v.encode()) for k, v in (extra_headers or {}).items()],
        )
        if tell and mounted is not None:
            await mounted.refused(scope, status, message)
