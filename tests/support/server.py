from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from bastion.infra.config import load_profile
from bastion.kernel.contract import Extension
from bastion.runtime.app import build_app
from bastion.runtime.boot import boot
from bastion.runtime.platform import Platform

T = TypeVar("T")


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, platform: Platform) -> None:
        super().__init__(config)
        self.platform = platform

    async def startup(self, sockets: object = None) -> None:
        await super().startup(sockets)  # type: ignore[arg-type]
        if self.started:
            self.platform.ready = True

    def install_signal_handlers(self) -> None:  # the test thread owns no signals
        return None


class ServerThread:
    """Boot Bastion from a profile and serve it on 127.0.0.1:<free port> in a thread
    with its own event loop, as a separate process would."""

    def __init__(self, profile_dir: Path, extra: Iterable[type[Extension] | Extension] = ()):
        self.profile_dir = profile_dir
        self.extra = list(extra)
        self.platform: Platform | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._started.set()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run ``coro`` on the server's own event loop (where its services live, as a
        domain calling another in process would) and return its result."""
        assert self.loop is not None, "the server is not running"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        loaded = load_profile(self.profile_dir)
        self.platform = await boot(loaded, extra=self.extra)
        app = build_app(self.platform)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="on", log_config=None, access_log=False
        )
        self._server = _Server(config, self.platform)
        serve = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if serve.done():
                await serve
                raise RuntimeError("server stopped during startup")
            await asyncio.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        self._started.set()
        await serve

    def start(self) -> ServerThread:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)


@contextmanager
def running_server(
    profile_dir: Path, extra: Iterable[type[Extension] | Extension] = ()
) -> Iterator[ServerThread]:
    server = ServerThread(profile_dir, extra).start()
    try:
        yield server
    finally:
        server.stop()
