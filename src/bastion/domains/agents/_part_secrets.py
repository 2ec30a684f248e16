"""Secrets in A2A messages and artifacts, found and redacted part by part.

What is scanned is what a reader sees: a text part's text, a data part's JSON, a file
part's name and URL, the inline bytes of a textual file (``raw`` with a ``text/*``,
JSON or XML media type, decoded), and the metadata of parts, messages and artifacts.
The inline bytes of any other file are not: base64 of an image or a PDF looks like one
long random token to the entropy check, and redacting it would only corrupt the file.
Ids (``messageId``, ``artifactId``, ``taskId``) are left alone, so a redaction never
breaks the chunks of an artifact apart.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from bastion.infra.scanner import Finding, SecretScanner

_PART_FIELDS = ("text", "data", "url", "filename", "metadata")
_MESSAGE_FIELDS = ("metadata",)
_ARTIFACT_FIELDS = ("name", "description", "metadata")
_TEXT_MEDIA = ("application/json", "application/xml")


def redact_message(
    scanner: SecretScanner, message: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Finding]]:
    """A copy of ``message`` with the secrets of its parts and metadata redacted."""
    return _redact(scanner, message, _MESSAGE_FIELDS)


def redact_artifact(
    scanner: SecretScanner, artifact: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Finding]]:
    """A copy of ``artifact`` with the secrets of its parts, name, description and
    metadata redacted."""
    return _redact(scanner, artifact, _ARTIFACT_FIELDS)


def _redact(
    scanner: SecretScanner, value: Mapping[str, Any], fields: tuple[str, ...]
) -> tuple[dict[str, Any], list[Finding]]:
    out = dict(value)
    findings = _redact_fields(scanner, out, fields)
    parts = value.get("parts")
    if isinstance(parts, list):
        redacted_parts = []
        for part in parts:
            if isinstance(part, Mapping):
                copy = dict(part)
                findings += _redact_fields(scanner, copy, _PART_FIELDS)
                findings += _redact_inline(scanner, copy)
                redacted_parts.append(copy)
            else:
                redacted_parts.append(part)
        out["parts"] = redacted_parts
    return out, findings


def _redact_fields(
    scanner: SecretScanner, target: dict[str, Any], fields: tuple[str, ...]
) -> list[Finding]:
    """Redact ``fields`` of ``target`` in place, in one scan."""
    present = {name: target[name] for name in fields if name in target}
    if not present:
        return []
    redacted, findings = scanner.redact_json(present)
    if findings and isinstance(redacted, dict):
        target.update(redacted)
    return findings


def _redact_inline(scanner: SecretScanner, part: dict[str, Any]) -> list[Finding]:
    raw = part.get("raw")
    media = str(part.get("mediaType") or "")
    if not isinstance(raw, str) or not (media.startswith("text/") or media in _TEXT_MEDIA):
        return []
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return []  # not text after all: left as it is, like any other file
    redacted, findings = scanner.redact_text(text)
    if findings:
        part["raw"] = base64.b64encode(redacted.encode("utf-8")).decode("ascii")
    return findings
