"""SIEM sinks: where batches of (already redacted) events are delivered."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

import orjson

from bastion.infra.audit._errors import SiemDeliveryError, SiemRejected
from bastion.infra.audit._settings import SiemSinkSettings

if TYPE_CHECKING:
    import httpx

Event = dict[str, Any]


class SiemSink(Protocol):
    """Delivers one batch. Raises ``SiemRejected`` to drop the batch, anything else to
    have it retried."""

    name: str

    async def send(self, events: Sequence[Event]) -> None: ...

    async def aclose(self) -> None: ...


def json_lines(events: Sequence[Event]) -> bytes:
    return b"".join(orjson.dumps(event, default=str) + b"\n" for event in events)


class StdoutSink:
    """One JSON line per event on standard output (for a log shipper to collect)."""

    name = "stdout"

    async def send(self, events: Sequence[Event]) -> None:
        sys.stdout.write(json_lines(events).decode("utf-8"))
        sys.stdout.flush()

    async def aclose(self) -> None:
        return None


class FileSink:
    """Appends one JSON line per event to ``path``."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    async def send(self, events: Sequence[Event]) -> None:
        await asyncio.to_thread(self._append, json_lines(events))

    async def aclose(self) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None

    def _append(self, data: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(data)
        self._file.flush()


class HttpSink:
    """POSTs each batch to a collector.

    ``hec``: Splunk HTTP Event Collector; the body is the batch's envelopes
    ``{"time", "sourcetype", "event"}``, one per line, with ``Authorization: Splunk
    <token>``. ``json``: a JSON array of the events, with ``Authorization: Bearer <token>``
    when a token is given. 5xx, 408, 429 and transport errors are retried by the emitter;
    any other non-2xx drops the batch.
    """

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        format: Literal["hec", "json"] = "hec",
        token: str | None = None,
        sourcetype: str = "bastion:audit",
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if format == "hec" and not token:
            raise ValueError("the Splunk HEC format needs a token")
        self.url = url
        self._format = format
        self._sourcetype = sourcetype
        self._headers = {"Content-Type": "application/json"}
        if token:
            scheme = "Splunk" if format == "hec" else "Bearer"
            self._headers["Authorization"] = f"{scheme} {token}"
        import httpx  # only a profile with an HTTP sink pays for importing it

        self._transport_error = httpx.HTTPError
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def send(self, events: Sequence[Event]) -> None:
        try:
            response = await self._client.post(
                self.url, content=self._body(events), headers=self._headers
            )
        except self._transport_error as error:
            raise SiemDeliveryError(self.name, f"{type(error).__name__}: {error}") from error
        status = response.status_code
        if status < 300:
            return
        reason = f"HTTP {status} from {self.url}"
        if status >= 500 or status in (408, 429):
            raise SiemDeliveryError(self.name, reason)
        raise SiemRejected(self.name, reason)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _body(self, events: Sequence[Event]) -> bytes:
        if self._format == "json":
            return orjson.dumps(list(events), default=str)
        return b"\n".join(
            orjson.dumps(
                {"time": _epoch(event), "sourcetype": self._sourcetype, "event": event},
                default=str,
            )
            for event in events
        )


def _epoch(event: Event) -> float:
    stamp = event.get("timestamp")
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            pass
    return time.time()


def create_sink(settings: SiemSinkSettings, *, token: str | None = None) -> SiemSink:
    """The sink ``settings`` describe; ``token`` is the resolved ``token_secret``."""
    if settings.type == "stdout":
        return StdoutSink()
    if settings.type == "file":
        assert settings.path is not None
        return FileSink(settings.path)
    assert settings.url is not None
    return HttpSink(
        settings.url,
        format=settings.format,
        token=token,
        sourcetype=settings.sourcetype,
        timeout=settings.timeout,
    )
