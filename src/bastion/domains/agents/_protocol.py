"""The A2A JSON-RPC binding at ``POST /api/v1/agents/{name}/a2a``.

One endpoint per agent, the URL its card advertises. The request's ``A2A-Version``
header picks the protocol version: ``1.0`` (the methods ``SendMessage``,
``SendStreamingMessage``, ``GetTask``, ``ListTasks``, ``CancelTask``,
``SubscribeToTask``, the four ``…TaskPushNotificationConfig`` methods and
``GetExtendedAgentCard``) or ``0.3`` (``message/send``, ``message/stream``,
``tasks/get``, ``tasks/cancel``, ``tasks/resubscribe``, ``tasks/pushNotificationConfig/*``,
``agent/getAuthenticatedExtendedCard``, translated by ``_compat_v03``). Without the
header, the method's name says which version the client speaks.

Every error is a JSON-RPC error object (``errors``) with HTTP 200, and every refused
call an ``audit_events`` row (``agents.a2a_refused``): the method, the code and the
reason, never the params.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bastion.domains.agents import _compat_v03 as v03
from bastion.domains.agents._catalog import AgentCatalog, AgentEntry
from bastion.domains.agents._execution import TaskState
from bastion.domains.agents._push_store import PushConfigStore
from bastion.domains.agents._routes import visible
from bastion.domains.agents._runtime import SendOptions, TaskRuntime, task_view
from bastion.domains.agents._store import TaskRecord
from bastion.domains.agents.errors import (
    A2AError,
    AgentUnavailable,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    PushNotificationNotSupported,
    TaskNotFound,
    UnsupportedOperation,
    VersionNotSupported,
)
from bastion.infra.audit import AuditTrail, audit_event_row
from bastion.kernel.context import RequestContext, request_context
from bastion.kernel.contract import RefusedRequest
from bastion.kernel.errors import InvalidInputError
from bastion.kernel.governance import Governance

log = structlog.get_logger("bastion.agents")

VERSION_HEADER = "a2a-version"
V1_0 = "1.0"
V0_3 = "0.3"

METHODS_V10 = frozenset(
    {
        "SendMessage",
        "SendStreamingMessage",
        "GetTask",
        "ListTasks",
        "CancelTask",
        "SubscribeToTask",
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
        "GetExtendedAgentCard",
    }
)
STREAMING_METHODS = frozenset({"SendStreamingMessage", "SubscribeToTask"})

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """One JSON-RPC request, resolved: the 1.0 method, its 1.0 params, the version the
    answer speaks."""

    id: str | int | None
    method: str
    params: Params
    version: str


def _version(request: Request) -> str | None:
    given = request.headers.get(VERSION_HEADER)
    if given is None or not given.strip():
        return None
    major_minor = ".".join(given.strip().split(".")[:2])
    if major_minor not in (V1_0, V0_3):
        raise VersionNotSupported(
            f"A2A-Version {given[:16]!r} is not supported: this server speaks 1.0 and 0.3"
        )
    return major_minor


def parse_call(body: bytes, version: str | None) -> Call:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ParseError("the body is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidRequest("a JSON-RPC 2.0 request object is required (batches are not served)")
    request_id = doc.get("id")
    if doc.get("jsonrpc") != "2.0":
        raise InvalidRequest('"jsonrpc": "2.0" is required')
    if request_id is not None and (
        isinstance(request_id, bool) or not isinstance(request_id, str | int)
    ):
        raise InvalidRequest("id: a string, a number or null")
    method = doc.get("method")
    if not isinstance(method, str):
        raise InvalidRequest("method: a string is required")
    params = doc.get("params", {})
    if not isinstance(params, dict):
        raise InvalidParams("params: an object is required")
    if method in METHODS_V10 and version in (None, V1_0):
        return Call(request_id, method, params, V1_0)
    translated = v03.V03_METHODS.get(method)
    if translated is not None and version in (None, V0_3):
        try:
            return Call(request_id, translated, v03.params_to_v10(translated, params), V0_3)
        except v03.InvalidV03Params as exc:
            raise InvalidParams(str(exc)) from None
    if method in METHODS_V10 or translated is not None:
        raise MethodNotFound(f"method '{method[:64]}' is not an A2A {version} method")
    raise MethodNotFound(f"method '{method[:64]}' not found")


def _request_id(body: bytes) -> str | int | None:
    """The id of a request that failed before it was resolved, when it has one."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    request_id = doc.get("id") if isinstance(doc, dict) else None
    return (
        request_id
        if isinstance(request_id, str | int) and not isinstance(request_id, bool)
        else None
    )


