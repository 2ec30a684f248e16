"""Upstream error documents in Anthropic's shape."""

from __future__ import annotations

import orjson
import pytest

from bastion.domains.gateway.upstreams._errors import (
    anthropic_error_type,
    passthrough_error,
    translated_error,
)


def _error(raw: bytes) -> object:
    document = orjson.loads(raw)
    assert document["type"] == "error"
    return document["error"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (409, "invalid_request_error"),
        (413, "request_too_large"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "api_error"),
        (529, "overloaded_error"),
    ],
)
def test_the_error_type_follows_the_status(status: int, kind: str) -> None:
    assert anthropic_error_type(status) == kind


def test_an_anthropic_document_passes_through_untouched() -> None:
    raw = b'{"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}'
    assert passthrough_error(400, raw) is raw


def test_a_foreign_document_from_an_anthropic_endpoint_is_rewritten() -> None:
    raw = b"<html><body>502 Bad Gateway</body></html>"
    assert _error(passthrough_error(502, raw)) == {
        "type": "api_error",
        "message": "upstream answered 502: <html><body>502 Bad Gateway</body></html>",
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b'{"error": {"message": "Incorrect API key", "type": "invalid_request_error",'
            b' "code": "invalid_api_key"}}',
            "Incorrect API key",
        ),
        (
            b'[{"error": {"code": 400, "message": "bad schema", "status": "INVALID_ARGUMENT"}}]',
            "bad schema",
        ),
        (b'{"error": "model not loaded"}', "model not loaded"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b"", "upstream answered 400 with an empty body"),
        (b"x" * 300, "upstream answered 400: " + "x" * 200 + "..."),
    ],
    ids=["openai", "gemini-list", "string-error", "detail", "empty", "long-text"],
)
def test_foreign_documents_keep_their_message(raw: bytes, message: str) -> None:
    assert _error(translated_error(400, raw)) == {
        "type": "invalid_request_error",
        "message": message,
    }
