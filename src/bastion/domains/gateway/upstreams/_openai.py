"""Upstreams that speak OpenAI Chat Completions: OpenAI, Moonshot, Qwen (DashScope)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import aiohttp
import orjson

from bastion.domains.gateway.translate import (
    OpenAIToAnthropicSSE,
    OpenAIUsageTap,
    Usage,
    anthropic_request_to_openai,
    openai_response_to_anthropic,
    usage_from_openai,
)
from bastion.domains.gateway.upstreams._answer import Decoded, answer, string
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
from bastion.domains.gateway.upstreams._request import dumps, streaming_body, with_extra


class OpenAICompatibleUpstream(HttpProvider):
    """Translates each call to ``/chat/completions`` and the answer back to Anthropic.
    ``endpoint`` is the base URL including the version, as the OpenAI SDK's ``base_url``
    (``https://api.openai.com/v1``). ``max_tokens_field`` names the output limit the
    server understands: OpenAI's reasoning models accept only ``max_completion_tokens``,
    most compatible servers only ``max_tokens``."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        name: str,
        default_endpoint: str,
        max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
    ) -> None:
        super().__init__(http, name=name, default_endpoint=default_endpoint)
        self._max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = max_tokens_field

    async def _messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream:
        request = anthropic_request_to_openai(
            streaming_body(call.body, call.stream), max_tokens_field=self._max_tokens_field
        )
        headers = {"content-type": "application/json"}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        response = await post(
            self._http,
            self._url(target, "/chat/completions"),
            payload=dumps(request),
            headers=with_extra(headers, target),
            target=target,
            error_body=translated_error,
        )
        return await answer(response, target, stream=call.stream, codec=_codec, decode=_decoded)


def _codec() -> TranslatedStream:
    return TranslatedStream(OpenAIToAnthropicSSE(), OpenAIUsageTap())


def _decoded(completion: dict[str, Any], raw: bytes) -> Decoded | None:
    if "choices" not in completion:
        return None
    message = openai_response_to_anthropic(completion)
    return Decoded(orjson.dumps(message), _usage(completion), string(completion.get("model")))


def _usage(completion: Mapping[str, Any]) -> Usage:
    usage = completion.get("usage")
    if not usage:
        # Moonshot puts usage on the choice.
        choices = completion.get("choices") or ()
        usage = choices[0].get("usage") if choices and isinstance(choices[0], Mapping) else None
    return usage_from_openai(usage if isinstance(usage, Mapping) else None)