def _int(params: Params, name: str, *, minimum: int = 0) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParams(f"params.{name}: an integer of at least {minimum}")
    return value


def _str(params: Params, name: str) -> str | None:
    if params.get(name) is None:
        return None
    return _required(params, name)


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidParams(f"params.{name}: a non-empty string is required")
    return value


def _send_options(params: Params) -> SendOptions:
    configuration = params.get("configuration") or {}
    if not isinstance(configuration, dict):
        raise InvalidParams("params.configuration: an object is required")
    modes = configuration.get("acceptedOutputModes") or ()
    if not isinstance(modes, list | tuple) or not all(isinstance(m, str) for m in modes):
        raise InvalidParams("params.configuration.acceptedOutputModes: a list of media types")
    immediately = configuration.get("returnImmediately", False)
    if not isinstance(immediately, bool):
        raise InvalidParams("params.configuration.returnImmediately: a boolean")
    return SendOptions(
        return_immediately=immediately,
        history_length=_int(configuration, "historyLength"),
        accepted_output_modes=tuple(modes),
    )


def _timestamp(params: Params, name: str) -> datetime | None:
    value = _str(params, name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParams(f"params.{name}: an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise InvalidParams(f"params.{name}: a timestamp with its offset (Z for UTC)")
    return parsed


def _state(params: Params) -> TaskState | None:
    value = params.get("status")
    if value is None or value == "TASK_STATE_UNSPECIFIED":
        return None
    try:
        return TaskState(value)
    except ValueError:
        raise InvalidParams("params.status: a TASK_STATE_* name") from None


def _success(call: Call, result: object) -> bytes:
    if call.version == V0_3:
        result = v03.result_from_v10(call.method, result)
    return orjson.dumps({"jsonrpc": "2.0", "id": call.id, "result": result})


def _failure(request_id: str | int | None, error: A2AError, version: str | None) -> bytes:
    code = v03.error_code_v03(error.code) if version == V0_3 else error.code
    failure = {"code": code, "message": error.message}
    return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "error": failure})


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


