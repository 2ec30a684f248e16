"""Upstreams that speak the Anthropic Messages API: Anthropic itself, MiniMax."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from bastion.domains.gateway.translate import usage_from_anthropic
from bastion.domains.gateway.upstreams._answer import Decoded, answer, string
from bastion.domains.gateway.upstreams._codecs import AnthropicPassthrough
from bastion.domains.gateway.upstreams._contract import (
    MessagesCall,
    UpstreamResponse,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.domains.gateway.upstreams._errors import passthrough_error
from bastion.domains.gateway.upstreams._http import invalid_response, json_object, post, read_body
from bastion.domains.gateway.upstreams._provider import HttpProvider
from bastion.domains.gateway.upstreams._request import dumps, forwarded, streaming_body, with_extra


class AnthropicUpstream(HttpProvider):
    """Passthrough: the body goes out as the gateway received it (model already
    rewritten) and the answer comes back byte for byte, streams included, with usage
    read on the side. ``endpoint`` is the base URL, as the Anthropic SDK's ``base_url``."""

    async def _messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream:
        response = await self._post(
            "/v1/messages", streaming_body(call.body, call.stream), target, call.forward_headers
        )
        return await answer(
            response, target, stream=call.stream, codec=AnthropicPassthrough, decode=_decoded
        )

    async def _count_tokens(
        self,
        body: Mapping[str, Any],
        target: UpstreamTarget,
        forward_headers: Mapping[str, str] | None,
    ) -> int | None:
        response = await self._post("/v1/messages/count_tokens", body, target, forward_headers)
        counted = json_object(await read_body(response, target))
        tokens = counted.get("input_tokens") if counted is not None else None
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            raise invalid_response(target, "expected input_tokens")
        return tokens

    async def _post(
        self,
        path: str,
        body: Mapping[str, Any],
        target: UpstreamTarget,
        forward_headers: Mapping[str, str] | None,
    ) -> aiohttp.ClientResponse:
        headers = forwarded(forward_headers)
        headers["content-type"] = "application/json"
        if target.api_key:
            headers["x-api-key"] = target.api_key
        return await post(
            self._http,
            self._url(target, path),
            payload=dumps(body),
            headers=with_extra(headers, target),
            target=target,
            error_body=passthrough_error,
        )


def _decoded(message: dict[str, Any], raw: bytes) -> Decoded:
    """The body as it came, its usage and model read on the side."""
    usage = usage_from_anthropic(_mapping(message.get("usage")))
    return Decoded(raw, usage, string(message.get("model")))


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None
