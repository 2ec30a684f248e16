"""Scanning a relayed stream for secrets without holding it back: text, thinking and
tool-input deltas are collected on the side (bounded) and scanned when the stream ends."""

from __future__ import annotations

from bastion.domains.gateway.translate import SSEParser
from bastion.infra.scanner import SecretScanner

MAX_COLLECTED_CHARS = 1_000_000
_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


class StreamTextCollector:
    def __init__(self) -> None:
        self._parser = SSEParser()
        self._parts: list[str] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        if self._size >= MAX_COLLECTED_CHARS:
            return
        for event in self._parser.feed(chunk):
            if event.event != "content_block_delta":
                continue
            try:
                data = event.json()
            except ValueError:
                continue
            delta = data.get("delta") if isinstance(data, dict) else None
            if not isinstance(delta, dict):
                continue
            field = _DELTA_FIELDS.get(str(delta.get("type")))
            value = delta.get(field) if field else None
            if isinstance(value, str):
                self._parts.append(value)
                self._size += len(value)

    def findings(self, scanner: SecretScanner) -> str | None:
        """Comma-separated pattern ids found in what the model streamed, or None."""
        if not self._parts:
            return None
        found = scanner.scan_text("".join(self._parts))
        return ",".join(sorted({f.pattern_id for f in found})) or None
