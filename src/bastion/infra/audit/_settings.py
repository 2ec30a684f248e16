"""Profile settings for the audit pipeline: ``audit`` and ``audit.siem``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SiemSinkSettings(BaseModel):
    """Where the structured SIEM copy of each audit event goes (``audit.siem``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["stdout", "file", "http"] = Field(
        description="Sink kind: 'stdout' (one JSON line per event on standard output), "
        "'file' (appended to `path`, one JSON line per event) or 'http' (POSTed to `url`)."
    )
    path: Path | None = Field(
        default=None, description="File to append events to. Required when type is 'file'."
    )
    url: str | None = Field(
        default=None,
        description="Collector endpoint, e.g. 'https://splunk:8088/services/collector/event'. "
        "Required when type is 'http'.",
    )
    format: Literal["hec", "json"] = Field(
        default="hec",
        description="HTTP body format: 'hec' (Splunk HTTP Event Collector envelopes "
        "{event, sourcetype, time}, sent with 'Authorization: Splunk <token>') or 'json' "
        "(a JSON array of events, sent with 'Authorization: Bearer <token>' if a token is set).",
    )
    token_secret: str | None = Field(
        default=None,
        description="Name of the secret holding the collector token (resolved from the "
        "secrets file, never written here). Required for the 'hec' format.",
    )
    sourcetype: str = Field(
        default="bastion:audit", description="Splunk sourcetype set on every HEC envelope."
    )
    batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Events per delivery (one POST or one write)."
    )
    flush_interval_ms: int = Field(
        default=1000,
        ge=1,
        le=600_000,
        description="Longest time an event waits for its batch to fill, in milliseconds.",
    )
    timeout: float = Field(
        default=5.0, gt=0, le=300, description="HTTP request timeout, in seconds."
    )
    max_buffer: int = Field(
        default=10_000,
        ge=1,
        description="Events held in memory while the sink is down; beyond it the oldest are "
        "dropped and counted (the database rows remain the lossless record).",
    )

    @model_validator(mode="after")
    def _destination_present(self) -> Self:
        if self.type == "file" and self.path is None:
            raise ValueError("audit.siem.path is required when type is 'file'")
        if self.type == "http":
            if self.url is None or not self.url.startswith(("http://", "https://")):
                raise ValueError("audit.siem.url must be an http(s) URL when type is 'http'")
            if self.format == "hec" and self.token_secret is None:
                raise ValueError("audit.siem.token_secret is required for the 'hec' format")
        return self


class AuditSettings(BaseModel):
    """The lossless audit writer and its SIEM copy (``audit``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spill_path: Path = Field(
        default=Path(".bastion/audit/spill.jsonl"),
        description="Append-only JSON-lines file that receives audit rows while the database "
        "is unreachable; replayed on recovery and at startup. Sibling files '.replaying' and "
        "'.rejected' are created next to it.",
    )
    batch_size: int = Field(
        default=500, ge=1, le=10_000, description="Rows per batch: one INSERT per table."
    )
    flush_interval_ms: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Longest time a row waits for its batch to fill, in milliseconds.",
    )
    queue_max: int = Field(
        default=50_000,
        ge=1,
        description="Rows buffered in memory before producers wait (backpressure; rows are "
        "never dropped).",
    )
    journal: bool = Field(
        default=True,
        description="Write every accepted audit row to a local write-ahead journal (files "
        "'.journal-<n>' next to spill_path) before the response is sent, so that a killed "
        "process loses no row of its in-memory batch; replayed at the next start. One "
        "write per event-loop turn, no fsync (a killed process's writes survive, a power "
        "loss may cost the last seconds).",
    )
    store_prompts: bool = Field(
        default=False,
        description="Store prompt and completion bodies in request audit rows. Off by "
        "default: only metadata, counts and costs are kept.",
    )
    siem: SiemSinkSettings | None = Field(
        default=None, description="Structured SIEM copy of each event; none when unset."
    )
