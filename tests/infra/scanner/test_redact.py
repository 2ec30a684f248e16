"""Redaction: previews keep only a public prefix, and the raw secret never survives."""

from __future__ import annotations

import dataclasses

from bastion.infra.scanner import Finding, SecretScanner
from bastion.infra.scanner._redact import preview


def test_preview_keeps_the_public_prefix_and_names_the_pattern() -> None:
    assert preview("sk-ant-api03-" + "x" * 95, 13, "anthropic-api-key") == (
        "sk-ant-api03-[REDACTED:anthropic-api-key]"
    )
    assert preview("hunter2!", 0, "generic-password") == "[REDACTED:generic-password]"


def test_preview_never_keeps_more_than_half() -> None:
    assert preview("abcdef", 13, "x") == "abc[REDACTED:x]"


def test_redaction_never_contains_the_raw_secret(positive, scanner: SecretScanner) -> None:
    redacted, findings = scanner.redact_text(positive.text)
    assert positive.secret not in redacted
    for finding in findings:
        assert positive.secret not in repr(finding)
        assert positive.secret not in str(dataclasses.astuple(finding))
    assert "[REDACTED:" in redacted


def test_redact_text_replaces_exactly_the_spans(scanner: SecretScanner) -> None:
    token = "np" + "m_" + "Zq8XbP2mR7tY4wK9vN3sL6hJ1gF5dC0aQw2E"
    text = f"a {token} b password='Hunter2!x' c"
    redacted, findings = scanner.redact_text(text)
    assert redacted == "a npm_[REDACTED:npm-token] b password='[REDACTED:generic-password]' c"
    assert [text[f.start : f.end] for f in findings] == [token, "Hunter2!x"]


def test_findings_hold_no_field_for_the_raw_match() -> None:
    names = {field.name for field in dataclasses.fields(Finding)}
    assert names == {
        "pattern_id",
        "path",
        "start",
        "end",
        "redacted",
        "confidence",
        "source",
        "in_key",
    }


def test_clean_text_comes_back_unchanged(scanner: SecretScanner) -> None:
    text = "nothing to see here, just a normal sentence about tokens and passwords."
    assert scanner.redact_text(text) == (text, [])