class A2AEndpoint:
    """The JSON-RPC handler of every agent's ``/a2a`` path."""

    def __init__(
        self,
        catalog: AgentCatalog,
        governance: Governance,
        runtime: TaskRuntime,
        push: PushConfigStore | None,
        trail: AuditTrail,
    ) -> None:
        self._catalog = catalog
        self._governance = governance
        self._runtime = runtime
        self._push = push
        self._trail = trail
        self._methods: Mapping[str, Callable[[RequestContext, AgentEntry, Call], Any]] = {
            "SendMessage": self._send_message,
            "GetTask": self._get_task,
            "ListTasks": self._list_tasks,
            "CancelTask": self._cancel_task,
            "CreateTaskPushNotificationConfig": self._create_push,
            "GetTaskPushNotificationConfig": self._get_push,
            "ListTaskPushNotificationConfigs": self._list_push,
            "DeleteTaskPushNotificationConfig": self._delete_push,
            "GetExtendedAgentCard": self._extended_card,
        }

    def routes(self) -> list[Route]:
        return [Route("/{name}/a2a", self.handle, methods=["POST"])]

    async def handle(self, request: Request) -> Response:
        ctx = request_context(request)
        body = await request.body()
        name = request.path_params["name"]
        call: Call | None = None
        try:
            call = parse_call(body, _version(request))
            entry = await self._agent(ctx, name)
            if call.method in STREAMING_METHODS:
                events = await self._stream(ctx, entry, call)
                return StreamingResponse(
                    self._sse(call, events), media_type="text/event-stream", headers=_SSE_HEADERS
                )
            result = await self._methods[call.method](ctx, entry, call)
            return _json(_success(call, result))
        except A2AError as error:
            request_id = call.id if call is not None else _request_id(body)
            await self._refused(ctx, name, call.method if call else None, error)
            return _json(_failure(request_id, error, call.version if call else None))
        except Exception as exc:
            # Never a 500 with a traceback: the caller gets a JSON-RPC internal error,
            # the log the exception's type (its text may hold what the caller sent).
            log.error("agents.a2a_failed", agent=name[:64], error_type=type(exc).__name__)
            request_id = call.id if call is not None else _request_id(body)
            internal = A2AError("internal error")
            await self._refused(ctx, name, call.method if call else None, internal)
            return _json(_failure(request_id, internal, None))

    async def refused_by_core(self, refused: RefusedRequest) -> None:
        """The router's ``on_refused``: a call the core's guard answered (401, 403, 413,
        429) is audited like the endpoint's own refusals; the registry's are not A2A."""
        if not refused.path.endswith("/a2a"):
            return
        name = refused.path.rstrip("/").split("/")[-2]
        await self._refused(
            refused.principal, name, None, A2AError(refused.reason), status=refused.status
        )

    async def _agent(self, ctx: RequestContext, name: str) -> AgentEntry:
        entry = self._catalog.get(name)
        if entry is None or not await visible(ctx, entry, self._governance):
            raise AgentUnavailable(f"agent '{name[:64]}' not found")
        return entry

    async def _refused(
        self,
        ctx: RequestContext,
        agent: str,
        method: str | None,
        error: A2AError,
        *,
        status: int | None = None,
    ) -> None:
        """The audit row: the JSON-RPC code of the endpoint's own refusal, or the HTTP
        ``status`` the core answered with (401, 403, 413, 429)."""
        refusal = {"code": error.code} if status is None else {"status": status}
        details = {"method": method, **refusal, "reason": error.message[:500]}
        try:
            await self._trail.record_event(
                audit_event_row(
                    ctx,
                    event_type="agents.a2a_refused",
                    action="agents.a2a",
                    details=details,
                    subject=agent[:64],
                )
            )
        except Exception as exc:
            log.warning("agents.refusal_not_recorded", error_type=type(exc).__name__)

    # -- streams ---------------------------------------------------------------------

    async def _stream(
        self, ctx: RequestContext, entry: AgentEntry, call: Call
    ) -> AsyncIterator[dict[str, Any]]:
        if not entry.settings.streaming:
            raise UnsupportedOperation(
                f"agent '{entry.name}' does not stream (its card says capabilities.streaming "
                "is false): use SendMessage"
            )
        if call.method == "SubscribeToTask":
            return await self._runtime.subscribe(ctx, _required(call.params, "id"))
        options = _send_options(call.params)
        record, execution = await self._runtime.send(
            ctx,
            entry,
            call.params.get("message"),
            options,
            on_accept=self._push_with_message(entry, call.params),
        )
        return self._runtime.follow(record, execution)

    async def _sse(self, call: Call, events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
        try:
            async for event in events:
                result: object = event
                if call.version == V0_3:
                    result = v03.event_from_v10(event)
                frame = orjson.dumps({"jsonrpc": "2.0", "id": call.id, "result": result})
                yield b"data: " + frame + b"\n\n"
        except Exception as exc:
            # The stream has begun (HTTP 200 is sent): the error is its last event.
            log.error("agents.a2a_stream_failed", method=call.method, error_type=type(exc).__name__)
            failure = _failure(call.id, A2AError("internal error"), call.version)
            yield b"event: error\ndata: " + failure + b"\n\n"

    # -- methods ---------------------------------------------------------------------

    async def _send_message(
        self, ctx: RequestContext, entry: AgentEntry, call: Call
    ) -> dict[str, Any]:
        options = _send_options(call.params)
        record, execution = await self._runtime.send(
            ctx,
            entry,
            call.params.get("message"),
            options,
            on_accept=self._push_with_message(entry, call.params),
        )
        if execution is not None and not options.return_immediately:
            await self._runtime.wait(execution)
        return {"task": task_view(record.document, history_length=options.history_length)}

    async def _task(self, ctx: RequestContext, entry: AgentEntry, task_id: str) -> TaskRecord:
        """The caller's task of this agent (another agent's is as not found)."""
        record = await self._runtime.visible_task(ctx, task_id)
        if record.agent != entry.name:
            raise TaskNotFound(f"task '{task_id}' not found")
        return record

    async def _get_task(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        record = await self._task(ctx, entry, _required(call.params, "id"))
        return task_view(record.document, history_length=_int(call.params, "historyLength"))

    async def _list_tasks(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        params = call.params
        include = params.get("includeArtifacts", False)
        if not isinstance(include, bool):
            raise InvalidParams("params.includeArtifacts: a boolean")
        history_length = _int(params, "historyLength")
        page = await self._runtime.list_tasks(
            ctx,
            entry.name,
            context_id=_str(params, "contextId"),
            state=_state(params),
            updated_after=_timestamp(params, "statusTimestampAfter"),
            page_size=_int(params, "pageSize", minimum=1),
            page_token=_str(params, "pageToken"),
        )
        return {
            "tasks": [
                task_view(t.document, history_length=history_length, include_artifacts=include)
                for t in page.tasks
            ],
            "nextPageToken": page.next_page_token,
            "pageSize": len(page.tasks),
            "totalSize": page.total_size,
        }

    async def _cancel_task(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        record = await self._task(ctx, entry, _required(call.params, "id"))
        return await self._runtime.cancel_record(record)

    async def _extended_card(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        return entry.card.as_json()

    # -- push notification configs ---------------------------------------------------

    def _pushes(self, entry: AgentEntry) -> PushConfigStore:
        if self._push is None or not entry.settings.push_notifications:
            raise PushNotificationNotSupported(
                f"agent '{entry.name}' does not send push notifications"
            )
        return self._push

    def _push_with_message(
        self, entry: AgentEntry, params: Params
    ) -> Callable[[str], Awaitable[None]] | None:
        """The push config a ``SendMessage`` carries, registered before its task starts
        (else its first notifications could go before the config exists)."""
        configuration = params.get("configuration") or {}
        config = configuration.get("taskPushNotificationConfig")
        if config is None:
            return None
        if not isinstance(config, dict):
            raise InvalidParams("params.configuration.taskPushNotificationConfig: an object")
        pushes = self._pushes(entry)

        async def register(task_id: str) -> None:
            await self._create(pushes, task_id, config)

        return register

    async def _create(self, pushes: PushConfigStore, task_id: str, config: Params) -> Any:
        try:
            return (await pushes.create(task_id, config)).to_json()
        except InvalidInputError as exc:
            raise InvalidParams(str(exc)) from None

    async def _task_for_push(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> str:
        return (await self._task(ctx, entry, _required(call.params, "taskId"))).id

    async def _create_push(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        pushes = self._pushes(entry)
        task_id = await self._task_for_push(ctx, entry, call)
        return await self._create(pushes, task_id, call.params)

    async def _get_push(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        pushes = self._pushes(entry)
        task_id = await self._task_for_push(ctx, entry, call)
        config_id = _required(call.params, "id")
        found = await pushes.get(task_id, config_id)
        if found is None:
            raise InvalidParams(f"task '{task_id}' has no push notification config '{config_id}'")
        return found.to_json()

    async def _list_push(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        pushes = self._pushes(entry)
        task_id = await self._task_for_push(ctx, entry, call)
        configs = [config.to_json() for config in await pushes.list(task_id)]
        return {"configs": configs, "nextPageToken": ""}

    async def _delete_push(self, ctx: RequestContext, entry: AgentEntry, call: Call) -> Any:
        pushes = self._pushes(entry)
        task_id = await self._task_for_push(ctx, entry, call)
        config_id = _required(call.params, "id")
        if not await pushes.delete(task_id, config_id):
            raise InvalidParams(f"task '{task_id}' has no push notification config '{config_id}'")
        return {}


__all__ = ["METHODS_V10", "A2AEndpoint", "Call", "parse_call"]
