"""A2A 0.3 <-> 1.0 translation, checked against the a2a-sdk's own definitions: every 0.3
value produced must validate as the sdk's 0.3 pydantic model, every 1.0 value must parse
(strictly, no unknown field) into the sdk's 1.0 protobuf, and both must equal what the
sdk's bridge (``a2a.compat.v0_3.conversions``) makes of the same input, except where
Bastion departs from it on purpose (default push config ids, ``final`` on interruption).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from a2a.compat.v0_3 import conversions
from a2a.compat.v0_3 import types as v03
from a2a.server.routes.jsonrpc_dispatcher import JSONRPC03Adapter  # the sdk's import order
from a2a.types import a2a_pb2 as pb
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message as ProtoMessage
from hypothesis import given
from hypothesis import strategies as st

from bastion.domains.agents._compat_v03 import (
    V03_METHODS,
    InvalidV03Params,
    error_code_v03,
    event_from_v10,
    message_from_v10,
    message_to_v10,
    params_to_v10,
    part_from_v10,
    part_to_v10,
    result_from_v10,
    task_from_v10,
)


def dump03(model: Any) -> Any:
    """The JSON a 0.3 client sends or receives for an sdk 0.3 model."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def proto(value: dict[str, Any], cls: type[ProtoMessage]) -> Any:
    return ParseDict(value, cls())


def json10(message: ProtoMessage) -> dict[str, Any]:
    """The ProtoJSON Bastion's endpoint produces for a 1.0 value."""
    return MessageToDict(message)


# Strategies: JSON as both versions write it.

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
# An optional string or object is set or absent: ProtoJSON cannot tell "" or {} from unset.
names = text.filter(bool)
keys = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(keys.filter(lambda k: k != "data_part_compat"), json_values)
metadata = st.dictionaries(keys.filter(lambda k: k != "data_part_compat"), json_values, min_size=1)
b64 = st.binary(max_size=32).map(lambda b: base64.b64encode(b).decode())
ids = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)


@st.composite
def parts10(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "data", "raw", "url"]))
    part: dict[str, Any]
    if kind == "text":
        part = {"text": draw(text)}
    elif kind == "data":
        part = {"data": draw(json_values)}
    else:
        part = {kind: draw(b64 if kind == "raw" else text)}
        for key in ("filename", "mediaType"):
            if draw(st.booleans()):
                part[key] = draw(names)
    if draw(st.booleans()):
        part["metadata"] = draw(metadata)
    return part


@st.composite
def parts03(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "file", "data"]))
    part: dict[str, Any]
    if kind == "text":
        part = {"kind": "text", "text": draw(text)}
    elif kind == "data":
        part = {"kind": "data", "data": draw(json_objects)}
    else:
        file: dict[str, Any] = {"bytes": draw(b64)} if draw(st.booleans()) else {"uri": draw(text)}
        for key in ("name", "mimeType"):
            if draw(st.booleans()):
                file[key] = draw(names)
        part = {"kind": "file", "file": file}
    if draw(st.booleans()):
        part["metadata"] = draw(metadata)
    return part


