"""What the A2A endpoint answers as JSON-RPC errors.

Each error carries its JSON-RPC ``code`` (the A2A 1.0 specification's, or JSON-RPC's
own). The endpoint answers every one with HTTP 200, as JSON-RPC over HTTP does (the A2A
SDKs read the error object only from a 2xx answer)::

    A2AError
    ├── ParseError                  -32700  the body is not JSON
    ├── InvalidRequest              -32600  not a JSON-RPC 2.0 request
    ├── MethodNotFound              -32601  no such method (in the selected version)
    ├── InvalidParams               -32602  the params do not fit the method
    ├── AgentUnavailable            -32000  no such agent, or the caller may not use it
    ├── TaskNotFound                -32001  no such task visible to the caller
    ├── TaskNotCancelable           -32002  the task has already ended
    ├── PushNotificationNotSupported -32003 the agent does not send push notifications
    ├── UnsupportedOperation        -32004  e.g. streaming from a non-streaming agent
    ├── ContentTypeNotSupported     -32005  a part or an accepted output mode the agent
    │                                       does not take
    └── VersionNotSupported         -32009  an ``A2A-Version`` this server does not speak
"""

from __future__ import annotations

from typing import ClassVar


class A2AError(Exception):
    code: ClassVar[int] = -32603

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParseError(A2AError):
    code = -32700


class InvalidRequest(A2AError):
    code = -32600


class MethodNotFound(A2AError):
    code = -32601


class InvalidParams(A2AError):
    code = -32602


class AgentUnavailable(A2AError):
    code = -32000


class TaskNotFound(A2AError):
    code = -32001


class TaskNotCancelable(A2AError):
    code = -32002


class PushNotificationNotSupported(A2AError):
    code = -32003


class UnsupportedOperation(A2AError):
    code = -32004


class ContentTypeNotSupported(A2AError):
    code = -32005


class VersionNotSupported(A2AError):
    code = -32009


__all__ = [
    "A2AError",
    "AgentUnavailable",
    "ContentTypeNotSupported",
    "InvalidParams",
    "InvalidRequest",
    "MethodNotFound",
    "ParseError",
    "PushNotificationNotSupported",
    "TaskNotCancelable",
    "TaskNotFound",
    "UnsupportedOperation",
    "VersionNotSupported",
]
