"""A2A messages as an Anthropic Messages transcript, and MCP tools as Anthropic tools.

A native agent's model sees the conversation of its context: each A2A message becomes
one turn (``ROLE_USER`` → ``user``, ``ROLE_AGENT`` → ``assistant``), its parts text:
a text part as it is, a data part as its JSON, a file part as its name and media type
(with its inline text when it is text). Consecutive turns of one role are merged, since
the Messages API wants them alternating.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from bastion.domains.agents._execution import JsonObject
from bastion.kernel.tool_calls import ToolSpec

_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")
_MAX_TOOL_NAME = 64
_INLINE_TEXT_LIMIT = 64 * 1024


def part_text(part: JsonObject) -> str:
    """What the model reads of one A2A part."""
    if "text" in part:
        return str(part["text"])
    if "data" in part:
        return orjson.dumps(part["data"]).decode()
    name = str(part.get("filename") or "file")
    media = str(part.get("mediaType") or "application/octet-stream")
    if "url" in part:
        return f"[file {name} ({media}) at {part['url']}]"
    if "raw" in part:
        inline = _inline_text(part["raw"], media)
        if inline is not None:
            return f"[file {name} ({media})]\n{inline}"
    return f"[file {name} ({media})]"


def _inline_text(raw: object, media: str) -> str | None:
    if not (media.startswith("text/") or media in ("application/json", "application/xml")):
        return None
    try:
        data = base64.b64decode(str(raw), validate=True)[:_INLINE_TEXT_LIMIT]
    except (binascii.Error, ValueError):
        return None
    return data.decode("utf-8", "replace")


def message_text(message: JsonObject) -> str:
    parts = message.get("parts") or ()
    return "\n".join(part_text(p) for p in parts if isinstance(p, Mapping))


def transcript(messages: Iterable[JsonObject]) -> list[dict[str, Any]]:
    """The Anthropic ``messages`` of A2A messages, oldest first, starting with a user turn."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = "assistant" if message.get("role") == "ROLE_AGENT" else "user"
        text = message_text(message)
        if not text:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"][0]["text"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": [{"type": "text", "text": text}]})
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    return turns


@dataclass(frozen=True, slots=True)
class OfferedTool:
    """An MCP tool under the name the model calls it by."""

    name: str
    spec: ToolSpec

    def definition(self) -> dict[str, Any]:
        schema = dict(self.spec.input_schema) or {"type": "object"}
        schema.setdefault("type", "object")
        return {"name": self.name, "description": self.spec.description, "input_schema": schema}


def offered_tools(specs: Sequence[ToolSpec]) -> dict[str, OfferedTool]:
    """Each tool named ``<server>__<tool>`` (only the characters Anthropic tool names
    allow, at most 64 of them), a name taken twice made unique with a number."""
    offered: dict[str, OfferedTool] = {}
    for spec in specs:
        base = _TOOL_NAME.sub("_", f"{spec.server}__{spec.name}")[:_MAX_TOOL_NAME]
        name, n = base, 1
        while name in offered:
            n += 1
            suffix = f"_{n}"
            name = base[: _MAX_TOOL_NAME - len(suffix)] + suffix
        offered[name] = OfferedTool(name, spec)
    return offered