@st.composite
def messages03(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {
        "kind": "message",
        "messageId": draw(ids),
        "role": draw(st.sampled_from(["user", "agent"])),
        "parts": draw(st.lists(parts03(), max_size=3)),
    }
    for key in ("contextId", "taskId"):
        if draw(st.booleans()):
            message[key] = draw(ids)
    if draw(st.booleans()):
        message["metadata"] = draw(metadata)
    if draw(st.booleans()):
        message["referenceTaskIds"] = draw(st.lists(ids, min_size=1, max_size=2))
    return message


# Methods


def test_the_method_names_are_the_ones_the_sdk_serves_as_0_3() -> None:
    assert set(V03_METHODS) == set(JSONRPC03Adapter.METHOD_TO_MODEL)
    assert set(V03_METHODS.values()) <= {
        m.name for m in pb.DESCRIPTOR.services_by_name["A2AService"].methods
    }


def test_error_codes_unknown_to_0_3_become_internal_errors() -> None:
    assert error_code_v03(-32001) == -32001
    assert error_code_v03(-32007) == -32007
    assert error_code_v03(-32602) == -32602
    assert error_code_v03(-32009) == -32603
    assert error_code_v03(-32008) == -32603


# Parts and messages


@given(parts10())
def test_a_1_0_part_reads_as_the_sdk_0_3_part_and_comes_back(part: dict[str, Any]) -> None:
    core = proto(part, pb.Part)
    out = part_from_v10(json10(core))
    assert dump03(v03.Part.model_validate(out)) == out
    assert out == dump03(conversions.to_compat_part(core))
    assert proto(part_to_v10(out), pb.Part) == core


@given(parts03())
def test_a_0_3_part_reads_as_the_sdk_1_0_part_and_comes_back(part: dict[str, Any]) -> None:
    out = part_to_v10(part)
    core = proto(out, pb.Part)
    assert core == conversions.to_core_part(v03.Part.model_validate(part))
    assert part_from_v10(json10(core)) == dump03(v03.Part.model_validate(part))


def test_a_part_without_kind_is_read_by_its_content() -> None:
    assert part_to_v10({"text": "hi"}) == {"text": "hi"}
    assert part_to_v10({"data": {"a": 1}}) == {"data": {"a": 1}}
    assert part_to_v10({"file": {"uri": "https://x.test/a", "name": "a.txt"}}) == {
        "url": "https://x.test/a",
        "filename": "a.txt",
    }


def test_url_safe_and_unpadded_base64_is_normalised() -> None:
    out = part_to_v10({"kind": "file", "file": {"bytes": "AAE-_w"}})
    assert out == {"raw": "AAE+/w=="}
    assert proto(out, pb.Part).raw == b"\x00\x01>\xff"


def test_a_data_value_that_is_no_object_travels_wrapped() -> None:
    out = part_from_v10({"data": [1, "two"], "metadata": {"k": "v"}})
    assert out == {
        "kind": "data",
        "data": {"value": [1, "two"]},
        "metadata": {"k": "v", "data_part_compat": True},
    }
    assert part_to_v10(out) == {"data": [1, "two"], "metadata": {"k": "v"}}
    assert part_to_v10(part_from_v10({"data": 3})) == {"data": 3}


@given(messages03())
def test_a_0_3_message_reads_as_the_sdk_1_0_message(message: dict[str, Any]) -> None:
    core = proto(message_to_v10(message), pb.Message)
    model = v03.Message.model_validate(message)
    assert core == conversions.to_core_message(model)
    assert message_from_v10(json10(core)) == dump03(model)


def test_a_1_0_agent_message_reads_as_a_0_3_message() -> None:
    message = {
        "messageId": "m1",
        "contextId": "c1",
        "taskId": "t1",
        "role": "ROLE_AGENT",
        "parts": [
            {"text": "done"},
            {"url": "https://x.test/r.pdf", "mediaType": "application/pdf"},
        ],
        "metadata": {"trace": "abc"},
        "extensions": ["https://ext.test/v1"],
    }
    out = message_from_v10(message)
    assert out == {
        "kind": "message",
        "messageId": "m1",
        "contextId": "c1",
        "taskId": "t1",
        "role": "agent",
        "parts": [
            {"kind": "text", "text": "done"},
            {
                "kind": "file",
                "file": {"uri": "https://x.test/r.pdf", "mimeType": "application/pdf"},
            },
        ],
        "metadata": {"trace": "abc"},
        "extensions": ["https://ext.test/v1"],
    }
    assert out == dump03(conversions.to_compat_message(proto(message, pb.Message)))


# Params


def _send_request03(**configuration: Any) -> v03.SendMessageRequest:
    return v03.SendMessageRequest.model_validate(
        {
            "id": 1,
            "jsonrpc": "2.0",
            "method": "message/send",
            "params": {
                "message": {
                    "kind": "message",
                    "messageId": "m1",
                    "role": "user",
                    "contextId": "c1",
                    "parts": [
                        {"kind": "text", "text": "Summarise this"},
                        {
                            "kind": "file",
                            "file": {"name": "a.txt", "mimeType": "text/plain", "bytes": "aGk="},
                        },
                        {"kind": "data", "data": {"ticket": 42}},
                    ],
                },
                "configuration": configuration or None,
                "metadata": {"origin": "test"},
            },
        }
    )


@pytest.mark.parametrize(
    "configuration",
    [
        {},
        {"blocking": True},
        {"blocking": False, "historyLength": 5, "acceptedOutputModes": ["text/plain"]},
        {"historyLength": 0},
        {
            "pushNotificationConfig": {
                "id": "p1",
                "url": "https://hooks.test/a2a",
                "token": "tok",
                "authentication": {"schemes": ["Bearer", "Basic"], "credentials": "secret"},
            }
        },
    ],
)
@pytest.mark.parametrize("method10", ["SendMessage", "SendStreamingMessage"])
def test_send_params_match_the_sdk_send_message_request(
    method10: str, configuration: dict[str, Any]
) -> None:
    request = _send_request03(**configuration)
    out = params_to_v10(method10, dump03(request.params))
    assert proto(out, pb.SendMessageRequest) == conversions.to_core_send_message_request(request)


def test_blocking_false_returns_immediately_and_history_zero_means_no_limit() -> None:
    out = params_to_v10(
        "SendMessage",
        {
            "message": {"messageId": "m", "role": "user", "parts": [{"text": "x"}]},
            "configuration": {"blocking": False, "historyLength": 0},
        },
    )
    assert out["configuration"] == {"returnImmediately": True}
    assert out["message"] == {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}


@pytest.mark.parametrize(
    ("method03", "params"),
    [
        ("tasks/get", {"id": "t1"}),
        ("tasks/get", {"id": "t1", "historyLength": 3}),
        ("tasks/get", {"id": "t1", "historyLength": 0}),
        ("tasks/cancel", {"id": "t1", "metadata": {"why": "test"}}),
        ("tasks/resubscribe", {"id": "t1"}),
        (
            "tasks/pushNotificationConfig/set",
            {
                "taskId": "t1",
                "pushNotificationConfig": {
                    "id": "p1",
                    "url": "https://hooks.test/a2a",
                    "authentication": {"schemes": ["Bearer"]},
                },
            },
        ),
        ("tasks/pushNotificationConfig/get", {"id": "t1", "pushNotificationConfigId": "p1"}),
        ("tasks/pushNotificationConfig/list", {"id": "t1"}),
        ("tasks/pushNotificationConfig/delete", {"id": "t1", "pushNotificationConfigId": "p1"}),
    ],
)
def test_task_params_match_the_sdk_requests(method03: str, params: dict[str, Any]) -> None:
    model = JSONRPC03Adapter.METHOD_TO_MODEL[method03].model_validate(
        {"jsonrpc": "2.0", "id": 1, "method": method03, "params": params}
    )
    method10 = V03_METHODS[method03]
    to_core = {
        "GetTask": (conversions.to_core_get_task_request, pb.GetTaskRequest),
        "CancelTask": (conversions.to_core_cancel_task_request, pb.CancelTaskRequest),
        "SubscribeToTask": (
            conversions.to_core_subscribe_to_task_request,
            pb.SubscribeToTaskRequest,
        ),
        "CreateTaskPushNotificationConfig": (
            conversions.to_core_create_task_push_notification_config_request,
            pb.TaskPushNotificationConfig,
        ),
        "GetTaskPushNotificationConfig": (
            conversions.to_core_get_task_push_notification_config_request,
            pb.GetTaskPushNotificationConfigRequest,
        ),
        "ListTaskPushNotificationConfigs": (
            conversions.to_core_list_task_push_notification_config_request,
            pb.ListTaskPushNotificationConfigsRequest,
        ),
        "DeleteTaskPushNotificationConfig": (
            conversions.to_core_delete_task_push_notification_config_request,
            pb.DeleteTaskPushNotificationConfigRequest,
        ),
    }
    convert, cls = to_core[method10]
    assert proto(params_to_v10(method10, dump03(model.params)), cls) == convert(model)


def test_a_push_config_without_id_takes_its_task_id_on_set_and_get() -> None:
    created = params_to_v10(
        "CreateTaskPushNotificationConfig",
        {"taskId": "t1", "pushNotificationConfig": {"url": "https://hooks.test/a2a"}},
    )
    assert created == {"taskId": "t1", "id": "t1", "url": "https://hooks.test/a2a"}
    proto(created, pb.TaskPushNotificationConfig)
    fetched = params_to_v10("GetTaskPushNotificationConfig", {"id": "t1"})
    assert fetched == {"taskId": "t1", "id": "t1"}
    proto(fetched, pb.GetTaskPushNotificationConfigRequest)


def test_the_extended_card_takes_no_params() -> None:
    assert params_to_v10("GetExtendedAgentCard", None) == {}
    assert params_to_v10("GetExtendedAgentCard", {}) == {}


@pytest.mark.parametrize(
    ("method10", "params", "error"),
    [
        ("SendMessage", None, "params: expected an object"),
        ("SendMessage", [], "params: expected an object"),
        ("SendMessage", {}, "params.message: expected an object"),
        (
            "SendMessage",
            {"message": {"role": "user", "parts": []}},
            "params.message.messageId: required",
        ),
        (
            "SendMessage",
            {"message": {"messageId": "m", "role": "system", "parts": []}},
            "params.message.role: expected 'user' or 'agent'",
        ),
        (
            "SendMessage",
            {"message": {"messageId": "m", "role": "user"}},
            "params.message.parts: expected a list",
        ),
        (
            "SendMessage",
            {"message": {"kind": "task", "messageId": "m", "role": "user", "parts": []}},
            "params.message.kind: expected 'message'",
        ),
        (
            "SendMessage",
            {"message": {"messageId": "m", "role": "user", "parts": [{"kind": "image"}]}},
            "params.message.parts[0].kind: expected 'text', 'file' or 'data'",
        ),
        (
            "SendMessage",
            {"message": {"messageId": "m", "role": "user", "parts": [{"kind": "text"}]}},
            "params.message.parts[0].text: required",
        ),
        (
            "SendMessage",
            {"message": {"messageId": "m", "role": "user", "parts": [{"text": 3}]}},
            "params.message.parts[0].text: expected a string",
        ),
        (
            "SendMessage",
            {
                "message": {
                    "messageId": "m",
                    "role": "user",
                    "parts": [{"text": "a"}, {"file": {"bytes": "aGk=", "uri": "https://x"}}],
                }
            },
            "params.message.parts[1].file: expected exactly one of 'bytes' and 'uri'",
        ),
        (
            "SendMessage",
            {
                "message": {
                    "messageId": "m",
                    "role": "user",
                    "parts": [{"file": {"bytes": "not base64!"}}],
                }
            },
            "params.message.parts[0].file.bytes: expected base64",
        ),
        (
            "SendMessage",
            {"message": {"messageId": "m", "role": "user", "parts": [{"data": [1]}]}},
            "params.message.parts[0].data: expected an object",
        ),
        (
            "SendMessage",
            {"message": {"messageId": "m", "role": "user", "parts": [], "metadata": "x"}},
            "params.message.metadata: expected an object",
        ),
        (
            "SendMessage",
            {
                "message": {"messageId": "m", "role": "user", "parts": []},
                "configuration": {"blocking": "yes"},
            },
            "params.configuration.blocking: expected a boolean",
        ),
        (
            "SendMessage",
            {
                "message": {"messageId": "m", "role": "user", "parts": []},
                "configuration": {"historyLength": "5"},
            },
            "params.configuration.historyLength: expected an integer",
        ),
        (
            "SendMessage",
            {
                "message": {"messageId": "m", "role": "user", "parts": []},
                "configuration": {"acceptedOutputModes": ["text/plain", 1]},
            },
            "params.configuration.acceptedOutputModes: expected a list of strings",
        ),
        (
            "SendMessage",
            {
                "message": {"messageId": "m", "role": "user", "parts": []},
                "configuration": {"pushNotificationConfig": {"token": "t"}},
            },
            "params.configuration.pushNotificationConfig.url: required",
        ),
        ("GetTask", {}, "params.id: required"),
        (
            "GetTask",
            {"id": "t", "historyLength": True},
            "params.historyLength: expected an integer",
        ),
        ("CancelTask", {"id": 7}, "params.id: expected a string"),
        ("SubscribeToTask", {"taskId": "t"}, "params.id: required"),
        (
            "CreateTaskPushNotificationConfig",
            {"taskId": "t"},
            "params.pushNotificationConfig: required",
        ),
        (
            "CreateTaskPushNotificationConfig",
            {
                "taskId": "t",
                "pushNotificationConfig": {"url": "https://h", "authentication": {}},
            },
            "params.pushNotificationConfig.authentication.schemes: required",
        ),
        (
            "CreateTaskPushNotificationConfig",
            {
                "taskId": "t",
                "pushNotificationConfig": {
                    "url": "https://h",
                    "authentication": {"schemes": [], "credentials": "c"},
                },
            },
            "params.pushNotificationConfig.authentication.schemes: expected the scheme of the "
            "credentials",
        ),
        (
            "DeleteTaskPushNotificationConfig",
            {"id": "t"},
            "params.pushNotificationConfigId: required",
        ),
        ("ListTaskPushNotificationConfigs", {}, "params.id: required"),
    ],
)
def test_malformed_params_are_refused_with_where_and_what(
    method10: str, params: Any, error: str
) -> None:
    with pytest.raises(InvalidV03Params) as raised:
        params_to_v10(method10, params)
    assert str(raised.value) == error
    assert isinstance(raised.value, ValueError)


def test_a_method_0_3_does_not_have_is_no_params_error() -> None:
    with pytest.raises(ValueError, match=r"ListTasks has no 0\.3 form") as raised:
        params_to_v10("ListTasks", {})
    assert not isinstance(raised.value, InvalidV03Params)


# Results


STATES = [
    ("TASK_STATE_SUBMITTED", "submitted"),
    ("TASK_STATE_WORKING", "working"),
    ("TASK_STATE_INPUT_REQUIRED", "input-required"),
    ("TASK_STATE_AUTH_REQUIRED", "auth-required"),
    ("TASK_STATE_COMPLETED", "completed"),
    ("TASK_STATE_FAILED", "failed"),
    ("TASK_STATE_CANCELED", "canceled"),
    ("TASK_STATE_REJECTED", "rejected"),
]


def _task10(state: str = "TASK_STATE_COMPLETED") -> dict[str, Any]:
    return {
        "id": "t1",
        "contextId": "c1",
        "status": {
            "state": state,
            "timestamp": "2026-12-08T01:02:03.456Z",
            "message": {
                "messageId": "s1",
                "role": "ROLE_AGENT",
                "taskId": "t1",
                "contextId": "c1",
                "parts": [{"text": "Here you are"}],
            },
        },
        "artifacts": [
            {
                "artifactId": "a1",
                "name": "answer",
                "parts": [
                    {"text": "42"},
                    {"raw": "aGk=", "filename": "hi.txt", "mediaType": "text/plain"},
                    {"data": {"n": 1}},
                ],
                "metadata": {"tokens": 3},
            }
        ],
        "history": [
            {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "question"}]},
        ],
        "metadata": {"agent": "helpdesk"},
    }


