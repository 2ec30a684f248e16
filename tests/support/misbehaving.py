"""A bare HTTP server on loopback that answers every POST the way a test sets: the
misbehaviour no provider fake or MCP fake ever shows (pages, bad JSON, stalls)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answering(body: bytes, content_type: str = "application/json", status: int = 200) -> Answer:
    """An answer of ``body``, after reading the request."""

    async def answer(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type=content_type)

    return answer


@dataclass
class Misbehaving:
    url: str
    answer: Answer


@asynccontextmanager
async def misbehaving_server() -> AsyncIterator[Misbehaving]:
    state = Misbehaving("", answering(b""))

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        return await state.answer(request)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()
