"""The two wire formats callers speak. The gateway works in Anthropic Messages; an
``Ingress`` converts a caller's request in and the answer (and errors) back out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import orjson

from bastion.domains.gateway._schema import SchemaError, check_anthropic_messages, check_openai_chat
from bastion.domains.gateway.translate import (
    AnthropicToOpenAISSE,
    StreamTranslator,
    TranslationError,
    anthropic_response_to_openai,
    openai_request_to_anthropic,
)
from bastion.infra.http import error_body
from bastion.kernel.contract import ErrorStyle

FORWARDED_HEADERS = (b"anthropic-version", b"anthropic-beta")
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"


def forwarded_headers(raw: Iterable[tuple[bytes, bytes]] = ()) -> dict[str, str]:
    """What of a caller's headers (ASGI pairs) may go upstream: ``anthropic-version``
    (the default when absent) and ``anthropic-beta``, nothing else."""
    forwarded = {"anthropic-version": DEFAULT_ANTHROPIC_VERSION}
    for name, value in raw:
        if name in FORWARDED_HEADERS:
            forwarded[name.decode()] = value.decode("latin-1")
    return forwarded


class RequestError(ValueError):
    """The caller's request is malformed; answered with 400."""


class Ingress(Protocol):
    name: str
    style: ErrorStyle

    def to_anthropic(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def response(self, anthropic_body: bytes, requested_model: str) -> bytes: ...

    def stream_translator(
        self, body: Mapping[str, Any], requested_model: str
    ) -> StreamTranslator | None: ...

    def upstream_error(self, status: int, anthropic_error: bytes) -> bytes: ...


class AnthropicIngress:
    name = "anthropic"
    style = ErrorStyle.ANTHROPIC

    def to_anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            check_anthropic_messages(body)
        except SchemaError as exc:
            raise RequestError(str(exc)) from None
        return body

    def response(self, anthropic_body: bytes, requested_model: str) -> bytes:
        return anthropic_body

    def stream_translator(
        self, body: Mapping[str, Any], requested_model: str
    ) -> StreamTranslator | None:
        return None

    def upstream_error(self, status: int, anthropic_error: bytes) -> bytes:
        return anthropic_error


class OpenAIIngress:
    name = "openai"
    style = ErrorStyle.OPENAI

    def to_anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            check_openai_chat(body)
            return openai_request_to_anthropic(body)
        except (SchemaError, TranslationError) as exc:
            raise RequestError(str(exc)) from None

    def response(self, anthropic_body: bytes, requested_model: str) -> bytes:
        return orjson.dumps(
            anthropic_response_to_openai(orjson.loads(anthropic_body), model=requested_model)
        )

    def stream_translator(
        self, body: Mapping[str, Any], requested_model: str
    ) -> StreamTranslator | None:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return AnthropicToOpenAISSE(include_usage=include_usage, model=requested_model)

    def upstream_error(self, status: int, anthropic_error: bytes) -> bytes:
        message = f"upstream answered {status}"
        try:
            doc = orjson.loads(anthropic_error)
            inner = doc.get("error") if isinstance(doc, dict) else None
            if isinstance(inner, dict) and isinstance(inner.get("message"), str):
                message = inner["message"]
        except orjson.JSONDecodeError:
            pass
        return error_body(ErrorStyle.OPENAI, status, message)


ANTHROPIC = AnthropicIngress()
OPENAI = OpenAIIngress()
