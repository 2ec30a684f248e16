"""The sdk's own 0.3 JSON-RPC client (``CompatJsonRpcTransport``) against an in-memory
1.0 endpoint that serves it through the translation, the way Bastion's endpoint does:
0.3 method -> ``V03_METHODS``, params -> ``params_to_v10`` (then parsed strictly into the
1.0 request the method takes), 1.0 result -> ``result_from_v10``, each stream event ->
``event_from_v10`` in an SSE ``data:`` line.

What the client asks (a 1.0 request it converts to 0.3 itself) must reach the endpoint
as the same 1.0 request, and what the endpoint answers must reach the client as the
same 1.0 value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from a2a.compat.v0_3.jsonrpc_transport import CompatJsonRpcTransport
from a2a.types import a2a_pb2 as pb
from a2a.utils.errors import TaskNotFoundError
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message as ProtoMessage

from bastion.domains.agents._card import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
)
from bastion.domains.agents._compat_v03 import (
    V03_METHODS,
    error_code_v03,
    event_from_v10,
    params_to_v10,
    result_from_v10,
)

URL = "https://bastion.example.test/api/v1/agents/helpdesk/a2a"

REQUESTS: dict[str, type[ProtoMessage]] = {
    "SendMessage": pb.SendMessageRequest,
    "SendStreamingMessage": pb.SendMessageRequest,
    "GetTask": pb.GetTaskRequest,
    "CancelTask": pb.CancelTaskRequest,
    "SubscribeToTask": pb.SubscribeToTaskRequest,
    "CreateTaskPushNotificationConfig": pb.TaskPushNotificationConfig,
    "GetTaskPushNotificationConfig": pb.GetTaskPushNotificationConfigRequest,
    "ListTaskPushNotificationConfigs": pb.ListTaskPushNotificationConfigsRequest,
    "DeleteTaskPushNotificationConfig": pb.DeleteTaskPushNotificationConfigRequest,
    "GetExtendedAgentCard": pb.GetExtendedAgentCardRequest,
}
STREAMING = {"SendStreamingMessage", "SubscribeToTask"}

Answer = Callable[[dict[str, Any]], Any]


class Endpoint10:
    """A 1.0 endpoint: each method answers its (strictly parsed) 1.0 request."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.received: list[tuple[str, ProtoMessage]] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.headers.append(request.headers)
        method10 = V03_METHODS[body["method"]]
        params10 = params_to_v10(method10, body.get("params"))
        self.received.append((method10, ParseDict(params10, REQUESTS[method10]())))
        try:
            answer = self.answers[method10](params10)
        except LookupError:
            error = {"code": error_code_v03(-32001), "message": "Task not found"}
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "error": error})
        if method10 in STREAMING:
            lines = (
                "data: "
                + json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": event_from_v10(e)})
                + "\n\n"
                for e in answer
            )
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, text="".join(lines)
            )
        result = result_from_v10(method10, answer)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})


@pytest.fixture
def endpoint() -> Endpoint10:
    return Endpoint10()


@pytest.fixture
def client(endpoint: Endpoint10) -> Iterator[CompatJsonRpcTransport]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    yield CompatJsonRpcTransport(http, None, URL)


USER_MESSAGE = {
    "messageId": "m1",
    "contextId": "c1",
    "role": "ROLE_USER",
    "parts": [
        {"text": "Is the VPN down?"},
        {"raw": "aGVsbG8=", "filename": "log.txt", "mediaType": "text/plain"},
        {"data": {"ticket": 42.0}},
    ],
    "metadata": {"channel": "slack"},
}
TASK = {
    "id": "t1",
    "contextId": "c1",
    "status": {
        "state": "TASK_STATE_COMPLETED",
        "timestamp": "2026-12-08T01:02:03.456Z",
        "message": {"messageId": "s1", "role": "ROLE_AGENT", "parts": [{"text": "It is up."}]},
    },
    "artifacts": [{"artifactId": "a1", "name": "answer", "parts": [{"text": "It is up."}]}],
    "history": [USER_MESSAGE],
}


def task10(**changes: Any) -> dict[str, Any]:
    return {**TASK, **changes}


