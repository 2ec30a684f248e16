"""The Gemini API (``generateContent`` and ``streamGenerateContent``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from bastion.domains.gateway.translate import (
    GeminiToAnthropicSSE,
    GeminiUsageTap,
    anthropic_request_to_gemini,
    gemini_endpoint,
    gemini_response_to_anthropic,
    usage_from_gemini,
)
from bastion.domains.gateway.upstreams._answer import Decoded, answer
from bastion.domains.gateway.upstreams._codecs import TranslatedStream
from bastion.domains.gateway.upstreams._contract import (
    MessagesCall,
    UpstreamResponse,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.domains.gateway.upstreams._errors import translated_error
from bastion.domains.gateway.upstreams._http import post
from bastion.domains.gateway.upstreams._provider import HttpProvider
from bastion.domains.gateway.upstreams._request import dumps, model_of, with_extra


class GeminiUpstream(HttpProvider):
    """Translates each call to Gemini and the answer back to Anthropic. ``endpoint`` is
    the host's base URL (``https://generativelanguage.googleapis.com``); a trailing
    ``/v1beta`` is tolerated. Gemini has no Anthropic-compatible token count, so
    ``count_tokens`` answers None and the gateway estimates."""

    async def _messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream:
        model = model_of(call.body, target).removeprefix("models/")
        request = anthropic_request_to_gemini(call.body)
        headers = {"content-type": "application/json"}
        if target.api_key:
            headers["x-goog-api-key"] = target.api_key
        base = self._url(target, "").removesuffix("/v1beta")
        response = await post(
            self._http,
            base + gemini_endpoint(model, stream=call.stream),
            payload=dumps(request),
            headers=with_extra(headers, target),
            target=target,
            error_body=translated_error,
        )
        return await answer(
            response,
            target,
            stream=call.stream,
            codec=lambda: TranslatedStream(GeminiToAnthropicSSE(model=model), GeminiUsageTap()),
            decode=lambda document, _: _decoded(document, model),
        )


def _decoded(document: dict[str, Any], model: str) -> Decoded:
    message = gemini_response_to_anthropic(document, model=model)
    version = document.get("modelVersion")
    metadata = document.get("usageMetadata")
    return Decoded(
        orjson.dumps(message),
        usage_from_gemini(metadata if isinstance(metadata, Mapping) else None),
        version if isinstance(version, str) else model,
    )
