"""The one tail every HTTP provider ends its ``messages`` call with.

After a 2xx ``post``: a streaming call is relayed through the provider's codec; any
other reads the whole body, checks it is a JSON object of the upstream's API, and
decodes it into an Anthropic message. A body that is not one, or that cannot be
translated, is the upstream's fault: an ``UpstreamProtocolError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import aiohttp

from bastion.domains.gateway.translate import TranslationError, Usage
from bastion.domains.gateway.upstreams._codecs import StreamCodec
from bastion.domains.gateway.upstreams._contract import (
    UpstreamResponse,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.domains.gateway.upstreams._errors import error_message
from bastion.domains.gateway.upstreams._http import invalid_response, json_object, read_body
from bastion.domains.gateway.upstreams._relay import relay


class Decoded(NamedTuple):
    """A complete answer in Anthropic's terms (the status is the upstream's)."""

    body: bytes
    usage: Usage
    model: str | None


Decode = Callable[[dict[str, Any], bytes], Decoded | None]
"""The upstream's JSON document (and its raw bytes) to an Anthropic answer; None when the
document is not an answer of the upstream's API. May raise ``TranslationError``."""


async def answer(
    response: aiohttp.ClientResponse,
    target: UpstreamTarget,
    *,
    stream: bool,
    codec: Callable[[], StreamCodec],
    decode: Decode,
) -> UpstreamResponse | UpstreamStream:
    """The answer to a call whose ``post`` returned ``response`` (a 2xx, body unread)."""
    if stream:
        return await relay(response, codec(), target)
    raw = await read_body(response, target)
    document = json_object(raw)
    decoded = None if document is None else _decoded(decode, document, raw, target)
    if decoded is None:
        raise invalid_response(target, error_message(response.status, raw))
    return UpstreamResponse(
        status=response.status, body=decoded.body, usage=decoded.usage, model=decoded.model
    )


def string(value: object) -> str | None:
    """``value`` when the upstream sent a string, else None."""
    return value if isinstance(value, str) else None


def _decoded(
    decode: Decode, document: dict[str, Any], raw: bytes, target: UpstreamTarget
) -> Decoded | None:
    try:
        return decode(document, raw)
    except TranslationError as exc:
        raise invalid_response(target, str(exc)) from exc
