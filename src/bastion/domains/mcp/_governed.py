"""The methods the proxy governs, each as what it supplies to the one governed call.

``tools/call``, ``resources/read`` and ``prompts/get`` run the same template (validate,
open the execution, govern, forward, record); a method differs only in how its params
are checked, which target governance sees with which data, and what the execution
records as the call's name and arguments. ``GOVERNED`` maps each method to that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bastion.domains.mcp import _jsonrpc as rpc
from bastion.domains.mcp.errors import RpcFailure
from bastion.kernel.policy import PolicyTarget, TargetType


@dataclass(frozen=True, slots=True)
class Subject:
    """What one governed call is about."""

    name: str
    """The tool, resource URI or prompt the execution records."""
    arguments: object
    """The arguments the execution records."""
    target: PolicyTarget
    data: object
    """What governance evaluates."""


Validate = Callable[[str, str, Mapping[str, Any]], Subject]
"""``(method, server, params)`` to the call's subject; raises ``RpcFailure`` (-32602)."""


@dataclass(frozen=True, slots=True)
class GovernedMethod:
    subject: Validate
    tool_checks: bool = False
    """The tool filter and pin checks run before governance, and the call carries the
    pinned tool's input schema."""


def _named(method: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    name = params.get("name")
    arguments = params.get("arguments")
    if not isinstance(name, str) or not name:
        raise RpcFailure(rpc.INVALID_PARAMS, f"{method} needs params.name (a string)")
    if arguments is not None and not isinstance(arguments, dict):
        raise RpcFailure(rpc.INVALID_PARAMS, f"{method} params.arguments must be an object")
    return name, arguments


def _tool(method: str, server: str, params: Mapping[str, Any]) -> Subject:
    name, arguments = _named(method, params)
    target = PolicyTarget(TargetType.TOOL, server=server, tool=name)
    return Subject(name, arguments, target, arguments if arguments is not None else {})


def _prompt(method: str, server: str, params: Mapping[str, Any]) -> Subject:
    name, arguments = _named(method, params)
    target = PolicyTarget(TargetType.MCP_PROMPT, server=server, name=name)
    return Subject(name, arguments, target, arguments if arguments is not None else {})


def _resource(method: str, server: str, params: Mapping[str, Any]) -> Subject:
    uri = params.get("uri")
    if not isinstance(uri, str) or not uri:
        raise RpcFailure(rpc.INVALID_PARAMS, f"{method} needs params.uri (a string)")
    target = PolicyTarget(TargetType.RESOURCE, server=server, name=uri)
    return Subject(uri, {"uri": uri}, target, {"uri": uri})


GOVERNED: Mapping[str, GovernedMethod] = {
    "tools/call": GovernedMethod(_tool, tool_checks=True),
    "resources/read": GovernedMethod(_resource),
    "prompts/get": GovernedMethod(_prompt),
}
