"""Parsing the two request shapes the governance domain accepts."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, NotRequired, Required

from pydantic import ConfigDict
from typing_extensions import TypedDict

from bastion.kernel.policy import PolicyTarget, TargetType


class PayloadError(ValueError):
    """The request body is not a valid payload; the message says why."""


def _optional_str(data: dict[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise PayloadError(f"target.{key} must be a non-empty string")
    return value


def parse_evaluate(body: object) -> tuple[PolicyTarget, object]:
    """``{"target": {"type": ..., "server": ..., "tool": ..., "name": ...}, "input": ...}``"""
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object")
    target = body.get("target")
    if not isinstance(target, dict):
        raise PayloadError("target must be an object with a 'type'")
    try:
        kind = TargetType(str(target.get("type")))
    except ValueError:
        names = ", ".join(t.value for t in TargetType)
        raise PayloadError(f"target.type must be one of: {names}") from None
    parsed = PolicyTarget(
        kind,
        server=_optional_str(target, "server"),
        tool=_optional_str(target, "tool"),
        name=_optional_str(target, "name"),
    )
    if kind is TargetType.TOOL and parsed.tool is None:
        raise PayloadError("target.tool is required for a tool target")
    return parsed, body.get("input")


class HookRequest(NamedTuple):
    event: str
    target: PolicyTarget
    input: object
    session_id: str | None


def tool_target(tool_name: str) -> PolicyTarget:
    """``mcp__<server>__<tool>`` names an MCP tool on a server; anything else is a
    client-side tool such as ``Bash`` or ``Write``."""
    if tool_name.startswith("mcp__"):
        server, sep, tool = tool_name[5:].partition("__")
        if sep and server and tool:
            return PolicyTarget(TargetType.TOOL, server=server, tool=tool)
    return PolicyTarget(TargetType.TOOL, tool=tool_name)


def parse_hook(body: object) -> HookRequest:
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object")
    event = body.get("hook_event_name")
    session = body.get("session_id")
    session_id = session if isinstance(session, str) and session else None
    if event == "PreToolUse":
        tool_name = body.get("tool_name")
        if not isinstance(tool_name, str) or not tool_name:
            raise PayloadError("PreToolUse needs tool_name")
        return HookRequest(event, tool_target(tool_name), body.get("tool_input"), session_id)
    if event == "UserPromptSubmit":
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise PayloadError("UserPromptSubmit needs prompt")
        return HookRequest(event, PolicyTarget(TargetType.PROMPT), prompt, session_id)
    raise PayloadError(
        f"unsupported hook_event_name {event!r}: expected PreToolUse or UserPromptSubmit"
    )


# -- the shapes the parsers above read, for the OpenAPI document ---------------------------


class EvaluateTarget(TypedDict):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    type: Required[TargetType]
    server: NotRequired[str]
    tool: NotRequired[str]
    name: NotRequired[str]


class EvaluateRequest(TypedDict):
    """``POST /api/v1/governance/evaluate``: run ``input`` through the chain for ``target``."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    target: Required[EvaluateTarget]
    input: NotRequired[Any]


class HookEvent(TypedDict):
    """``POST /api/v1/hooks/govern``: a Claude Code hook event, ``PreToolUse`` (with
    ``tool_name`` and ``tool_input``) or ``UserPromptSubmit`` (with ``prompt``)."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    hook_event_name: Required[Literal["PreToolUse", "UserPromptSubmit"]]
    session_id: NotRequired[str]
    tool_name: NotRequired[str]
    tool_input: NotRequired[Any]
    prompt: NotRequired[str]
