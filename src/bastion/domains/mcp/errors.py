"""MCP domain errors.

The tree::

    McpError                          (BastionError)
    ├── McpConfigError                a registry entry cannot be built (boot)
    ├── RpcFailure                    a client's message is refused with a JSON-RPC error
    └── PinError                      a tool pin cannot be changed as asked (CLI)

Talking to a registered server fails with the kernel's upstream family, the one LLM
providers fail with too (``bastion.kernel.errors``), each naming ``MCP server '<name>'``:
``UpstreamUnavailable`` (no connection, the process is down or died mid-call),
``UpstreamTimeout`` (no connection or no answer within the server's timeout_seconds),
``UpstreamRejected`` (an HTTP error status without a JSON-RPC response) and
``UpstreamProtocolError`` (an answer that is not MCP). ``McpProxy.handle`` maps them onto
JSON-RPC errors.
"""

from __future__ import annotations

from collections.abc import Mapping

from bastion.kernel.errors import BastionError


class McpError(BastionError):
    pass


class McpConfigError(McpError):
    pass


class RpcFailure(McpError):
    """A JSON-RPC error for the client: ``code``, ``message`` and ``data`` go on the wire,
    ``status`` is the HTTP status of the reply, ``request_id`` the id it answers when the
    failure was raised before the request was fully parsed."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: int = 200,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = dict(data) if data is not None else None
        self.headers = dict(headers or {})
        self.request_id = request_id


class PinError(McpError):
    pass
