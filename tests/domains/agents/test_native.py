"""The native agent loop against scripted model and tool services: how each turn is
asked, how tool results flow back, and each way a task ends (answer, input required,
every limit, cancel, a denial of the prompt or of a tool). The loop through the real
gateway and MCP proxy is tested end to end in test_a2a_native.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from bastion.domains.agents._execution import JsonObject, TaskStart, TaskState
from bastion.domains.agents._native import REQUEST_INPUT, NativeExecutor
from bastion.domains.agents._settings import AgentSettings
from bastion.domains.agents._transcript import offered_tools, part_text, transcript
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.errors import NotFoundError
from bastion.kernel.ids import TraceId, UserId
from bastion.kernel.inference import ModelReply
from bastion.kernel.tiers import Tier
from bastion.kernel.tool_calls import ToolOutcome, ToolRefusal, ToolSpec

PRINCIPAL = RequestContext(
    TraceId("t-1"), Tier.USER, AuthMethod.API_KEY, user_id=UserId("usr_1")
).for_task("helper", "task-1", "ctx-1")


def agent(**overrides: Any) -> AgentSettings:
    return AgentSettings.model_validate(
        {
            "name": "helper",
            "description": "Helps.",
            "version": "1.0.0",
            "skills": [{"id": "s", "name": "S", "description": "d", "tags": ["t"]}],
            "model": "claude-test",
            "instructions": "Be brief.",
            "mcp": [{"server": "kb", "tools": ["search"]}],
            **overrides,
        }
    )


def text_turn(text: str, *, tokens: tuple[int, int] = (10, 5), cost: int = 100) -> list[JsonObject]:
    half = len(text) // 2
    return [
        {"type": "message_start", "message": {"usage": {"input_tokens": tokens[0]}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text[:half]},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text[half:]},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": tokens[1]},
        },
        {"type": "message_stop"},
        {"type": "bastion.cost", "cost_microdollars": cost},
    ]


def tool_turn(name: str, arguments: Mapping[str, Any], *, cost: int = 100) -> list[JsonObject]:
    raw = orjson.dumps(arguments).decode()
    block = {"type": "tool_use", "id": f"tu-{name}", "name": name, "input": {}}
    return [
        {"type": "message_start", "message": {"usage": {"input_tokens": 20}}},
        {"type": "content_block_start", "index": 0, "content_block": block},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": raw[:3]},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": raw[3:]},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 7},
        },
        {"type": "message_stop"},
        {"type": "bastion.cost", "cost_microdollars": cost},
    ]


@dataclass
class ScriptedModel:
    turns: list[list[JsonObject]]
    requests: list[Mapping[str, Any]] = field(default_factory=list)
    principals: list[RequestContext] = field(default_factory=list)
    pause: float = 0.0

    async def create(self, principal: RequestContext, request: Mapping[str, Any]) -> ModelReply:
        raise AssertionError("the loop streams")

    async def stream(
        self, principal: RequestContext, request: Mapping[str, Any]
    ) -> AsyncIterator[Mapping[str, Any]]:
        self.requests.append(orjson.loads(orjson.dumps(request)))
        self.principals.append(principal)
        if self.pause:
            await asyncio.sleep(self.pause)
        for event in self.turns.pop(0):
            yield event


@dataclass
class ScriptedTools:
    outcomes: dict[str, ToolOutcome] = field(default_factory=dict)
    calls: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)

    async def tools(self, principal: RequestContext, server: str) -> Sequence[ToolSpec]:
        if server != "kb":
            raise NotFoundError(f"no MCP server '{server}'")
        schema = {"type": "object", "properties": {"q": {"type": "string"}}}
        return [ToolSpec("kb", "search", "Search.", schema), ToolSpec("kb", "delete", "D.", {})]

    async def call(
        self, principal: RequestContext, server: str, tool: str, arguments: Mapping[str, Any]
    ) -> ToolOutcome:
        assert principal.task_id == "task-1"
        self.calls.append((server, tool, arguments))
        return self.outcomes.get(tool, ToolOutcome([{"type": "text", "text": "3 invoices"}]))


@dataclass
class Recorder:
    statuses: list[tuple[TaskState, str | None]] = field(default_factory=list)
    artifacts: list[tuple[JsonObject, bool, bool]] = field(default_factory=list)
    cancel_after_statuses: int | None = None
    cancelled: bool = False

    async def status(self, state: TaskState, message: JsonObject | None = None) -> None:
        text = None if message is None else message["parts"][0]["text"]
        self.statuses.append((state, text))

    async def artifact(
        self, artifact: JsonObject, *, append: bool = False, last_chunk: bool = False
    ) -> None:
        self.artifacts.append((artifact, append, last_chunk))

    def remote_task(self, remote_task_id: str) -> None:
        raise AssertionError("a native agent has no remote task")

    @property
    def cancel_requested(self) -> bool:
        if self.cancel_after_statuses is not None:
            return len(self.statuses) >= self.cancel_after_statuses
        return self.cancelled

    def answer(self) -> str:
        return "".join(a["parts"][0]["text"] for a, _, _ in self.artifacts)

    @property
    def final(self) -> tuple[TaskState, str | None]:
        return self.statuses[-1]


def start(settings: AgentSettings, text: str = "How many invoices?", **kw: Any) -> TaskStart:
    message = {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}]}
    return TaskStart(settings, PRINCIPAL, "task-1", "ctx-1", message, **kw)


async def run(
    model: ScriptedModel,
    settings: AgentSettings | None = None,
    tools: ScriptedTools | None = None,
    **kw: Any,
) -> tuple[Recorder, ScriptedTools]:
    tools = tools or ScriptedTools()
    recorder = Recorder()
    await NativeExecutor(model, tools).execute(start(settings or agent(), **kw), recorder)
    return recorder, tools


async def test_a_tool_call_then_an_answer_streamed_into_the_answer_artifact() -> None:
    model = ScriptedModel([tool_turn("kb__search", {"q": "invoices"}), text_turn("There are 3.")])
    recorder, tools = await run(model)

    assert recorder.statuses == [(TaskState.WORKING, None), (TaskState.COMPLETED, None)]
    assert tools.calls == [("kb", "search", {"q": "invoices"})]
    first, second = model.requests
    assert first["model"] == "claude-test" and first["system"] == "Be brief."
    assert [t["name"] for t in first["tools"]] == ["kb__search", REQUEST_INPUT]  # not delete
    assert first["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "How many invoices?"}]}
    ]
    assert second["messages"][1]["content"][0]["input"] == {"q": "invoices"}
    assert second["messages"][2] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "tu-kb__search",
                "content": [{"type": "text", "text": "3 invoices"}],
            }
        ],
    }
    assert recorder.answer() == "There are 3."
    assert [(append, last) for _, append, last in recorder.artifacts] == [
        (False, False),
        (True, False),
        (True, True),
    ]
    assert {p.task_id for p in model.principals} == {"task-1"}


async def test_the_conversation_so_far_is_the_transcript() -> None:
    model = ScriptedModel([text_turn("Blue.")])
    history = [
        {"messageId": "a", "role": "ROLE_USER", "parts": [{"text": "Pick a colour."}]},
        {"messageId": "b", "role": "ROLE_AGENT", "parts": [{"text": "Which kind?"}]},
    ]
    await run(model, history=history, text="Any.")
    assert [(m["role"], m["content"][0]["text"]) for m in model.requests[0]["messages"]] == [
        ("user", "Pick a colour."),
        ("assistant", "Which kind?"),
        ("user", "Any."),
    ]


async def test_the_model_asking_a_question_needs_input() -> None:
    model = ScriptedModel([tool_turn(REQUEST_INPUT, {"question": "Which month?"})])
    recorder, tools = await run(model)
    assert recorder.final == (TaskState.INPUT_REQUIRED, "Which month?")
    assert tools.calls == []


async def test_each_limit_fails_the_task_naming_it() -> None:
    looping = [tool_turn("kb__search", {"q": "x"}) for _ in range(3)]
    recorder, _ = await run(ScriptedModel(looping), agent(limits={"max_iterations": 2}))
    assert recorder.final[0] is TaskState.FAILED
    assert recorder.final[1] == "limit max_iterations (2) reached before a final answer"

    costly = [tool_turn("kb__search", {"q": "x"}, cost=600), text_turn("never")]
    recorder, _ = await run(ScriptedModel(costly), agent(limits={"max_cost_microdollars": 500}))
    assert recorder.final == (
        TaskState.FAILED,
        "limit max_cost_microdollars (500) reached: 600 spent",
    )

    wordy = [tool_turn("kb__search", {"q": "x"}), text_turn("never")]
    recorder, _ = await run(ScriptedModel(wordy), agent(limits={"max_total_tokens": 20}))
    assert recorder.final == (TaskState.FAILED, "limit max_total_tokens (20) reached: 27 used")

    slow = ScriptedModel([text_turn("late")], pause=1.0)
    recorder, _ = await run(slow, agent(limits={"timeout_seconds": 0.05}))
    assert recorder.final == (TaskState.FAILED, "limit timeout_seconds (0.05 s) reached")


async def test_a_denied_prompt_or_tool_rejects_the_task_with_stage_and_reason() -> None:
    denied = {
        "type": "error",
        "status": 403,
        "error": {
            "type": "permission_error",
            "message": "Bastion governance denied the request: a secret",
            "stage": "secret_scan",
            "rule": "secret.aws-access-key-id",
            "reason": "an AWS access key id in the prompt",
        },
    }
    recorder, _ = await run(ScriptedModel([[denied]]))
    assert recorder.final == (
        TaskState.REJECTED,
        "the model call was refused (secret_scan): an AWS access key id in the prompt",
    )

    refusal = ToolRefusal(-32001, "Bastion denied the call (blocklist): no", "blocklist", "b.1")
    tools = ScriptedTools({"search": ToolOutcome(refusal=refusal)})
    model = ScriptedModel([tool_turn("kb__search", {"q": "x"}), text_turn("never")])
    recorder, _ = await run(model, tools=tools)
    assert recorder.final == (
        TaskState.REJECTED,
        "tool kb/search refused (blocklist): Bastion denied the call (blocklist): no",
    )
    assert len(model.requests) == 1

    failed = {"type": "error", "status": 502, "error": {"message": "upstream unreachable"}}
    recorder, _ = await run(ScriptedModel([[failed]]))
    assert recorder.final == (
        TaskState.FAILED,
        "the model call failed (502): upstream unreachable",
    )


async def test_a_tool_error_goes_back_to_the_model() -> None:
    broken = ToolOutcome([{"type": "text", "text": "index offline"}], is_error=True)
    model = ScriptedModel([tool_turn("kb__search", {"q": "x"}), text_turn("Sorry.")])
    recorder, _ = await run(model, tools=ScriptedTools({"search": broken}))
    assert recorder.final == (TaskState.COMPLETED, None)
    assert model.requests[1]["messages"][2]["content"][0]["is_error"] is True


async def test_cancel_stops_at_the_next_step() -> None:
    model = ScriptedModel([tool_turn("kb__search", {"q": "x"}), text_turn("never")])
    tools = ScriptedTools()
    recorder = Recorder(cancel_after_statuses=1)  # right after WORKING
    await NativeExecutor(model, tools).execute(start(agent()), recorder)
    assert recorder.final == (TaskState.CANCELED, "canceled by the caller")
    assert model.requests == [] and tools.calls == []


async def test_an_agent_without_a_model_or_with_an_unknown_server_fails_clearly() -> None:
    recorder, _ = await run(ScriptedModel([]), agent(model=None, route="claude-*"))
    assert recorder.final == (
        TaskState.FAILED,
        "agent 'helper' names no model: set `model` (its route 'claude-*' is a pattern)",
    )
    recorder, _ = await run(ScriptedModel([]), agent(mcp=[{"server": "nope"}]))
    assert recorder.final == (TaskState.FAILED, "MCP server 'nope': no MCP server 'nope'")


def test_parts_and_tool_names_the_model_can_read() -> None:
    assert part_text({"data": {"a": 1}}) == '{"a":1}'
    inline = {"raw": "aGVsbG8=", "filename": "a.txt", "mediaType": "text/plain"}
    assert part_text(inline) == "[file a.txt (text/plain)]\nhello"
    assert (
        part_text({"raw": "AAE=", "filename": "b.bin"}) == "[file b.bin (application/octet-stream)]"
    )
    assert transcript([{"role": "ROLE_AGENT", "parts": [{"text": "hi"}]}]) == []
    specs = [ToolSpec("my.server", "a/b", "", {}), ToolSpec("my_server", "a_b", "", {})]
    assert list(offered_tools(specs)) == ["my_server__a_b", "my_server__a_b_2"]
    long = offered_tools([ToolSpec("s" * 70, "t", "", {})])
    assert [len(n) for n in long] == [64]


@pytest.mark.parametrize("route", ["claude-test", None])
def test_the_model_defaults_to_a_route_without_a_glob(route: str | None) -> None:
    from bastion.domains.agents._native import model_of

    assert model_of(agent(model=None, route=route)) == route
