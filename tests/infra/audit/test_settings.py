from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import (
    AuditSettings,
    AuditWriter,
    FileSink,
    HttpSink,
    SiemEmitter,
    SiemSinkSettings,
    StdoutSink,
)


@pytest.mark.parametrize("model", [AuditSettings, SiemSinkSettings])
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    assert all(field.description for field in model.model_fields.values())


def test_defaults_and_embedded_siem_block() -> None:
    settings = AuditSettings.model_validate(
        {"siem": {"type": "file", "path": "/var/log/bastion/siem.jsonl"}}
    )
    assert settings.batch_size == 500
    assert settings.flush_interval_ms == 20
    assert settings.store_prompts is False
    assert settings.siem is not None
    assert settings.siem.path == Path("/var/log/bastion/siem.jsonl")
    assert AuditSettings().siem is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"batch_sise": 10}, "Extra inputs are not permitted"),
        ({"siem": {"type": "stdout", "tokn": "x"}}, "Extra inputs are not permitted"),
        ({"siem": {"type": "file"}}, "path is required"),
        ({"siem": {"type": "http", "format": "json"}}, "http(s) URL"),
        ({"siem": {"type": "http", "url": "https://splunk:8088/x"}}, "token_secret is required"),
        ({"siem": {"type": "syslog"}}, "'stdout', 'file' or 'http'"),
        ({"batch_size": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_settings_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AuditSettings.model_validate(data)
    assert message in str(caught.value)


async def test_settings_build_the_writer_and_emitters(tmp_path: Path, engine: AsyncEngine) -> None:
    settings = AuditSettings(spill_path=tmp_path / "spill.jsonl", batch_size=7, queue_max=9)
    async with AuditWriter.from_settings(engine, settings) as writer:
        assert writer.spill_path == tmp_path / "spill.jsonl"
    file = SiemEmitter.from_settings(SiemSinkSettings(type="file", path=tmp_path / "s.jsonl"))
    assert isinstance(file.sink, FileSink)
    assert isinstance(SiemEmitter.from_settings(SiemSinkSettings(type="stdout")).sink, StdoutSink)
    hec = SiemSinkSettings(type="http", url="http://127.0.0.1:1/e", token_secret="hec")
    with pytest.raises(ValueError, match="needs a token"):
        SiemEmitter.from_settings(hec)
    http = SiemEmitter.from_settings(hec, token="resolved")
    assert isinstance(http.sink, HttpSink)
    await http.close()
