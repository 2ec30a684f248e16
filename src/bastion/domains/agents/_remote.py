"""The remote agent: Bastion proxies an external A2A 1.0 agent over JSON-RPC.

A task's message goes to the remote as ``SendStreamingMessage`` and every
``StreamResponse`` is relayed as it arrives: a ``task`` or a ``statusUpdate`` as the
task's state (``SUBMITTED`` excepted: the runtime has reported it already), an
``artifactUpdate`` as an artifact chunk, a ``message`` (an answer without a task) as
``COMPLETED`` with that message. A remote that does not stream answers -32004
(unsupported operation) and is sent ``SendMessage`` instead, and remembered as such
until restart; a remote that answers the streaming call with a JSON document instead
of a stream has done the work already, and that document is relayed as it is.

Ids: the remote never sees Bastion's task and context ids, and Bastion's caller never
sees the remote's: messages going out lose their ``taskId``, ``contextId`` and
``referenceTaskIds``, and messages coming back get Bastion's. The remote's task id is
reported through ``TaskUpdates.remote_task`` as soon as it is known; a continuation (a
new message for a task waiting for input, ``TaskStart.remote_task_id``) first reads the
remote task (``GetTask``) for its ``contextId``, which the remote requires alongside
its task id, and for the artifacts Bastion already has. ``TaskStart.history`` is not
sent: A2A has no field for it, and a remote keeps its own context's history.

Credentials: only the agent's ``remote.credentials`` headers are sent, each value from
its named secret, resolved once when the executor is built. Nothing of the caller's
request reaches the remote but its message.

Secrets: every returned artifact and status message is scanned (``_part_secrets``) and
redacted before it is reported; the log names the patterns found, never the text.

Failures: no connection, no answer within ``remote.timeout_seconds`` (each call), an
HTTP error status, a JSON-RPC error, an answer that is not A2A, or an answer that ends
before the task finishes or asks for input: the task is ``FAILED`` with a short reason,
never an exception and never the remote's body. ``cancel_requested`` is honoured while
the remote is silent as well as between its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp
import orjson
import structlog

from bastion import __version__
from bastion.domains.agents._card import PROTOCOL_VERSION
from bastion.domains.agents._execution import (
    JsonObject,
    TaskStart,
    TaskState,
    TaskUpdates,
    text_message,
)
from bastion.domains.agents._part_secrets import redact_artifact, redact_message
from bastion.domains.agents._settings import AgentSettings
from bastion.domains.agents._sse_reader import EventTooLarge, SseReader
from bastion.infra.http import client
from bastion.infra.scanner import Finding, SecretScanner
from bastion.kernel.contract import SecretSource
from bastion.kernel.errors import BastionError, ExtensionConfigError

log = structlog.get_logger("bastion.agents")

T = TypeVar("T")

TASK_NOT_CANCELABLE = -32002
UNSUPPORTED_OPERATION = -32004
VERSION_HEADER = "A2A-Version"
USER_AGENT = f"bastion/{__version__}"

_SSE = "text/event-stream"
_JSON = "application/json"
_MAX_BODY_BYTES = 16 * 1024 * 1024
_REASON_CHARS = 200
_CANCEL_POLL_SECONDS = 0.2
# A cancel is not worth waiting the agent's whole timeout_seconds for.
_CANCEL_TIMEOUT_SECONDS = 30.0
# Below the 5 s keep-alive of common servers (uvicorn, Node): aiohttp does not retry a
# POST on a pooled connection the server closed meanwhile, so never reuse one that old.
_KEEPALIVE_SECONDS = 4.0
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Set by Bastion on every call; a credential may not replace them.
_PROTOCOL_HEADERS = frozenset(
    {"accept", "connection", "content-length", "content-type", "host", "transfer-encoding"}
    | {VERSION_HEADER.lower()}
)
_OUTGOING_DROPPED = ("taskId", "contextId", "referenceTaskIds")


def create_http_session(connect_timeout: float = 10.0) -> aiohttp.ClientSession:
    """The pool every remote agent shares (see
    :func:`bastion.infra.http.client.create_http_session`): no cookies, uncompressed
    (an event stream must not wait on a compression window), reads unbounded (each call
    runs under its agent's ``timeout_seconds``). Call inside the running event loop."""
    return client.create_http_session(
        user_agent=USER_AGENT,
        headers={"accept-encoding": "identity"},
        connect_timeout=connect_timeout,
        keepalive_timeout=_KEEPALIVE_SECONDS,
    )


def credential_headers(agent: AgentSettings, secrets: SecretSource) -> dict[str, str]:
    """The headers sent to ``agent``'s remote, each value its named secret. A secret
    that is not defined, holds a line break, or a header that is not one Bastion lets a
    credential set, is an ``ExtensionConfigError``: the profile is wrong, not a task."""
    if agent.remote is None:
        return {}
    headers: dict[str, str] = {}
    for header, secret in agent.remote.credentials.items():
        where = f"agent '{agent.name}': remote.credentials.{header}"
        if not _HEADER_NAME.match(header):
            raise ExtensionConfigError("agents", f"{where}: not an HTTP header name")
        if header.lower() in _PROTOCOL_HEADERS:
            raise ExtensionConfigError("agents", f"{where}: Bastion sets this header itself")
        try:
            value = secrets.get(secret)
        except BastionError as exc:
            raise ExtensionConfigError("agents", f"{where}: {exc}") from None
        if "\r" in value or "\n" in value:
            raise ExtensionConfigError(
                "agents",
                f"{where}: the secret holds a line break (a trailing newline from a file?)",
            )
        headers[header] = value
    return headers


class _Failed(Exception):
    """The remote call failed; ``reason`` says why in words fit for the caller, ``code``
    is the remote's JSON-RPC error code when it answered with one."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class _Canceled(Exception):
    """``cancel_requested`` was seen."""


def _invalid(detail: str) -> _Failed:
    return _Failed(f"the remote agent sent an invalid response: {detail}")


@dataclass(frozen=True, slots=True)
class _Call:
    """Where one task's calls go and with what: the remote's URL, how long each call
    may take, its credential headers, and the updates whose ``cancel_requested``
    interrupts a wait (None: nothing does)."""

    url: str
    timeout: float
    headers: Mapping[str, str] = field(repr=False)
    updates: TaskUpdates | None


@dataclass(slots=True)
class _Relay:
    """One execution's side of the remote task: what is known of it, and every update on
    its way to ``updates``, ids rewritten and secrets redacted."""

    start: TaskStart
    updates: TaskUpdates
    scanner: SecretScanner
    remote_id: str | None = None
    remote_canceled: bool = False
    known_artifacts: set[str] = field(default_factory=set)
    ended: bool = False

    def resume(self, remote_id: str, task: JsonObject) -> None:
        """A continuation: the remote task exists, with the artifacts Bastion has."""
        self.remote_id = remote_id
        artifacts = task.get("artifacts")
        for artifact in artifacts if isinstance(artifacts, list) else ():
            if isinstance(artifact, Mapping) and isinstance(artifact.get("artifactId"), str):
                self.known_artifacts.add(artifact["artifactId"])

    async def relay(self, result: object) -> None:
        """One ``StreamResponse`` (or ``SendMessageResponse``, a subset of it)."""
        if self.updates.cancel_requested:
            raise _Canceled
        if not isinstance(result, Mapping):
            raise _invalid("a result that is not an object")
        if isinstance(task := result.get("task"), Mapping):
            await self._task(task)
        elif isinstance(message := result.get("message"), Mapping):
            await self._status(TaskState.COMPLETED, message)
        elif isinstance(update := result.get("statusUpdate"), Mapping):
            self._identify(update.get("taskId", self.remote_id))
            await self._status_of(update.get("status"))
        elif isinstance(update := result.get("artifactUpdate"), Mapping):
            self._identify(update.get("taskId", self.remote_id))
            await self._artifact(
                update.get("artifact"),
                append=update.get("append") is True,
                last_chunk=update.get("lastChunk") is True,
            )
        else:
            raise _invalid("neither a task, a message, a status nor an artifact update")

    async def say(self, state: TaskState, text: str) -> None:
        message = text_message(
            "ROLE_AGENT",
            text,
            task_id=self.start.task_id,
            context_id=self.start.context_id,
            message_id=uuid.uuid4().hex,
        )
        await self.updates.status(state, message)
        self.ended = True

    def _identify(self, remote_id: object) -> None:
        if not isinstance(remote_id, str) or not remote_id:
            raise _invalid("a task event without a task id")
        if self.remote_id is None:
            self.remote_id = remote_id
            self.updates.remote_task(remote_id)
        elif remote_id != self.remote_id:
            raise _invalid("events of two different tasks")

    async def _task(self, task: JsonObject) -> None:
        self._identify(task.get("id"))
        artifacts = task.get("artifacts", [])
        if not isinstance(artifacts, list):
            raise _invalid("a task whose artifacts are not a list")
        for artifact in artifacts:
            if isinstance(artifact, Mapping) and artifact.get("artifactId") in self.known_artifacts:
                continue
            await self._artifact(artifact)
        await self._status_of(task.get("status"))

    async def _status_of(self, status: object) -> None:
        if not isinstance(status, Mapping):
            raise _invalid("a task without a status")
        name = status.get("state")
        try:
            state = TaskState(name if isinstance(name, str) else "")
        except ValueError:
            raise _invalid(f"an unknown task state {str(name)[:40]!r}") from None
        message = status.get("message")
        if message is not None and not isinstance(message, Mapping):
            raise _invalid("a status message that is not an object")
        if state is not TaskState.SUBMITTED:
            await self._status(state, message)

    async def _status(self, state: TaskState, message: JsonObject | None) -> None:
        await self.updates.status(state, None if message is None else self._incoming(message))
        self.ended = state.terminal or state.interrupted

    async def _artifact(
        self, artifact: object, *, append: bool = False, last_chunk: bool = False
    ) -> None:
        if (
            not isinstance(artifact, Mapping)
            or not isinstance(artifact.get("artifactId"), str)
            or not isinstance(artifact.get("parts"), list)
        ):
            raise _invalid("an artifact without an id or parts")
        redacted, findings = redact_artifact(self.scanner, artifact)
        self._found(findings, "artifact")
        self.known_artifacts.add(artifact["artifactId"])
        await self.updates.artifact(redacted, append=append, last_chunk=last_chunk)

    def _incoming(self, message: JsonObject) -> dict[str, Any]:
        """A remote's message as Bastion's: in Bastion's task and context, its secrets
        redacted."""
        if not isinstance(message.get("parts"), list):
            raise _invalid("a message without parts")
        redacted, findings = redact_message(self.scanner, message)
        self._found(findings, "message")
        redacted.pop("referenceTaskIds", None)
        redacted["taskId"] = self.start.task_id
        redacted["contextId"] = self.start.context_id
        if not isinstance(redacted.get("messageId"), str) or not redacted["messageId"]:
            redacted["messageId"] = uuid.uuid4().hex
        return redacted

    def _found(self, findings: list[Finding], where: str) -> None:
        if findings:
            log.warning(
                "secret in a remote agent's answer, redacted",
                agent=self.start.agent.name,
                task_id=self.start.task_id,
                part_of=where,
                patterns=sorted({f.pattern_id for f in findings}),
                trace_id=self.start.principal.trace_id,
            )


class RemoteExecutor:
    """Runs remote agents' tasks (see the module docstring).

    ``agents``: the deployment's agents; the credential headers of each remote one are
    resolved from ``secrets`` here, once, so a missing secret fails the boot
    (``ExtensionConfigError``), not a task. ``scanner``: the ``SECRET_SCANNER`` service.
    ``http``: the pooled session to call through (default: one of its own from
    :func:`create_http_session`, opened at first use and closed by :meth:`aclose`).
    """

    def __init__(
        self,
        agents: Iterable[AgentSettings],
        secrets: SecretSource,
        scanner: SecretScanner,
        *,
        http: aiohttp.ClientSession | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self._headers = {
            agent.name: credential_headers(agent, secrets)
            for agent in agents
            if agent.remote is not None
        }
        self._scanner = scanner
        self._http = http
        self._owns_http = http is None
        self._connect_timeout = connect_timeout
        self._running: dict[str, _Relay] = {}
        self._unstreamed: set[str] = set()

    async def aclose(self) -> None:
        """Close the session this executor opened (a session it was given stays open)."""
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    async def execute(self, start: TaskStart, updates: TaskUpdates) -> None:
        relay = _Relay(start, updates, self._scanner)
        self._running[start.task_id] = relay
        try:
            await self._execute(start, relay)
        except _Canceled:
            await relay.say(TaskState.CANCELED, "canceled by the caller")
            await self._cancel_remote(start, relay)
        except _Failed as failure:
            reason, _ = self._scanner.redact_text(failure.reason)
            log.warning(
                "remote agent task failed",
                agent=start.agent.name,
                task_id=start.task_id,
                reason=reason,
                trace_id=start.principal.trace_id,
            )
            await relay.say(TaskState.FAILED, reason)
        finally:
            self._running.pop(start.task_id, None)

    async def cancel(self, start: TaskStart) -> None:
        """``CancelTask`` on the remote task, when its id is known; the execution, if it
        runs here, stops at ``cancel_requested`` and reports ``CANCELED`` itself."""
        relay = self._running.get(start.task_id)
        if relay is not None:
            await self._cancel_remote(start, relay)
        elif start.remote_task_id is not None:
            await self._cancel(start, start.remote_task_id)

    async def _cancel_remote(self, start: TaskStart, relay: _Relay) -> None:
        """Cancel the running execution's remote task, once: from :meth:`cancel`, or
        from the execution itself when the cancel came before the remote's task id was
        known (so :meth:`cancel` could not) or reached another replica's runtime."""
        if relay.remote_id is not None and not relay.remote_canceled:
            relay.remote_canceled = True
            await self._cancel(start, relay.remote_id)

    async def _cancel(self, start: TaskStart, remote_id: str) -> None:
        call = self._call(start, None)
        if call is None:
            return
        call = replace(call, timeout=min(call.timeout, _CANCEL_TIMEOUT_SECONDS))
        try:
            await self._rpc(call, "CancelTask", {"id": remote_id})
        except _Failed as failure:
            if failure.code == TASK_NOT_CANCELABLE:
                return  # finished meanwhile, or canceled already
            reason, _ = self._scanner.redact_text(failure.reason)
            log.warning(
                "remote agent task not canceled",
                agent=start.agent.name,
                task_id=start.task_id,
                reason=reason,
                trace_id=start.principal.trace_id,
            )

    def _call(self, start: TaskStart, updates: TaskUpdates | None) -> _Call | None:
        remote = start.agent.remote
        headers = self._headers.get(start.agent.name)
        if remote is None or headers is None:
            return None
        return _Call(remote.url, remote.timeout_seconds, headers, updates)

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = create_http_session(self._connect_timeout)
        return self._http

    async def _execute(self, start: TaskStart, relay: _Relay) -> None:
        call = self._call(start, relay.updates)
        if call is None:
            raise _Failed(f"agent '{start.agent.name}' is not a remote agent of this deployment")
        if relay.updates.cancel_requested:
            raise _Canceled
        params = {"message": await self._outgoing(call, start, relay)}
        if call.url in self._unstreamed or not await self._stream(call, params, relay):
            self._unstreamed.add(call.url)
            await relay.relay(await self._rpc(call, "SendMessage", params))
        if not relay.ended:
            raise _Failed("the remote agent's answer ended before the task finished")

    async def _outgoing(self, call: _Call, start: TaskStart, relay: _Relay) -> dict[str, Any]:
        """The message as the remote is sent it: without Bastion's ids, or for a
        continuation with the remote task's."""
        message = {k: v for k, v in start.message.items() if k not in _OUTGOING_DROPPED}
        if start.remote_task_id is not None:
            task = await self._rpc(
                call, "GetTask", {"id": start.remote_task_id, "historyLength": 0}
            )
            if not isinstance(task, Mapping) or not isinstance(task.get("contextId"), str):
                raise _invalid("a task without a context id")
            relay.resume(start.remote_task_id, task)
            message["taskId"] = start.remote_task_id
            message["contextId"] = task["contextId"]
        return message

    async def _stream(self, call: _Call, params: JsonObject, relay: _Relay) -> bool:
        """Relay ``SendStreamingMessage``'s events; False when the remote does not stream."""
        async with (
            _deadline(call.timeout),
            self._post(call, "SendStreamingMessage", params) as response,
        ):
            if response.content_type != _SSE:
                document = _decode(await _body(response, call.updates))
                error = document.get("error") if isinstance(document, Mapping) else None
                if isinstance(error, Mapping) and error.get("code") == UNSUPPORTED_OPERATION:
                    return False
                await relay.relay(_result(document))
                return True
            reader = SseReader(_MAX_BODY_BYTES)
            while chunk := await _chunk(response, call.updates):
                try:
                    events = list(reader.feed(chunk))
                except EventTooLarge:
                    raise _invalid("an event larger than 16 MiB") from None
                for event in events:
                    await relay.relay(_result(_decode(event.data.encode())))
                    if relay.ended:
                        return True
            return True

    async def _rpc(self, call: _Call, method: str, params: JsonObject) -> Any:
        """One JSON-RPC call answered with one JSON document: its result."""
        async with _deadline(call.timeout), self._post(call, method, params) as response:
            return _result(_decode(await _body(response, call.updates)))

    @contextlib.asynccontextmanager
    async def _post(
        self, call: _Call, method: str, params: JsonObject
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST one JSON-RPC request; the 2xx response, its body unread. Its connection
        goes back to the pool when the body was read to the end, else it is closed."""
        accept = _SSE if method == "SendStreamingMessage" else _JSON
        payload = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method, "params": params}
        headers = {
            **call.headers,
            "content-type": _JSON,
            "accept": accept,
            VERSION_HEADER: PROTOCOL_VERSION,
        }
        try:
            response = await _watched(
                self._session().post(
                    call.url,
                    data=orjson.dumps(payload),
                    headers=headers,
                    allow_redirects=False,
                ),
                call.updates,
            )
        except (aiohttp.ClientError, OSError) as exc:
            raise _Failed(f"the remote agent could not be reached ({type(exc).__name__})") from None
        try:
            if not 200 <= response.status < 300:
                raise _Failed(f"the remote agent answered HTTP {response.status}")
            yield response
        finally:
            if response.content.at_eof():
                response.release()
            else:
                response.close()


@contextlib.asynccontextmanager
async def _deadline(seconds: float) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise _Failed(f"the remote agent did not answer within {seconds:g} s") from None


async def _watched(awaitable: Awaitable[T], updates: TaskUpdates | None) -> T:
    """``awaitable``'s result; with ``updates``, ``_Canceled`` as soon as a cancel is
    requested, even while the remote is silent (a ``SendMessage`` may take minutes)."""
    if updates is None:
        return await awaitable
    waiting = asyncio.ensure_future(awaitable)
    try:
        while True:
            done, _ = await asyncio.wait((waiting,), timeout=_CANCEL_POLL_SECONDS)
            if done:
                return waiting.result()
            if updates.cancel_requested:
                raise _Canceled
    finally:
        waiting.cancel()


async def _chunk(response: aiohttp.ClientResponse, updates: TaskUpdates | None) -> bytes:
    """The next bytes of the body, b"" at its end."""
    try:
        return await _watched(response.content.readany(), updates)
    except (aiohttp.ClientError, OSError) as exc:
        raise _Failed(f"the remote agent's answer broke off ({type(exc).__name__})") from None


async def _body(response: aiohttp.ClientResponse, updates: TaskUpdates | None) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await _chunk(response, updates):
        size += len(chunk)
        if size > _MAX_BODY_BYTES:
            raise _invalid("a body larger than 16 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _invalid("a body that is not JSON") from None


def _result(document: object) -> Any:
    """A JSON-RPC response's result; its error as ``_Failed`` (its message cut short)."""
    if not isinstance(document, Mapping):
        raise _invalid("not a JSON-RPC response")
    error = document.get("error")
    if error is not None:
        if not isinstance(error, Mapping) or not isinstance(error.get("code"), int):
            raise _invalid("a JSON-RPC error without a code")
        code = error["code"]
        message = error.get("message")
        reason = f"the remote agent returned error {code}"
        if isinstance(message, str) and message:
            short = message[:_REASON_CHARS] + ("…" if len(message) > _REASON_CHARS else "")
            reason += f": {short}"
        raise _Failed(reason, code)
    if "result" not in document:
        raise _invalid("a JSON-RPC response without a result")
    return document["result"]