@pytest.mark.parametrize(("state10", "state03"), STATES)
def test_a_task_reads_as_the_sdk_0_3_task(state10: str, state03: str) -> None:
    core = proto(_task10(state10), pb.Task)
    out = task_from_v10(json10(core))
    assert out["kind"] == "task"
    assert out["status"]["state"] == state03
    assert dump03(v03.Task.model_validate(out)) == out
    assert out == dump03(conversions.to_compat_task(core))


@pytest.mark.parametrize("method10", ["GetTask", "CancelTask"])
def test_get_and_cancel_answer_a_task(method10: str) -> None:
    out = result_from_v10(method10, _task10())
    assert out == task_from_v10(_task10())
    v03.Task.model_validate(out)


def test_a_bare_task_keeps_its_required_fields() -> None:
    out = task_from_v10({"id": "t1", "status": {"state": "TASK_STATE_WORKING"}})
    assert out == {"kind": "task", "id": "t1", "contextId": "", "status": {"state": "working"}}
    v03.Task.model_validate(out)
    assert task_from_v10({"id": "t1"})["status"] == {"state": "unknown"}


def test_a_state_that_is_not_1_0_is_an_internal_error() -> None:
    with pytest.raises(ValueError, match="TASK_STATE_SLEEPING"):
        task_from_v10({"id": "t1", "status": {"state": "TASK_STATE_SLEEPING"}})


