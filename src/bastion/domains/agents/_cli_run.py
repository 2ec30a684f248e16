"""``bastion agents run``: a task streamed in the terminal, from a running Bastion.

It is an A2A client like any other: one ``SendStreamingMessage`` (or, with
``--no-stream``, a blocking ``SendMessage``) to the agent's endpoint with the caller's
credential (``--key`` or ``BASTION_API_KEY``) at ``--url`` or ``BASTION_URL``. Status
changes print as dim lines, the answer's text as it arrives; exit status 0 when the task
completed or waits for input, 1 when it failed, was rejected or canceled, 2 when the call
itself was refused (a JSON-RPC error).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import orjson
import typer

from bastion.domains.agents._execution import TaskState, text_of
from bastion.domains.agents._sse_reader import EventTooLarge, SseReader
from bastion.infra.commands import err, out

EXIT_ENDED_BADLY = 1
EXIT_REFUSED = 2
DEFAULT_URL = "http://127.0.0.1:8080"
MAX_EVENT_BYTES = 16 * 1024 * 1024


def _message(text: str, context_id: str | None, task_id: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "messageId": uuid.uuid4().hex,
        "role": "ROLE_USER",
        "parts": [{"text": text}],
    }
    if context_id:
        message["contextId"] = context_id
    if task_id:
        message["taskId"] = task_id
    return message


def _frames(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON-RPC answers of an SSE (or plain JSON) response."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        yield orjson.loads(response.read())
        return
    reader = SseReader(MAX_EVENT_BYTES)
    for chunk in response.iter_bytes():
        for event in reader.feed(chunk):
            if event.data:
                yield orjson.loads(event.data)


class _Printer:
    """Renders a task's events: the answer's text as it streams, states as dim lines."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.task: dict[str, Any] = {}
        self.state: TaskState | None = None
        self.question: str | None = None
        self._in_text = False

    def event(self, event: Mapping[str, Any]) -> None:
        if self.as_json:
            sys.stdout.write(orjson.dumps(event).decode() + "\n")
            sys.stdout.flush()
        if "task" in event:
            self.task = dict(event["task"])
            self._status(self.task.get("status") or {})
            if not self.as_json:
                for artifact in self.task.get("artifacts") or ():
                    self._text(artifact)
        elif "statusUpdate" in event:
            self._status(event["statusUpdate"].get("status") or {})
        elif "artifactUpdate" in event and not self.as_json:
            self._text(event["artifactUpdate"].get("artifact") or {})

    def _text(self, artifact: Mapping[str, Any]) -> None:
        for part in artifact.get("parts") or ():
            text = part.get("text")
            if text:
                out.print(text, end="", markup=False, highlight=False)
                self._in_text = True

    def _status(self, status: Mapping[str, Any]) -> None:
        state = TaskState(status.get("state", TaskState.SUBMITTED.value))
        said = text_of(status.get("message"))
        if state is TaskState.INPUT_REQUIRED:
            self.question = said or None
        if state is self.state and not said:
            return
        self.state = state
        if self.as_json:
            return
        if self._in_text:
            out.print()
            self._in_text = False
        name = state.value.removeprefix("TASK_STATE_").lower().replace("_", "-")
        line = f"{name}: {said}" if said else name
        out.print(f"[dim]{line}[/dim]", highlight=False)

    def finish(self, context_id: str | None, task_id: str | None) -> int:
        if self._in_text and not self.as_json:
            out.print()
        state = self.state or TaskState.SUBMITTED
        if not self.as_json:
            out.print(
                f"[bold]task[/bold] {task_id} [bold]context[/bold] {context_id} "
                f"[bold]state[/bold] {state.value}",
                highlight=False,
            )
            if state is TaskState.INPUT_REQUIRED:
                out.print(
                    f'answer with: bastion agents run AGENT "..." --task-id {task_id}',
                    highlight=False,
                )
        ok = state in (
            TaskState.COMPLETED,
            TaskState.INPUT_REQUIRED,
            TaskState.WORKING,
            TaskState.SUBMITTED,
        )
        return 0 if ok else EXIT_ENDED_BADLY


UNSUPPORTED_OPERATION = -32004


class _Unsupported(Exception):
    """The agent does not stream: send the message again without."""


def run_task(
    url: str,
    key: str,
    agent: str,
    text: str,
    *,
    context_id: str | None,
    task_id: str | None,
    stream: bool,
    as_json: bool,
) -> int:
    """Send ``text`` to ``agent`` and render the task; the exit status. An agent that does
    not stream refuses the stream before any task exists, so it is asked again with
    ``SendMessage``."""
    try:
        return _send(url, key, agent, text, context_id, task_id, stream, as_json)
    except _Unsupported:
        return _send(url, key, agent, text, context_id, task_id, False, as_json)


def _send(
    url: str,
    key: str,
    agent: str,
    text: str,
    context_id: str | None,
    task_id: str | None,
    stream: bool,
    as_json: bool,
) -> int:
    method = "SendStreamingMessage" if stream else "SendMessage"
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": method,
        "params": {"message": _message(text, context_id, task_id)},
    }
    headers = {
        "authorization": f"Bearer {key}",
        "a2a-version": "1.0",
        "accept": "text/event-stream" if stream else "application/json",
    }
    endpoint = f"{url.rstrip('/')}/api/v1/agents/{agent}/a2a"
    printer = _Printer(as_json=as_json)
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(30.0, read=None)) as http,
            http.stream("POST", endpoint, content=orjson.dumps(body), headers=headers) as answer,
        ):
            if answer.status_code != 200:
                answer.read()
                err.print(
                    f"[bold red]error:[/] {endpoint} answered HTTP {answer.status_code}",
                    highlight=False,
                )
                return EXIT_REFUSED
            for frame in _frames(answer):
                if "error" in frame:
                    error = frame["error"]
                    if stream and error.get("code") == UNSUPPORTED_OPERATION and not printer.task:
                        raise _Unsupported
                    err.print(
                        f"[bold red]error:[/] {error.get('message')} ({error.get('code')})",
                        highlight=False,
                    )
                    return EXIT_REFUSED
                result = frame.get("result") or {}
                printer.event(result if stream else {"task": result.get("task") or {}})
    except httpx.HTTPError as exc:
        err.print(f"[bold red]error:[/] cannot reach {url}: {type(exc).__name__}", highlight=False)
        return EXIT_REFUSED
    except (orjson.JSONDecodeError, EventTooLarge):
        err.print(f"[bold red]error:[/] {endpoint} did not answer JSON-RPC", highlight=False)
        return EXIT_REFUSED
    task = printer.task
    return printer.finish(task.get("contextId") or context_id, task.get("id") or task_id)


def credentials(url: str | None, key: str | None) -> tuple[str, str]:
    """``--url`` / ``BASTION_URL`` (default the local listener) and ``--key`` /
    ``BASTION_API_KEY`` (required)."""
    if not key:
        err.print(
            "[bold red]error:[/] a credential is needed: --key or BASTION_API_KEY "
            "(an API key or a token of the caller the task acts for)",
            highlight=False,
        )
        raise typer.Exit(EXIT_REFUSED)
    return url or DEFAULT_URL, key


__all__ = ["DEFAULT_URL", "credentials", "run_task"]
