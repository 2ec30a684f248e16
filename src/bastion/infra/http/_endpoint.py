from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import Receive, Scope, Send

from bastion.kernel.context import CONTEXT_SCOPE_KEY, RequestContext

BytesHandler = Callable[[RequestContext, bytes], Awaitable[tuple[int, bytes]]]
_JSON = (b"content-type", b"application/json")


class JsonEndpoint:
    """A raw ASGI endpoint for hot JSON routes: the whole body in, ``(status, bytes)``
    out, with no Request/Response objects or per-request exception wrappers. Starlette
    mounts a class instance like this as an ASGI app, not as a request handler."""

    def __init__(self, handler: BytesHandler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        status, payload = await self._handler(scope[CONTEXT_SCOPE_KEY], body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