def test_send_message_answers_a_task_or_a_message() -> None:
    response = proto({"task": _task10()}, pb.SendMessageResponse)
    out = result_from_v10("SendMessage", json10(response))
    assert out == dump03(conversions.to_compat_send_message_response(response).root.result)
    v03.SendMessageSuccessResponse.model_validate({"id": 1, "result": out})
    message = {"messageId": "m2", "role": "ROLE_AGENT", "parts": [{"text": "hi"}]}
    out = result_from_v10("SendMessage", {"message": message})
    assert out == {
        "kind": "message",
        "messageId": "m2",
        "role": "agent",
        "parts": [{"kind": "text", "text": "hi"}],
    }
    assert isinstance(
        v03.SendMessageSuccessResponse.model_validate({"id": 1, "result": out}).result, v03.Message
    )


PUSH10 = {
    "taskId": "t1",
    "id": "p1",
    "url": "https://hooks.test/a2a",
    "token": "tok",
    "authentication": {"scheme": "Bearer", "credentials": "secret"},
}


@pytest.mark.parametrize(
    "method10", ["CreateTaskPushNotificationConfig", "GetTaskPushNotificationConfig"]
)
def test_a_push_config_reads_as_the_sdk_0_3_config(method10: str) -> None:
    core = proto(PUSH10, pb.TaskPushNotificationConfig)
    out = result_from_v10(method10, json10(core))
    assert out == {
        "taskId": "t1",
        "pushNotificationConfig": {
            "id": "p1",
            "url": "https://hooks.test/a2a",
            "token": "tok",
            "authentication": {"schemes": ["Bearer"], "credentials": "secret"},
        },
    }
    assert out == dump03(conversions.to_compat_task_push_notification_config(core))
    back = params_to_v10("CreateTaskPushNotificationConfig", out)
    assert proto(back, pb.TaskPushNotificationConfig) == core


