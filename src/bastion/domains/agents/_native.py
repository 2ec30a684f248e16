"""The native agent: Bastion runs the loop.

Each turn is one governed model call through the gateway (``INFERENCE``: routed, costed,
an ``ai_requests`` row with the agent, task and context ids) with the agent's MCP tools
offered; each ``tool_use`` is one governed ``tools/call`` (``TOOL_CALLS``: the chain,
pins, credentials, an ``mcp_tool_executions`` row). The model's text streams into the
task's ``answer`` artifact as it arrives.

The loop ends on a final answer (``COMPLETED``), on the model asking the caller
something (the ``request_input`` tool: ``INPUT_REQUIRED``), on a limit (``FAILED``, the
limit named), on ``CancelTask`` (``CANCELED``) or on a denial by governance of the
prompt or of a tool call (``REJECTED``, with the stage and the reason).
"""

from __future__ import annotations

import asyncio
import fnmatch
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from bastion.domains.agents._execution import (
    JsonObject,
    TaskStart,
    TaskState,
    TaskUpdates,
    text_message,
)
from bastion.domains.agents._settings import AgentSettings
from bastion.domains.agents._transcript import OfferedTool, offered_tools, transcript
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import NotFoundError
from bastion.kernel.inference import Inference
from bastion.kernel.tool_calls import ToolCalls, ToolOutcome, ToolSpec

REQUEST_INPUT = "request_input"
_REQUEST_INPUT_TOOL = {
    "name": REQUEST_INPUT,
    "description": "Ask the user a question and wait for the answer, when the task cannot "
    "go on without it.",
    "input_schema": {
        "type": "object",
        "properties": {"question": {"type": "string", "description": "What to ask."}},
        "required": ["question"],
    },
}


