"""``INFERENCE``: model calls made in process (an A2A native agent's), through the pipeline
``POST /v1/messages`` runs.

The request is an Anthropic Messages body; ``Gateway.serve`` routes, governs, dispatches,
scans, costs and records it exactly as it does a caller's bytes, with the principal's
ids (agent, task, context included) on its rows. The answer is read back off what the
pipeline would have sent an HTTP caller: the JSON document, or the relayed SSE parsed
event by event as it arrives.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import orjson
from starlette.responses import Response

from bastion.domains.gateway._ingress import ANTHROPIC, forwarded_headers
from bastion.domains.gateway._pipeline import Gateway, RelayedStream
from bastion.domains.gateway._records import RequestRecord
from bastion.domains.gateway.translate import SSEEvent, SSEParser
from bastion.kernel.context import RequestContext
from bastion.kernel.inference import ModelReply

_STREAM_FAILED = 502
"""The status of a stream that broke after it started, as its row records it."""


class GatewayInference:
    """The gateway's ``Inference``: one ``Gateway``, the one its routes serve."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def create(self, principal: RequestContext, request: Mapping[str, Any]) -> ModelReply:
        body = dict(request)
        body.pop("stream", None)
        record = RequestRecord(principal, ANTHROPIC.name)
        response = await self._serve(record, body)
        return ModelReply(response.status_code, _document(response), record.cost_microdollars)

    async def stream(
        self, principal: RequestContext, request: Mapping[str, Any]
    ) -> AsyncIterator[Mapping[str, Any]]:
        record = RequestRecord(principal, ANTHROPIC.name, streaming=True)
        response = await self._serve(record, {**request, "stream": True})
        if not isinstance(response, RelayedStream):
            document = _document(response)
            if response.status_code != 200:
                yield _error_event(response.status_code, document)
                return
            # A provider may answer a streamed call whole: the events it would have sent.
            for event in message_events(document):
                yield event
        else:
            failure: Mapping[str, Any] | None = None
            parser = SSEParser()
            try:
                async for chunk in response.chunks:
                    for data in _event_data(parser.feed(chunk)):
                        if data.get("type") == "error":
                            # The provider ends the stream after its error event; reading
                            # on lets the relay see the end and record the failure.
                            failure = failure or data
                        elif failure is None:
                            yield data
                for data in _event_data(parser.flush()):
                    if data.get("type") == "error":
                        failure = failure or data
                    elif failure is None:
                        yield data
            finally:
                # A caller that stops reading closes the relay: its row says cancelled.
                await response.chunks.aclose()
            if failure is not None:
                yield _error_event(record.status or _STREAM_FAILED, failure)
                return
        yield {"type": "bastion.cost", "cost_microdollars": record.cost_microdollars}

    async def _serve(self, record: RequestRecord, body: Mapping[str, Any]) -> Response:
        started = time.perf_counter()
        try:
            raw = orjson.dumps(body)
        except TypeError as exc:
            message = f"request body is not JSON: {exc}"
            return await self._gateway.refuse(record, ANTHROPIC, started, message)
        return await self._gateway.serve(record, ANTHROPIC, raw, forwarded_headers(), started)


def _document(response: Response) -> Mapping[str, Any]:
    """The JSON object the pipeline answered with (an Anthropic message or error)."""
    try:
        document = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        return document
    return {
        "type": "error",
        "error": {"type": "api_error", "message": f"the gateway answered {response.status_code}"},
    }


def _error_event(status: int, document: Mapping[str, Any]) -> dict[str, Any]:
    error = document.get("error")
    if not isinstance(error, Mapping):
        error = {"type": "api_error", "message": f"the gateway answered {status}"}
    return {"type": "error", "status": status, "error": dict(error)}


def _event_data(events: list[SSEEvent]) -> Iterator[dict[str, Any]]:
    """The JSON objects of Anthropic stream events (``ping`` included); anything else
    (a cut-off line at the end of a broken stream) is not an event."""
    for event in events:
        try:
            data = event.json()
        except orjson.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            yield data


def message_events(message: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The Anthropic stream events that carry ``message`` (a whole Messages response):
    ``message_start``, each block's start, delta and stop, ``message_delta``,
    ``message_stop``."""
    usage = message.get("usage") if isinstance(message.get("usage"), Mapping) else {}
    assert isinstance(usage, Mapping)
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 0},
    }
    yield {"type": "message_start", "message": start}
    content = message.get("content")
    blocks = content if isinstance(content, list) else []
    for index, block in enumerate(b for b in blocks if isinstance(b, Mapping)):
        kind = block.get("type")
        if kind == "text":
            opened: dict[str, Any] = {**block, "text": ""}
            delta: dict[str, Any] | None = {"type": "text_delta", "text": block.get("text", "")}
        elif kind == "tool_use":
            opened = {**block, "input": {}}
            arguments = orjson.dumps(block.get("input", {})).decode()
            delta = {"type": "input_json_delta", "partial_json": arguments}
        elif kind == "thinking":
            opened = {**block, "thinking": ""}
            delta = {"type": "thinking_delta", "thinking": block.get("thinking", "")}
        else:
            opened, delta = dict(block), None
        yield {"type": "content_block_start", "index": index, "content_block": opened}
        if delta is not None:
            yield {"type": "content_block_delta", "index": index, "delta": delta}
        yield {"type": "content_block_stop", "index": index}
    yield {
        "type": "message_delta",
        "delta": {
            "stop_reason": message.get("stop_reason"),
            "stop_sequence": message.get("stop_sequence"),
        },
        "usage": {"output_tokens": usage.get("output_tokens", 0)},
    }
    yield {"type": "message_stop"}