def test_list_answers_a_list_and_delete_null() -> None:
    response = proto(
        {"configs": [PUSH10, {"taskId": "t1", "id": "p2", "url": "https://h.test"}]},
        pb.ListTaskPushNotificationConfigsResponse,
    )
    out = result_from_v10("ListTaskPushNotificationConfigs", json10(response))
    expected = conversions.to_compat_list_task_push_notification_config_response(response)
    assert out == dump03(expected.root)["result"]
    assert [c["pushNotificationConfig"]["id"] for c in out] == ["p1", "p2"]
    assert result_from_v10("ListTaskPushNotificationConfigs", {}) == []
    assert result_from_v10("DeleteTaskPushNotificationConfig", {}) is None
    assert result_from_v10("DeleteTaskPushNotificationConfig", None) is None


def test_a_stream_has_no_single_result() -> None:
    with pytest.raises(ValueError, match="event_from_v10"):
        result_from_v10("SendStreamingMessage", {})


# Stream events


@pytest.mark.parametrize(("state10", "state03"), STATES)
def test_a_status_update_is_final_when_the_stream_ends(state10: str, state03: str) -> None:
    update = {
        "statusUpdate": {
            "taskId": "t1",
            "contextId": "c1",
            "status": {"state": state10, "timestamp": "2026-12-08T01:02:03Z"},
            "metadata": {"seq": 3},
        }
    }
    core = proto(update, pb.StreamResponse)
    out = event_from_v10(json10(core))
    assert out == {
        "kind": "status-update",
        "taskId": "t1",
        "contextId": "c1",
        "status": {"state": state03, "timestamp": "2026-12-08T01:02:03Z"},
        "final": state03 not in ("submitted", "working"),
        "metadata": {"seq": 3},
    }
    assert dump03(v03.TaskStatusUpdateEvent.model_validate(out)) == out
    sdk = dump03(conversions.to_compat_stream_response(core).result)
    assert {**sdk, "final": out["final"]} == out


