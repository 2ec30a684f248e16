"""An upstream's streaming response, relayed chunk by chunk as it arrives."""

from __future__ import annotations

import asyncio
from typing import Self

import aiohttp

from bastion.domains.gateway.translate import Usage
from bastion.domains.gateway.upstreams._codecs import StreamCodec
from bastion.domains.gateway.upstreams._contract import UpstreamTarget
from bastion.domains.gateway.upstreams._http import expect_stream
from bastion.kernel.errors import UpstreamStreamError

_ENDED_EARLY = "upstream closed the stream before message_stop"
_TIMED_OUT = "upstream read timed out mid-stream"
_CONNECTION_LOST = "upstream connection lost mid-stream"


async def relay(
    response: aiohttp.ClientResponse, codec: StreamCodec, target: UpstreamTarget
) -> RelayStream:
    """The stream of a 2xx response to a streaming call."""
    await expect_stream(response, target)
    return RelayStream(response, codec, target.label)


class RelayStream:
    """An ``UpstreamStream`` over an open aiohttp response.

    An async iterator itself rather than an async generator, so that the connection is
    released the moment the stream ends, fails or is closed, never at some later garbage
    collection.
    """

    __slots__ = ("_codec", "_done", "_label", "_pending", "_response", "usage")

    def __init__(self, response: aiohttp.ClientResponse, codec: StreamCodec, label: str) -> None:
        self._response = response
        self._codec = codec
        self._label = label
        self._done = False
        self._pending: UpstreamStreamError | None = None
        self.usage = Usage()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        while not self._done:
            try:
                chunk = await self._response.content.readany()
            except asyncio.CancelledError:
                self._close()
                raise
            except TimeoutError as exc:
                return self._end(_TIMED_OUT, exc)
            except (aiohttp.ClientError, OSError) as exc:
                return self._end(_CONNECTION_LOST, exc)
            if not chunk:
                return self._end(_ENDED_EARLY, None)
            out = self._codec.feed(chunk)
            if out:
                return out
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._pending = None
        if not self._done:
            self._close()

    def _end(self, reason: str, exc: BaseException | None) -> bytes:
        """Finish the codec; return its tail, leaving any failure for the next call, or
        raise at once when there is no tail."""
        self._done = True
        if exc is None:
            self._response.release()
        else:
            self._response.close()
        tail, failure = self._codec.finish(reason)
        self.usage = self._codec.usage
        if failure is not None:
            message = failure if failure == reason else f"{failure} ({reason})"
            if exc is not None:
                message = f"{message}: {type(exc).__name__}: {exc}"
            error = UpstreamStreamError(self._label, message)
            error.__cause__ = exc
            if not tail:
                raise error
            self._pending = error
        if not tail:
            raise StopAsyncIteration
        return tail

    def _close(self) -> None:
        self._done = True
        self._response.close()
        self.usage = self._codec.usage