async def test_send_message_round_trips_request_and_task(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    endpoint.answers["SendMessage"] = lambda params: {"task": TASK}
    request = ParseDict(
        {
            "message": USER_MESSAGE,
            "configuration": {
                "acceptedOutputModes": ["text/plain"],
                "historyLength": 4,
                "returnImmediately": True,
            },
        },
        pb.SendMessageRequest(),
    )
    response = await client.send_message(request)
    assert endpoint.received == [("SendMessage", request)]
    assert response == ParseDict({"task": TASK}, pb.SendMessageResponse())
    assert endpoint.headers[0]["a2a-version"] == "0.3"


async def test_send_message_may_answer_a_message(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    reply = {"messageId": "r1", "contextId": "c1", "role": "ROLE_AGENT", "parts": [{"text": "Hi"}]}
    endpoint.answers["SendMessage"] = lambda params: {"message": reply}
    response = await client.send_message(
        ParseDict({"message": USER_MESSAGE}, pb.SendMessageRequest())
    )
    assert response == ParseDict({"message": reply}, pb.SendMessageResponse())


STREAM = [
    {"task": task10(status={"state": "TASK_STATE_SUBMITTED"}, artifacts=[])},
    {
        "statusUpdate": {
            "taskId": "t1",
            "contextId": "c1",
            "status": {"state": "TASK_STATE_WORKING"},
        }
    },
    {
        "artifactUpdate": {
            "taskId": "t1",
            "contextId": "c1",
            "artifact": {"artifactId": "a1", "parts": [{"text": "It is "}]},
        }
    },
    {
        "artifactUpdate": {
            "taskId": "t1",
            "contextId": "c1",
            "artifact": {"artifactId": "a1", "parts": [{"text": "up."}]},
            "append": True,
            "lastChunk": True,
        }
    },
    {
        "statusUpdate": {
            "taskId": "t1",
            "contextId": "c1",
            "status": {"state": "TASK_STATE_INPUT_REQUIRED", "timestamp": "2026-12-08T01:02:04Z"},
            "metadata": {"reason": "which office?"},
        }
    },
]


async def test_a_stream_reaches_the_client_event_by_event(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    endpoint.answers["SendStreamingMessage"] = lambda params: STREAM
    request = ParseDict({"message": USER_MESSAGE}, pb.SendMessageRequest())
    events = [e async for e in client.send_message_streaming(request)]
    assert endpoint.received == [("SendStreamingMessage", request)]
    assert [MessageToDict(e) for e in events] == [
        MessageToDict(ParseDict(e, pb.StreamResponse())) for e in STREAM
    ]


async def test_resubscribing_streams_the_task(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    endpoint.answers["SubscribeToTask"] = lambda params: STREAM[1:]
    events = [e async for e in client.subscribe(pb.SubscribeToTaskRequest(id="t1"))]
    assert endpoint.received == [("SubscribeToTask", pb.SubscribeToTaskRequest(id="t1"))]
    assert len(events) == 4
    assert events[-1].status_update.status.state == pb.TaskState.TASK_STATE_INPUT_REQUIRED


async def test_get_and_cancel_round_trip(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    endpoint.answers["GetTask"] = lambda params: task10(id=params["id"])
    endpoint.answers["CancelTask"] = lambda params: task10(
        status={"state": "TASK_STATE_CANCELED"}, artifacts=[]
    )
    got = await client.get_task(pb.GetTaskRequest(id="t1", history_length=2))
    assert got == ParseDict(TASK, pb.Task())
    canceled = await client.cancel_task(pb.CancelTaskRequest(id="t1"))
    assert canceled.status.state == pb.TaskState.TASK_STATE_CANCELED
    assert endpoint.received == [
        ("GetTask", pb.GetTaskRequest(id="t1", history_length=2)),
        ("CancelTask", pb.CancelTaskRequest(id="t1")),
    ]


async def test_an_error_reaches_the_client_as_its_a2a_error(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    with pytest.raises(TaskNotFoundError):
        await client.get_task(pb.GetTaskRequest(id="missing"))


async def test_push_configs_round_trip(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    stored: dict[str, dict[str, Any]] = {}

    def create(params: dict[str, Any]) -> dict[str, Any]:
        stored[params["id"]] = params
        return params

    endpoint.answers["CreateTaskPushNotificationConfig"] = create
    endpoint.answers["GetTaskPushNotificationConfig"] = lambda params: stored[params["id"]]
    endpoint.answers["ListTaskPushNotificationConfigs"] = lambda params: {
        "configs": list(stored.values())
    }
    endpoint.answers["DeleteTaskPushNotificationConfig"] = lambda params: stored.pop(params["id"])
    config = pb.TaskPushNotificationConfig(
        task_id="t1",
        id="p1",
        url="https://hooks.example.test/a2a",
        token="tok",
        authentication=pb.AuthenticationInfo(scheme="Bearer", credentials="secret"),
    )
    assert await client.create_task_push_notification_config(config) == config
    got = await client.get_task_push_notification_config(
        pb.GetTaskPushNotificationConfigRequest(task_id="t1", id="p1")
    )
    assert got == config
    listed = await client.list_task_push_notification_configs(
        pb.ListTaskPushNotificationConfigsRequest(task_id="t1")
    )
    assert list(listed.configs) == [config]
    await client.delete_task_push_notification_config(
        pb.DeleteTaskPushNotificationConfigRequest(task_id="t1", id="p1")
    )
    assert stored == {}
    assert [m for m, _ in endpoint.received] == [
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
    ]


async def test_the_extended_card_reaches_the_client(
    endpoint: Endpoint10, client: CompatJsonRpcTransport
) -> None:
    card = AgentCard(
        name="Helpdesk",
        description="Answers employee IT questions.",
        supported_interfaces=[
            AgentInterface(url=URL, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        version="2.1.0",
        capabilities=AgentCapabilities(streaming=True, extended_agent_card=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="triage", name="Triage", description="Files a ticket.", tags=["it"])],
    ).as_json()
    endpoint.answers["GetExtendedAgentCard"] = lambda params: card
    got = await client.get_extended_agent_card(pb.GetExtendedAgentCardRequest())
    assert [m for m, _ in endpoint.received] == ["GetExtendedAgentCard"]
    assert got.name == "Helpdesk"
    assert [(i.url, i.protocol_binding) for i in got.supported_interfaces] == [(URL, "JSONRPC")]
    assert got.capabilities.streaming
    assert [s.id for s in got.skills] == ["triage"]