@pytest.mark.parametrize(("append", "last_chunk"), [(False, False), (True, False), (True, True)])
def test_an_artifact_update_reads_as_the_sdk_0_3_event(append: bool, last_chunk: bool) -> None:
    update = {
        "artifactUpdate": {
            "taskId": "t1",
            "contextId": "c1",
            "artifact": {"artifactId": "a1", "parts": [{"text": "chunk"}]},
            "append": append,
            "lastChunk": last_chunk,
        }
    }
    core = proto(update, pb.StreamResponse)
    out = event_from_v10(json10(core))
    assert out["kind"] == "artifact-update"
    assert (out["append"], out["lastChunk"]) == (append, last_chunk)
    assert dump03(v03.TaskArtifactUpdateEvent.model_validate(out)) == out
    assert out == dump03(conversions.to_compat_stream_response(core).result)


def test_task_and_message_events_read_as_0_3_task_and_message() -> None:
    for event in ({"task": _task10("TASK_STATE_WORKING")}, {"message": _task10()["history"][0]}):
        core = proto(event, pb.StreamResponse)
        out = event_from_v10(json10(core))
        assert out == dump03(conversions.to_compat_stream_response(core).result)
        response = v03.SendStreamingMessageSuccessResponse.model_validate({"id": 1, "result": out})
        assert response.result.kind == out["kind"]


def test_an_empty_stream_response_is_an_internal_error() -> None:
    with pytest.raises(ValueError, match="StreamResponse without"):
        event_from_v10({})
