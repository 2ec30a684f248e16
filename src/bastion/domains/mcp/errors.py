"""MCP domain errors.

The tree::

    McpError                          (BastionError)
    ├── McpConfigError                a registry entry cannot be built (boot)
    ├── UpstreamError                 talking to a registered MCP server failed
    │   ├── UpstreamUnavailable       no connection, the process is down, or it died mid-call
    │   ├── UpstreamTimeout           no answer within the server's timeout_seconds
    │   └── UpstreamProtocolError     the server answered something that is not MCP
    ├── RpcFailure                    a client's message is refused with a JSON-RPC error
    └── PinError                      a tool pin cannot be changed as asked (CLI)
"""

from __future__ import annotations

from collections.abc import Mapping

from bastion.kernel.errors import BastionError


class McpError(BastionError):
    pass


class McpConfigError(McpError):
    pass


class UpstreamError(McpError):
    def __init__(self, server: str, message: str) -> None:
        super().__init__(f"MCP server '{server}': {message}")
        self.server = server
        self.detail = message


class UpstreamUnavailable(UpstreamError):
    pass


class UpstreamTimeout(UpstreamError):
    def __init__(self, server: str, seconds: float) -> None:
        super().__init__(server, f"no answer within {seconds:g}s")
        self.seconds = seconds


class UpstreamProtocolError(UpstreamError):
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