class _Stop(Exception):
    """The task ends in ``state``, ``message`` saying why."""

    def __init__(self, state: TaskState, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


@dataclass(slots=True)
class _Turn:
    """One model call's answer, assembled from its stream."""

    blocks: dict[int, dict[str, Any]] = field(default_factory=dict)
    partial_json: dict[int, list[str]] = field(default_factory=dict)
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_microdollars: int = 0

    def content(self) -> list[dict[str, Any]]:
        out = []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            if block.get("type") == "tool_use":
                raw = "".join(self.partial_json.get(index, ()))
                block["input"] = orjson.loads(raw) if raw else block.get("input") or {}
            out.append(block)
        return out


@dataclass(slots=True)
class _Answer:
    """The ``answer`` artifact, streamed a text delta at a time."""

    artifact_id: str
    updates: TaskUpdates
    started: bool = False
    separate: bool = False

    async def delta(self, text: str) -> None:
        if not text:
            return
        if self.separate:
            text, self.separate = "\n\n" + text, False
        artifact = {"artifactId": self.artifact_id, "name": "answer", "parts": [{"text": text}]}
        await self.updates.artifact(artifact, append=self.started)
        self.started = True

    def next_turn(self) -> None:
        self.separate = self.started

    async def close(self) -> None:
        if self.started:
            artifact = {"artifactId": self.artifact_id, "name": "answer", "parts": [{"text": ""}]}
            await self.updates.artifact(artifact, append=True, last_chunk=True)


def model_of(agent: AgentSettings) -> str | None:
    """The model a native agent asks for: ``model``, else a ``route`` without a glob."""
    if agent.model is not None:
        return agent.model
    if agent.route is not None and "*" not in agent.route:
        return agent.route
    return None


class NativeExecutor:
    """Runs native agents' tasks over ``INFERENCE`` and (when the mcp domain is enabled)
    ``TOOL_CALLS``."""

    def __init__(self, inference: Inference | None, tool_calls: ToolCalls | None) -> None:
        self._inference = inference
        self._tool_calls = tool_calls

    async def cancel(self, start: TaskStart) -> None:
        """Nothing to tell anyone: the loop sees ``cancel_requested`` at its next step."""

    async def execute(self, start: TaskStart, updates: TaskUpdates) -> None:
        agent = start.agent
        try:
            async with asyncio.timeout(agent.limits.timeout_seconds):
                state, message = await self._loop(start, updates)
        except _Stop as stop:
            state, message = stop.state, stop.message
        except TimeoutError:
            state = TaskState.FAILED
            message = f"limit timeout_seconds ({agent.limits.timeout_seconds:g} s) reached"
        await updates.status(state, None if message is None else self._say(start, message))

    def _say(self, start: TaskStart, text: str) -> dict[str, Any]:
        return text_message(
            "ROLE_AGENT",
            text,
            task_id=start.task_id,
            context_id=start.context_id,
            message_id=uuid.uuid4().hex,
        )

    async def _loop(self, start: TaskStart, updates: TaskUpdates) -> tuple[TaskState, str | None]:
        agent, limits, principal = start.agent, start.agent.limits, start.principal
        inference = self._inference
        if inference is None:
            raise _Stop(TaskState.FAILED, "a native agent needs the gateway domain enabled")
        model = model_of(agent)
        if model is None:
            raise _Stop(
                TaskState.FAILED,
                f"agent '{agent.name}' names no model: set `model` (its route "
                f"'{agent.route}' is a pattern)",
            )
        await updates.status(TaskState.WORKING)
        offered = await self._offered(agent, principal)
        definitions = [t.definition() for t in offered.values()] + [_REQUEST_INPUT_TOOL]
        messages = transcript([*start.history, start.message])
        if not messages:
            raise _Stop(TaskState.REJECTED, "the message has no content to work on")
        answer = _Answer(f"answer-{start.task_id}", updates)
        total_tokens = cost = 0
        for _ in range(limits.max_iterations):
            self._check_cancel(updates)
            request: dict[str, Any] = {
                "model": model,
                "max_tokens": limits.max_tokens,
                "messages": messages,
                "tools": definitions,
            }
            if agent.instructions:
                request["system"] = agent.instructions
            turn = await self._turn(inference, principal, request, answer)
            total_tokens += turn.input_tokens + turn.output_tokens
            cost += turn.cost_microdollars
            content = turn.content()
            messages.append({"role": "assistant", "content": content})
            uses = [b for b in content if b.get("type") == "tool_use"]
            if not uses:
                await answer.close()
                return TaskState.COMPLETED, None
            question = _question(uses)
            if question is not None:
                await answer.close()
                return TaskState.INPUT_REQUIRED, question
            _check_budget(agent, total_tokens, cost)
            results = [await self._use(principal, offered, use, updates) for use in uses]
            messages.append({"role": "user", "content": results})
            answer.next_turn()
        raise _Stop(
            TaskState.FAILED,
            f"limit max_iterations ({limits.max_iterations}) reached before a final answer",
        )

    async def _offered(
        self, agent: AgentSettings, principal: RequestContext
    ) -> dict[str, OfferedTool]:
        if not agent.mcp:
            return {}
        if self._tool_calls is None:
            raise _Stop(TaskState.FAILED, "the agent's MCP tools need the mcp domain enabled")
        specs: list[ToolSpec] = []
        for grant in agent.mcp:
            try:
                listed = await self._tool_calls.tools(principal, grant.server)
            except NotFoundError as exc:
                raise _Stop(TaskState.FAILED, f"MCP server '{grant.server}': {exc}") from None
            specs.extend(
                s for s in listed if any(fnmatch.fnmatchcase(s.name, g) for g in grant.tools)
            )
        return offered_tools(specs)

    @staticmethod
    async def _turn(
        inference: Inference,
        principal: RequestContext,
        request: Mapping[str, Any],
        answer: _Answer,
    ) -> _Turn:
        turn = _Turn()
        async for event in inference.stream(principal, request):
            kind = event.get("type")
            if kind == "content_block_delta":
                delta = event.get("delta") or {}
                index = int(event.get("index", 0))
                if delta.get("type") == "text_delta":
                    text = str(delta.get("text", ""))
                    turn.blocks[index]["text"] += text
                    await answer.delta(text)
                elif delta.get("type") == "input_json_delta":
                    turn.partial_json.setdefault(index, []).append(
                        str(delta.get("partial_json", ""))
                    )
            elif kind == "content_block_start":
                block = dict(event.get("content_block") or {})
                if block.get("type") == "text":
                    block["text"] = str(block.get("text", ""))
                turn.blocks[int(event.get("index", 0))] = block
            elif kind == "message_start":
                usage = (event.get("message") or {}).get("usage") or {}
                turn.input_tokens = int(usage.get("input_tokens") or 0)
            elif kind == "message_delta":
                turn.stop_reason = (event.get("delta") or {}).get("stop_reason")
                usage = event.get("usage") or {}
                turn.output_tokens = int(usage.get("output_tokens") or turn.output_tokens)
            elif kind == "bastion.cost":
                turn.cost_microdollars = int(event.get("cost_microdollars") or 0)
            elif kind == "error":
                raise _model_stop(event)
        return turn

    async def _use(
        self,
        principal: RequestContext,
        offered: Mapping[str, OfferedTool],
        use: JsonObject,
        updates: TaskUpdates,
    ) -> dict[str, Any]:
        """Call one tool; its ``tool_result`` for the next turn."""
        self._check_cancel(updates)
        tool = offered.get(str(use.get("name")))
        use_id = str(use.get("id"))
        if tool is None or self._tool_calls is None:
            text = f"no tool '{use.get('name')}' is offered to this agent"
            return {"type": "tool_result", "tool_use_id": use_id, "content": text, "is_error": True}
        arguments = use.get("input")
        outcome = await self._tool_calls.call(
            principal,
            tool.spec.server,
            tool.spec.name,
            arguments if isinstance(arguments, Mapping) else {},
        )
        if outcome.refusal is not None:
            refusal = outcome.refusal
            where = f" ({refusal.stage})" if refusal.stage else ""
            raise _Stop(
                TaskState.REJECTED,
                f"tool {tool.spec.server}/{tool.spec.name} refused{where}: {refusal.message}",
            )
        return _tool_result(use_id, outcome)

    @staticmethod
    def _check_cancel(updates: TaskUpdates) -> None:
        if updates.cancel_requested:
            raise _Stop(TaskState.CANCELED, "canceled by the caller")


def _question(uses: Sequence[JsonObject]) -> str | None:
    for use in uses:
        if use.get("name") == REQUEST_INPUT:
            asked = use.get("input")
            if isinstance(asked, Mapping) and asked.get("question"):
                return str(asked["question"])
            return "The agent needs more input to go on."
    return None


def _check_budget(agent: AgentSettings, total_tokens: int, cost: int) -> None:
    limits = agent.limits
    if limits.max_total_tokens is not None and total_tokens >= limits.max_total_tokens:
        raise _Stop(
            TaskState.FAILED,
            f"limit max_total_tokens ({limits.max_total_tokens}) reached: {total_tokens} used",
        )
    if limits.max_cost_microdollars is not None and cost >= limits.max_cost_microdollars:
        raise _Stop(
            TaskState.FAILED,
            f"limit max_cost_microdollars ({limits.max_cost_microdollars}) reached: {cost} spent",
        )


def _model_stop(event: JsonObject) -> _Stop:
    error = event.get("error") or {}
    message = str(error.get("message") or "the model call failed")
    status = int(event.get("status") or 502)
    if error.get("stage"):  # governance denied it: the prompt, a rate limit, a quota
        reason = error.get("reason") or message
        return _Stop(TaskState.REJECTED, f"the model call was refused ({error['stage']}): {reason}")
    return _Stop(TaskState.FAILED, f"the model call failed ({status}): {message}")


def _tool_result(use_id: str, outcome: ToolOutcome) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in outcome.content:
        if block.get("type") == "text":
            content.append({"type": "text", "text": str(block.get("text", ""))})
        elif block.get("type") == "image" and block.get("data"):
            source = {"type": "base64", "media_type": block.get("mimeType"), "data": block["data"]}
            content.append({"type": "image", "source": source})
        else:
            content.append({"type": "text", "text": orjson.dumps(block).decode()})
    if not content and outcome.structured is not None:
        content.append({"type": "text", "text": orjson.dumps(outcome.structured).decode()})
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": use_id, "content": content}
    if outcome.is_error:
        result["is_error"] = True
    return result
