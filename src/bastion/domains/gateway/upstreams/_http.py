"""The outbound HTTP layer: the shared session, and one POST with its failures read as
the kernel's upstream errors (by ``infra.http.client.transport_error``, as MCP servers'
are)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import orjson

from bastion.domains.gateway.upstreams._contract import UpstreamTarget
from bastion.domains.gateway.upstreams._errors import error_message
from bastion.infra.http import client
from bastion.kernel.errors import (
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

ErrorBody = Callable[[int, bytes], bytes]
"""Turns an upstream's non-2xx status and body into an Anthropic error document."""

USER_AGENT = "bastion-gateway"

# What an error response may tell the caller about retrying and tracing.
_ERROR_HEADERS = frozenset({"retry-after", "retry-after-ms", "request-id", "x-request-id"})
_ERROR_HEADER_PREFIXES = ("anthropic-ratelimit-", "x-ratelimit-")


def create_http_session(
    *, limit: int = 0, limit_per_host: int = 0, trust_env: bool = False
) -> aiohttp.ClientSession:
    """The pooled client every provider shares (see
    :func:`bastion.infra.http.client.create_http_session`); a read may stall for up to
    ten minutes, a long generation's pause between tokens."""
    return client.create_http_session(
        user_agent=USER_AGENT,
        read_timeout=600.0,
        limit=limit,
        limit_per_host=limit_per_host,
        trust_env=trust_env,
    )


async def post(
    http: aiohttp.ClientSession,
    url: str,
    *,
    payload: bytes,
    headers: Mapping[str, str],
    target: UpstreamTarget,
    error_body: ErrorBody,
) -> aiohttp.ClientResponse:
    """POST and return a 2xx response whose body is still unread; the caller owns it.

    Any other outcome raises: a non-2xx answer as ``UpstreamRejected`` (its body run
    through ``error_body``), and the connection released either way.
    """
    timeout = aiohttp.ClientTimeout(
        sock_connect=target.connect_timeout_seconds, sock_read=target.timeout_seconds
    )
    try:
        response = await http.post(
            url, data=payload, headers=headers, timeout=timeout, allow_redirects=False
        )
    except (aiohttp.ClientError, OSError) as exc:
        raise client.transport_error(
            target.label,
            exc,
            connect_timeout=target.connect_timeout_seconds,
            read_timeout=target.timeout_seconds,
        ) from exc
    if response.status < 300:
        return response
    try:
        raw = await response.read()
    except (aiohttp.ClientError, OSError):
        raw = b""
    finally:
        response.release()
    raise UpstreamRejected(
        target.label, response.status, error_body(response.status, raw), _error_headers(response)
    )


async def read_body(response: aiohttp.ClientResponse, target: UpstreamTarget) -> bytes:
    """The whole body of a response :func:`post` returned, releasing its connection."""
    try:
        return await response.read()
    except TimeoutError as exc:
        raise UpstreamTimeout(
            target.label,
            target.timeout_seconds,
            f"response body stalled for {target.timeout_seconds:g}s",
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise UpstreamUnavailable(
            target.label,
            f"connection lost before the response was complete ({client.describe(exc)})",
        ) from exc
    finally:
        response.release()


async def expect_stream(response: aiohttp.ClientResponse, target: UpstreamTarget) -> None:
    """Refuse a JSON document in answer to a streaming call (a server that ignored
    ``stream``, or one that reports errors with a 200) before any byte is relayed."""
    if response.content_type == "application/json":
        raw = await read_body(response, target)
        raise invalid_response(
            target, "a JSON document instead of a stream: " + error_message(response.status, raw)
        )


def invalid_response(target: UpstreamTarget, detail: str) -> UpstreamProtocolError:
    """A 2xx answer that is not what the upstream's API promises."""
    return UpstreamProtocolError(target.label, f"returned an invalid response: {detail}")


def json_object(raw: bytes) -> dict[str, Any] | None:
    """``raw`` decoded when it is a JSON object, else None."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _error_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in response.headers.items()
        if name.lower() in _ERROR_HEADERS or name.lower().startswith(_ERROR_HEADER_PREFIXES)
    }
