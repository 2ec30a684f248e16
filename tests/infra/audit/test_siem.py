from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.infra.audit import (
    DECISION_EVENT,
    FileSink,
    HttpSink,
    SiemDeliveryError,
    SiemEmitter,
    SiemSinkSettings,
    StdoutSink,
    create_sink,
    siem_event,
)
from tests.infra.audit._support import decision_row, event_row, metric

FAKE_SECRET = "sk-ant-api03-FAKEFAKEFAKEFAKEFAKE"


def fake_scanner(text: str) -> str:
    return text.replace(FAKE_SECRET, "[REDACTED:anthropic_key]")


class Collector:
    """A real HTTP collector on loopback that answers with scripted statuses."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def receive(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        status = self.statuses.pop(0) if self.statuses else 200
        return Response(b'{"text":"Success","code":0}', status_code=status)


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    collector = Collector()
    app = Starlette(
        routes=[Route("/services/collector/event", collector.receive, methods=["POST"])]
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    collector.url = f"http://127.0.0.1:{port}/services/collector/event"
    try:
        yield collector
    finally:
        server.should_exit = True
        await task


def _decision_event(n: int, **overrides: Any) -> dict[str, Any]:
    return siem_event(DECISION_EVENT, decision_row(n, **overrides))


def test_siem_event_has_stable_fields_and_iso_utc_timestamp() -> None:
    row = decision_row(1, created_at=datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=UTC))
    event = siem_event(DECISION_EVENT, row)
    assert list(event)[:3] == ["event_type", "timestamp", "trace_id"]
    assert event["event_type"] == "governance.decision"
    assert event["timestamp"] == "2025-03-04T05:06:07.000890Z"
    assert event["trace_id"] == "trace-1"
    assert "created_at" not in event
    assert {k: event[k] for k in row if k != "created_at"} == {
        k: v for k, v in row.items() if k != "created_at"
    }
    admin = siem_event("admin.user.updated", event_row(2))
    assert admin["event_type"] == "admin.user.updated"
    assert admin["details"] == {"fields": ["role"], "n": 2}


async def test_file_sink_writes_one_parseable_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "siem" / "events.jsonl"
    emitter = SiemEmitter(FileSink(path), batch_size=2, flush_interval=0.01)
    await emitter.start()
    for n in range(5):
        emitter.emit(_decision_event(n))
    emitter.emit(siem_event("admin.key.revoked", event_row(9)))
    await emitter.flush()
    emitter.emit(_decision_event(6))
    await emitter.close()

    lines = path.read_bytes().splitlines()
    assert len(lines) == 7
    events = [orjson.loads(line) for line in lines]
    for event in events:
        assert {"event_type", "timestamp", "trace_id", "id"} <= event.keys()
        assert datetime.fromisoformat(event["timestamp"]).tzinfo == UTC
    assert [e["trace_id"] for e in events] == [f"trace-{n}" for n in (0, 1, 2, 3, 4, 9, 6)]
    assert events[5]["event_type"] == "admin.key.revoked"


async def test_stdout_sink(capsys: pytest.CaptureFixture[str]) -> None:
    emitter = SiemEmitter(StdoutSink(), flush_interval=0.01)
    await emitter.start()
    emitter.emit(_decision_event(3))
    await emitter.close()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [orjson.loads(line)["trace_id"] for line in lines] == ["trace-3"]


async def test_http_sink_speaks_splunk_hec_and_retries_after_503(collector: Collector) -> None:
    collector.statuses = [503]
    failures = metric("bastion_siem_delivery_failures_total", sink="http")
    settings = SiemSinkSettings(
        type="http", url=collector.url, format="hec", token_secret="splunk_hec", batch_size=3
    )
    sink = create_sink(settings, token="hec-token-123")
    emitter = SiemEmitter(sink, batch_size=settings.batch_size, retry_initial=0.01)
    await emitter.start()
    for n in range(3):
        emitter.emit(_decision_event(n))
    await asyncio.wait_for(emitter.flush(), 10)
    await emitter.close()

    assert len(collector.requests) == 2
    assert collector.requests[0][1] == collector.requests[1][1]
    headers, body = collector.requests[1]
    assert headers["authorization"] == "Splunk hec-token-123"
    envelopes = [orjson.loads(line) for line in body.splitlines()]
    assert [e["event"]["trace_id"] for e in envelopes] == ["trace-0", "trace-1", "trace-2"]
    for envelope in envelopes:
        assert set(envelope) == {"time", "sourcetype", "event"}
        assert envelope["sourcetype"] == "bastion:audit"
        stamp = datetime.fromisoformat(envelope["event"]["timestamp"]).timestamp()
        assert envelope["time"] == pytest.approx(stamp)
    assert metric("bastion_siem_delivery_failures_total", sink="http") == failures + 1


async def test_http_sink_generic_json_array(collector: Collector) -> None:
    sink = HttpSink(collector.url, format="json", token="bearer-abc")
    emitter = SiemEmitter(sink, batch_size=10, flush_interval=0.01)
    await emitter.start()
    emitter.emit(_decision_event(1))
    emitter.emit(_decision_event(2))
    await emitter.close()
    headers, body = collector.requests[0]
    assert headers["authorization"] == "Bearer bearer-abc"
    assert [e["trace_id"] for e in orjson.loads(body)] == ["trace-1", "trace-2"]


async def test_a_permanent_refusal_drops_the_batch_and_counts_it(collector: Collector) -> None:
    collector.statuses = [400]
    dropped = metric("bastion_siem_events_dropped_total", sink="http", reason="rejected")
    emitter = SiemEmitter(HttpSink(collector.url, format="json"), flush_interval=0.01)
    await emitter.start()
    emitter.emit(_decision_event(1))
    emitter.emit(_decision_event(2))
    await asyncio.wait_for(emitter.flush(), 10)
    emitter.emit(_decision_event(3))
    await emitter.close()
    assert len(collector.requests) == 2
    assert metric("bastion_siem_events_dropped_total", sink="http", reason="rejected") == (
        dropped + 2
    )


class DownSink:
    """A sink whose collector is unreachable: every delivery fails."""

    name = "down"

    def __init__(self) -> None:
        self.attempts = 0

    async def send(self, events: Sequence[dict[str, Any]]) -> None:
        self.attempts += 1
        raise SiemDeliveryError(self.name, "connection refused")

    async def aclose(self) -> None:
        return None


async def test_a_sink_that_stays_down_costs_bounded_memory(tmp_path: Path) -> None:
    overflow = metric("bastion_siem_events_dropped_total", sink="down", reason="overflow")
    shutdown = metric("bastion_siem_events_dropped_total", sink="down", reason="shutdown")
    sink = DownSink()
    emitter = SiemEmitter(
        sink,
        batch_size=5,
        max_buffer=20,
        flush_interval=0.01,
        retry_initial=0.01,
        retry_max=0.02,
        close_timeout=0.2,
    )
    await emitter.start()
    for n in range(5):
        emitter.emit(_decision_event(n))
    while sink.attempts < 2:
        await asyncio.sleep(0.01)
    # The first batch is in retry; the buffer holds at most max_buffer events.
    for n in range(5, 105):
        emitter.emit(_decision_event(n))
    assert metric("bastion_siem_events_dropped_total", sink="down", reason="overflow") == (
        overflow + 80
    )
    await emitter.close()
    assert metric("bastion_siem_events_dropped_total", sink="down", reason="shutdown") == (
        shutdown + 25
    )


async def test_injected_redactor_scrubs_every_string_before_any_sink(
    tmp_path: Path, collector: Collector
) -> None:
    leaky = decision_row(
        1,
        reason=f"secret detected: {FAKE_SECRET}",
        trace=[{"stage": "secret_scan", "match": FAKE_SECRET, "spans": [[0, 4]]}],
    )
    admin = event_row(2, details={"headers": {"x-api-key": FAKE_SECRET}, "tags": [FAKE_SECRET]})
    path = tmp_path / "events.jsonl"
    emitters = [
        SiemEmitter(FileSink(path), redact=fake_scanner, flush_interval=0.01),
        SiemEmitter(HttpSink(collector.url, token="t"), redact=fake_scanner, flush_interval=0.01),
    ]
    for emitter in emitters:
        await emitter.start()
        emitter.emit(siem_event(DECISION_EVENT, leaky))
        emitter.emit(siem_event("admin.user.updated", admin))
        await emitter.close()

    outputs = [path.read_bytes(), collector.requests[0][1]]
    for output in outputs:
        assert FAKE_SECRET.encode() not in output
        assert output.count(b"[REDACTED:anthropic_key]") == 4
    # The events the caller handed over are left as they were.
    assert FAKE_SECRET in leaky["reason"]
