"""A2A 0.3 JSON-RPC spoken by the 1.0 endpoint: pure translation, no I/O.

Bastion's A2A endpoint works in 1.0 ProtoJSON (``_execution``). A 0.3 client names its
methods ``message/send``, ``tasks/get``…, tags every object with ``kind``, writes roles
``user``/``agent`` and states ``input-required``, and nests a file part's content in
``file: {name, mimeType, bytes | uri}``. The endpoint maps a 0.3 method with
``V03_METHODS``, its params with ``params_to_v10``, and its answer with
``result_from_v10`` (or, per SSE event, ``event_from_v10``); the same handlers serve both
versions.

The shapes follow the a2a-sdk's own bridge (``a2a.compat.v0_3.conversions``), so a
client built on either side of it reads what it expects:

- a 0.3 ``historyLength`` of 0 or less means "no limit" there, so it is left unset;
- ``blocking`` becomes ``returnImmediately: not blocking`` (both default to waiting);
- a push config without an id gets its task's id (the sdk's stores do the same), so a
  0.3 ``tasks/pushNotificationConfig/get`` with the task id alone finds it;
- 0.3 authentication lists ``schemes``, 1.0 carries one ``scheme``: the first is kept;
- a 1.0 data part whose value is not an object travels as ``{"value": ...}`` with
  ``metadata.data_part_compat: true``, and comes back unwrapped;
- a status update is ``final`` when its state ends the stream: terminal or interrupted
  (``input-required``, ``auth-required``), since Bastion closes the stream there.

Malformed 0.3 params raise ``InvalidV03Params`` (a ``ValueError``; the endpoint answers
-32602 with its message). A 1.0 value that 0.3 cannot express raises a plain
``ValueError``: that is Bastion's own output, so it is an internal error.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from bastion.domains.agents._compat_v03_card import card_from_v10

V03_METHODS: Mapping[str, str] = MappingProxyType(
    {
        "message/send": "SendMessage",
        "message/stream": "SendStreamingMessage",
        "tasks/get": "GetTask",
        "tasks/cancel": "CancelTask",
        "tasks/resubscribe": "SubscribeToTask",
        "tasks/pushNotificationConfig/set": "CreateTaskPushNotificationConfig",
        "tasks/pushNotificationConfig/get": "GetTaskPushNotificationConfig",
        "tasks/pushNotificationConfig/list": "ListTaskPushNotificationConfigs",
        "tasks/pushNotificationConfig/delete": "DeleteTaskPushNotificationConfig",
        "agent/getAuthenticatedExtendedCard": "GetExtendedAgentCard",
    }
)

# The error codes 0.3 defines; a 1.0 code outside them (-32008 ExtensionSupportRequired,
# -32009 VersionNotSupported) reaches a 0.3 client as -32603, as in the sdk.
_V03_ERROR_CODES = frozenset({-32700, -32600, -32601, -32602, -32603, *range(-32007, -32000)})

_STATE_FROM_V10: Mapping[str, str] = {
    "TASK_STATE_UNSPECIFIED": "unknown",
    "TASK_STATE_SUBMITTED": "submitted",
    "TASK_STATE_WORKING": "working",
    "TASK_STATE_INPUT_REQUIRED": "input-required",
    "TASK_STATE_AUTH_REQUIRED": "auth-required",
    "TASK_STATE_COMPLETED": "completed",
    "TASK_STATE_FAILED": "failed",
    "TASK_STATE_CANCELED": "canceled",
    "TASK_STATE_REJECTED": "rejected",
}
_FINAL_STATES = frozenset(
    {"completed", "failed", "canceled", "rejected", "input-required", "auth-required"}
)
_ROLE_TO_V10: Mapping[str, str] = {"user": "ROLE_USER", "agent": "ROLE_AGENT"}
_DATA_COMPAT = "data_part_compat"


class InvalidV03Params(ValueError):
    """0.3 params that do not have the shape of their method (JSON-RPC -32602)."""


def error_code_v03(code: int) -> int:
    """The JSON-RPC error code a 0.3 client is sent for a 1.0 ``code``."""
    return code if code in _V03_ERROR_CODES else -32603


# 0.3 -> 1.0: reading a client's params, every field checked.


def _fail(where: str, expected: str) -> InvalidV03Params:
    return InvalidV03Params(f"{where}: expected {expected}")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "an object")
    return value


def _string(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise _fail(f"{where}.{key}", "a string")
    return value


def _required_string(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _string(obj, key, where)
    if value is None:
        raise InvalidV03Params(f"{where}.{key}: required")
    return value


def _strings(obj: Mapping[str, Any], key: str, where: str) -> list[str] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(f"{where}.{key}", "a list of strings")
    return list(value)


def _metadata(obj: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    value = obj.get("metadata")
    return None if value is None else dict(_object(value, f"{where}.metadata"))


def _put(out: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def _canonical_base64(text: str) -> str:
    """Standard base64 with padding, from the standard or the URL-safe alphabet."""
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4)
    altchars = b"-_" if ("-" in compact or "_" in compact) else None
    data = base64.b64decode(compact, altchars=altchars, validate=True)
    return base64.b64encode(data).decode("ascii")


def _kind(obj: Mapping[str, Any], expected: str, where: str) -> None:
    kind = obj.get("kind", expected)
    if kind != expected:
        raise _fail(f"{where}.kind", repr(expected))


def part_to_v10(part03: object, where: str = "part") -> dict[str, Any]:
    """A 0.3 ``TextPart``/``FilePart``/``DataPart`` as a 1.0 ``Part``. ``kind`` may be
    omitted (the sdk's models infer it from the content)."""
    part = _object(part03, where)
    kind = part.get("kind")
    if kind is None:
        kind = next((k for k in ("text", "file", "data") if k in part), None)
    metadata = _metadata(part, where)
    out: dict[str, Any]
    if kind == "text":
        out = {"text": _required_string(part, "text", where)}
    elif kind == "file":
        out = _file_to_v10(_object(part.get("file"), f"{where}.file"), f"{where}.file")
    elif kind == "data":
        data = dict(_object(part.get("data"), f"{where}.data"))
        if metadata is not None and metadata.pop(_DATA_COMPAT, False):
            if "value" not in data:
                raise InvalidV03Params(f"{where}.data.value: required with {_DATA_COMPAT}")
            out = {"data": data["value"]}
            metadata = metadata or None
        else:
            out = {"data": data}
    else:
        raise _fail(f"{where}.kind", "'text', 'file' or 'data'")
    _put(out, "metadata", metadata)
    return out


def _file_to_v10(file: Mapping[str, Any], where: str) -> dict[str, Any]:
    content = _string(file, "bytes", where)
    uri = _string(file, "uri", where)
    if (content is None) == (uri is None):
        raise _fail(where, "exactly one of 'bytes' and 'uri'")
    out: dict[str, Any]
    if content is not None:
        try:
            out = {"raw": _canonical_base64(content)}
        except (binascii.Error, ValueError):
            raise _fail(f"{where}.bytes", "base64") from None
    else:
        out = {"url": uri}
    _put(out, "filename", _string(file, "name", where))
    _put(out, "mediaType", _string(file, "mimeType", where))
    return out


def message_to_v10(message03: object, where: str = "message") -> dict[str, Any]:
    """A 0.3 ``Message`` as a 1.0 ``Message``."""
    message = _object(message03, where)
    _kind(message, "message", where)
    role = message.get("role")
    if not isinstance(role, str) or role not in _ROLE_TO_V10:
        raise _fail(f"{where}.role", "'user' or 'agent'")
    parts = message.get("parts")
    if not isinstance(parts, list):
        raise _fail(f"{where}.parts", "a list")
    out: dict[str, Any] = {
        "messageId": _required_string(message, "messageId", where),
        "role": _ROLE_TO_V10[role],
        "parts": [part_to_v10(p, f"{where}.parts[{i}]") for i, p in enumerate(parts)],
    }
    _put(out, "contextId", _string(message, "contextId", where))
    _put(out, "taskId", _string(message, "taskId", where))
    _put(out, "metadata", _metadata(message, where))
    _put(out, "extensions", _strings(message, "extensions", where))
    _put(out, "referenceTaskIds", _strings(message, "referenceTaskIds", where))
    return out


def _history_length(obj: Mapping[str, Any], where: str) -> int | None:
    value = obj.get("historyLength")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{where}.historyLength", "an integer")
    return value if value > 0 else None


def _push_config_to_v10(config03: object, where: str) -> dict[str, Any]:
    """A 0.3 ``PushNotificationConfig`` as the fields of a 1.0
    ``TaskPushNotificationConfig`` (without ``taskId``)."""
    config = _object(config03, where)
    out: dict[str, Any] = {"url": _required_string(config, "url", where)}
    _put(out, "id", _string(config, "id", where))
    _put(out, "token", _string(config, "token", where))
    if config.get("authentication") is not None:
        auth_where = f"{where}.authentication"
        auth = _object(config["authentication"], auth_where)
        schemes = _strings(auth, "schemes", auth_where)
        if schemes is None:
            raise InvalidV03Params(f"{auth_where}.schemes: required")
        credentials = _string(auth, "credentials", auth_where)
        if schemes:
            out["authentication"] = {"scheme": schemes[0]}
            _put(out["authentication"], "credentials", credentials)
        elif credentials is not None:
            raise _fail(f"{auth_where}.schemes", "the scheme of the credentials")
    return out


def _send_message(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message_to_v10(params.get("message"), "params.message")}
    if params.get("configuration") is not None:
        where = "params.configuration"
        config = _object(params["configuration"], where)
        config10: dict[str, Any] = {}
        _put(config10, "acceptedOutputModes", _strings(config, "acceptedOutputModes", where))
        _put(config10, "historyLength", _history_length(config, where))
        blocking = config.get("blocking")
        if blocking is not None:
            if not isinstance(blocking, bool):
                raise _fail(f"{where}.blocking", "a boolean")
            config10["returnImmediately"] = not blocking
        if config.get("pushNotificationConfig") is not None:
            config10["taskPushNotificationConfig"] = _push_config_to_v10(
                config["pushNotificationConfig"], f"{where}.pushNotificationConfig"
            )
        out["configuration"] = config10
    _put(out, "metadata", _metadata(params, "params"))
    return out


def _get_task(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": _required_string(params, "id", "params")}
    _put(out, "historyLength", _history_length(params, "params"))
    return out


def _cancel_task(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": _required_string(params, "id", "params")}
    _put(out, "metadata", _metadata(params, "params"))
    return out


def _subscribe(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": _required_string(params, "id", "params")}


def _create_push_config(params: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _required_string(params, "taskId", "params")
    where = "params.pushNotificationConfig"
    if params.get("pushNotificationConfig") is None:
        raise InvalidV03Params(f"{where}: required")
    config = _push_config_to_v10(params["pushNotificationConfig"], where)
    return {"taskId": task_id, "id": task_id, **config}


def _get_push_config(params: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _required_string(params, "id", "params")
    config_id = _string(params, "pushNotificationConfigId", "params")
    return {"taskId": task_id, "id": config_id or task_id}


def _list_push_configs(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"taskId": _required_string(params, "id", "params")}


def _delete_push_config(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "taskId": _required_string(params, "id", "params"),
        "id": _required_string(params, "pushNotificationConfigId", "params"),
    }


def _extended_card(params: Mapping[str, Any]) -> dict[str, Any]:
    return {}


_PARAMS: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "SendMessage": _send_message,
    "SendStreamingMessage": _send_message,
    "GetTask": _get_task,
    "CancelTask": _cancel_task,
    "SubscribeToTask": _subscribe,
    "CreateTaskPushNotificationConfig": _create_push_config,
    "GetTaskPushNotificationConfig": _get_push_config,
    "ListTaskPushNotificationConfigs": _list_push_configs,
    "DeleteTaskPushNotificationConfig": _delete_push_config,
    "GetExtendedAgentCard": _extended_card,
}


def params_to_v10(method10: str, params03: object) -> dict[str, Any]:
    """The 1.0 request of ``method10`` (a value of ``V03_METHODS``) for the params a
    0.3 client sent with it."""
    translate = _PARAMS.get(method10)
    if translate is None:
        raise ValueError(f"{method10} has no 0.3 form")
    if params03 is None and method10 == "GetExtendedAgentCard":
        params03 = {}
    return translate(_object(params03, "params"))


# 1.0 -> 0.3: writing Bastion's own values for a 0.3 client.


def _b64_from_v10(raw: object) -> str:
    try:
        return _canonical_base64(str(raw))
    except (binascii.Error, ValueError):
        raise ValueError("a 1.0 part's raw bytes are not base64") from None


def part_from_v10(part10: Mapping[str, Any]) -> dict[str, Any]:
    """A 1.0 ``Part`` as a 0.3 ``TextPart``/``DataPart``/``FilePart``."""
    metadata = dict(part10["metadata"]) if part10.get("metadata") is not None else None
    out: dict[str, Any]
    if "text" in part10:
        out = {"kind": "text", "text": part10["text"]}
    elif "data" in part10:
        data = part10["data"]
        if isinstance(data, Mapping):
            out = {"kind": "data", "data": dict(data)}
        else:
            out = {"kind": "data", "data": {"value": data}}
            metadata = {**(metadata or {}), _DATA_COMPAT: True}
    elif "raw" in part10 or "url" in part10:
        file: dict[str, Any] = (
            {"bytes": _b64_from_v10(part10["raw"])} if "raw" in part10 else {"uri": part10["url"]}
        )
        _put(file, "name", part10.get("filename") or None)
        _put(file, "mimeType", part10.get("mediaType") or None)
        out = {"kind": "file", "file": file}
    else:
        raise ValueError("a 1.0 part without text, data, raw or url")
    _put(out, "metadata", metadata)
    return out


def _parts_from_v10(parts: object) -> list[dict[str, Any]]:
    return [part_from_v10(p) for p in _sequence(parts)]


def _sequence(value: object) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError("a 1.0 repeated field that is not a list")
    return value


def message_from_v10(message10: Mapping[str, Any]) -> dict[str, Any]:
    """A 1.0 ``Message`` as a 0.3 ``Message`` (any role but ``ROLE_USER`` is the agent's)."""
    out: dict[str, Any] = {
        "kind": "message",
        "messageId": message10.get("messageId", ""),
        "role": "user" if message10.get("role") == "ROLE_USER" else "agent",
        "parts": _parts_from_v10(message10.get("parts")),
    }
    _put(out, "contextId", message10.get("contextId") or None)
    _put(out, "taskId", message10.get("taskId") or None)
    _put(out, "metadata", message10.get("metadata") or None)
    _put(out, "extensions", list(_sequence(message10.get("extensions"))) or None)
    _put(out, "referenceTaskIds", list(_sequence(message10.get("referenceTaskIds"))) or None)
    return out


def state_from_v10(state10: object) -> str:
    """A 1.0 ``TaskState`` name as its 0.3 value; an unset state is ``unknown``."""
    if state10 is None:
        return "unknown"
    state = _STATE_FROM_V10.get(str(state10))
    if state is None:
        raise ValueError(f"not a 1.0 task state: {state10!r}")
    return state


def _status_from_v10(status10: Mapping[str, Any] | None) -> dict[str, Any]:
    status10 = status10 or {}
    out: dict[str, Any] = {"state": state_from_v10(status10.get("state"))}
    if status10.get("message") is not None:
        out["message"] = message_from_v10(status10["message"])
    _put(out, "timestamp", status10.get("timestamp") or None)
    return out


def artifact_from_v10(artifact10: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "artifactId": artifact10.get("artifactId", ""),
        "parts": _parts_from_v10(artifact10.get("parts")),
    }
    _put(out, "name", artifact10.get("name") or None)
    _put(out, "description", artifact10.get("description") or None)
    _put(out, "metadata", artifact10.get("metadata"))
    _put(out, "extensions", list(_sequence(artifact10.get("extensions"))) or None)
    return out


def task_from_v10(task10: Mapping[str, Any]) -> dict[str, Any]:
    """A 1.0 ``Task`` as a 0.3 ``Task``."""
    out: dict[str, Any] = {
        "kind": "task",
        "id": task10.get("id", ""),
        "contextId": task10.get("contextId", ""),
        "status": _status_from_v10(task10.get("status")),
    }
    artifacts = [artifact_from_v10(a) for a in _sequence(task10.get("artifacts"))]
    history = [message_from_v10(m) for m in _sequence(task10.get("history"))]
    _put(out, "artifacts", artifacts or None)
    _put(out, "history", history or None)
    _put(out, "metadata", task10.get("metadata"))
    return out


def push_config_from_v10(config10: Mapping[str, Any]) -> dict[str, Any]:
    """A 1.0 ``TaskPushNotificationConfig`` as a 0.3 one (the config nested)."""
    config: dict[str, Any] = {"url": config10.get("url", "")}
    _put(config, "id", config10.get("id") or None)
    _put(config, "token", config10.get("token") or None)
    auth10 = config10.get("authentication")
    if auth10 is not None:
        auth: dict[str, Any] = {"schemes": [auth10["scheme"]] if auth10.get("scheme") else []}
        _put(auth, "credentials", auth10.get("credentials") or None)
        config["authentication"] = auth
    return {"taskId": config10.get("taskId", ""), "pushNotificationConfig": config}


def _send_message_result(result10: Mapping[str, Any]) -> dict[str, Any]:
    if "task" in result10:
        return task_from_v10(result10["task"])
    if "message" in result10:
        return message_from_v10(result10["message"])
    raise ValueError("a SendMessageResponse without task or message")


def _list_result(result10: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [push_config_from_v10(c) for c in _sequence(result10.get("configs"))]


def _nothing(result10: Mapping[str, Any]) -> None:
    return None


_RESULTS: Mapping[str, Callable[[Mapping[str, Any]], Any]] = {
    "SendMessage": _send_message_result,
    "GetTask": task_from_v10,
    "CancelTask": task_from_v10,
    "CreateTaskPushNotificationConfig": push_config_from_v10,
    "GetTaskPushNotificationConfig": push_config_from_v10,
    "ListTaskPushNotificationConfigs": _list_result,
    "DeleteTaskPushNotificationConfig": _nothing,
    "GetExtendedAgentCard": card_from_v10,
}


def result_from_v10(method10: str, result10: Any) -> Any:
    """The 0.3 result of ``method10`` for its 1.0 result (ProtoJSON). A list of push
    configs is one page of the 1.0 answer: 0.3 has no ``nextPageToken``, so the
    endpoint should answer a 0.3 list in one page. The extended card is translated
    by ``card_from_v10``."""
    translate = _RESULTS.get(method10)
    if translate is None:
        raise ValueError(f"{method10} has no 0.3 result (a stream uses event_from_v10)")
    return translate(result10 if result10 is not None else {})


def event_from_v10(event10: Mapping[str, Any]) -> dict[str, Any]:
    """One 1.0 ``StreamResponse`` as the 0.3 event of an SSE ``result``."""
    if "task" in event10:
        return task_from_v10(event10["task"])
    if "message" in event10:
        return message_from_v10(event10["message"])
    if "statusUpdate" in event10:
        update = event10["statusUpdate"]
        status = _status_from_v10(update.get("status"))
        out: dict[str, Any] = {
            "kind": "status-update",
            "taskId": update.get("taskId", ""),
            "contextId": update.get("contextId", ""),
            "status": status,
            "final": status["state"] in _FINAL_STATES,
        }
    elif "artifactUpdate" in event10:
        update = event10["artifactUpdate"]
        out = {
            "kind": "artifact-update",
            "taskId": update.get("taskId", ""),
            "contextId": update.get("contextId", ""),
            "artifact": artifact_from_v10(update.get("artifact") or {}),
            "append": bool(update.get("append", False)),
            "lastChunk": bool(update.get("lastChunk", False)),
        }
    else:
        raise ValueError("a StreamResponse without task, message, statusUpdate or artifactUpdate")
    _put(out, "metadata", update.get("metadata"))
    return out
