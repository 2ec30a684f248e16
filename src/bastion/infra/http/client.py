"""The outbound HTTP client every domain shares: one pooled aiohttp session per user,
and the one reading of its failures as the upstream error family.

A submodule of its own, not re-exported by :mod:`bastion.infra.http`, so that commands
which never call out (the CLI, most of boot) do not pay for importing aiohttp.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from bastion.kernel.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable


def create_http_session(
    *,
    user_agent: str,
    headers: Mapping[str, str] | None = None,
    connect_timeout: float = 10.0,
    read_timeout: float | None = None,
    limit: int = 0,
    limit_per_host: int = 0,
    keepalive_timeout: float = 30.0,
    ttl_dns_cache: int = 60,
    trust_env: bool = False,
) -> aiohttp.ClientSession:
    """A pooled client session. Call inside the running event loop and ``close()`` it on
    shutdown.

    The pool is unbounded by default (0): a long stream holds its connection for
    minutes, so a cap would queue new calls behind old streams with no deadline;
    concurrency is bounded by rate limits instead. Cookies are never stored: a shared
    jar would carry one caller's upstream cookies into the next caller's request.
    ``trust_env`` honours ``HTTPS_PROXY``/``NO_PROXY`` (and ``.netrc``). ``read_timeout``
    bounds each wait for bytes (None: no bound, the caller keeps its own deadline);
    ``headers`` go on every request.
    """
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=limit_per_host,
        keepalive_timeout=keepalive_timeout,
        ttl_dns_cache=ttl_dns_cache,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": user_agent, **(headers or {})},
        timeout=aiohttp.ClientTimeout(sock_connect=connect_timeout, sock_read=read_timeout),
        raise_for_status=False,
        auto_decompress=True,
        trust_env=trust_env,
        json_serialize=_json_text,
        json_serialize_bytes=orjson.dumps,
    )


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def transport_error(
    upstream: str,
    exc: BaseException,
    *,
    connect_timeout: float,
    read_timeout: float,
) -> UpstreamError:
    """What an aiohttp request raised before any answer, as the upstream family's kind:
    no connection or no answer in time is ``UpstreamTimeout``; a URL aiohttp cannot use
    is an ``UpstreamUnavailable`` no retry will cure; any other client or socket error
    (refused, unresolvable, reset) an ``UpstreamUnavailable``. LLM providers and MCP
    servers both read their failures here, so one failure is one kind for both.
    ``read_timeout``: the deadline for the answer to start."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamTimeout(
            upstream, connect_timeout, f"no connection within {connect_timeout:g}s"
        )
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(upstream, read_timeout, f"no response within {read_timeout:g}s")
    if isinstance(exc, aiohttp.InvalidURL):
        return UpstreamUnavailable(
            upstream, f"invalid upstream URL {str(exc.url)!r}", retryable=False
        )
    return UpstreamUnavailable(upstream, describe(exc))


def describe(exc: BaseException) -> str:
    """``Type: message`` of a transport failure, for error details and logs."""
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
