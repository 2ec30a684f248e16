"""The ASGI entry: ``uvicorn --factory bastion.server:create_app`` and ``bastion serve``.

``bastion serve`` (``run``) is one process, or with ``server.workers`` > 1 a supervisor
and that many worker processes, each a full Bastion (event loop, platform, database
pool, audit writer):

- the supervisor boots once (discover, validate, migrate, bootstrap admin) and closes
  that platform again, so a bad profile is reported once and migrations run once: SQLite
  never sees concurrent migrators;
- it binds the listening socket once and starts every worker with the ``spawn`` start
  method, handing it the socket. A worker boots without migrating (``migrate="verify"``
  refuses a database that is not current) and serves on the shared socket, where the
  kernel hands each new connection to one worker;
- only worker 0 runs scheduled jobs; worker ``i`` > 0 spills audit rows to a file of its
  own (``spill.worker<i>.jsonl`` next to ``audit.spill_path``) so that no two writers
  replay one file. Spill files of workers that no longer exist (``workers`` was lowered)
  are appended to worker 0's before the workers start;
- the supervisor announces the URL once every worker accepts connections, restarts a
  worker that dies (same index, with backoff), and on SIGINT or SIGTERM sends each
  worker SIGTERM and waits until all have drained (in-flight requests answered, audit
  queue flushed). A worker whose supervisor disappears stops the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_any
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType

import structlog
import uvicorn
import uvloop
from pydantic import ValidationError
from starlette.types import ASGIApp

from bastion.infra.config import (
    ConfigError,
    LoadedProfile,
    ServerSettings,
    load_profile,
    validation_message,
)
from bastion.kernel.contract import Extension
from bastion.kernel.errors import BastionError
from bastion.runtime.app import build_app
from bastion.runtime.boot import boot
from bastion.runtime.errors import BootError
from bastion.runtime.logs import configure_process_logging
from bastion.runtime.platform import Platform

log = structlog.get_logger("bastion.server")

STARTUP_FAILURE = 3  # a worker's exit status when it stops before it serves (as uvicorn's)
RESTART_BACKOFF_MAX = 30.0

ExtraExtensions = Iterable[type[Extension] | Extension]


async def create_platform(loaded: LoadedProfile, extra: ExtraExtensions = ()) -> Platform:
    return await boot(loaded, extra=extra)


def create_app(profile_dir: Path | None = None) -> ASGIApp:
    """Boot synchronously (for ``uvicorn --factory``). Readiness flips on first startup."""
    loaded = load_profile(profile_dir)
    configure_process_logging(loaded)
    platform = asyncio.run(create_platform(loaded))
    app = build_app(platform)
    platform.ready = True
    return app


class _Server(uvicorn.Server):
    """Flips readiness only once the listening sockets accept connections."""

    def __init__(
        self,
        config: uvicorn.Config,
        platform: Platform,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.platform = platform
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.platform.ready = True
            if self.on_ready is not None:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                self.on_ready(f"http://{host}:{port}")


class _WorkerServer(_Server):
    """A worker stops on SIGTERM only, gracefully, however often it arrives.

    Ctrl-C in a terminal reaches the whole process group, and the supervisor relays it as
    SIGTERM; a service manager may signal every process itself as well. uvicorn would turn
    a second signal into a forced exit that skips the lifespan shutdown, and with it the
    audit writer's drain."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGINT:
            return
        self.should_exit = True


def _uvicorn_config(
    app: ASGIApp, settings: ServerSettings, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host or settings.host,
        port=settings.port if port is None else port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=settings.access_log,
        log_config=None,
        server_header=False,
    )


async def serve(
    loaded: LoadedProfile,
    *,
    host: str | None = None,
    port: int | None = None,
    on_ready: Callable[[str], None] | None = None,
    extra: ExtraExtensions = (),
) -> None:
    """One process: boot (discover, validate, migrate, mount), then open the listener."""
    platform = await create_platform(loaded, extra)
    config = _uvicorn_config(build_app(platform), loaded.profile.server, host, port)
    await _Server(config, platform, on_ready).serve()


def with_server(
    loaded: LoadedProfile,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> LoadedProfile:
    """The profile with ``server`` settings overridden (``bastion serve --host ...``)."""
    server = loaded.profile.server
    update: dict[str, object] = {}
    if host:
        update["host"] = host
    if port is not None:
        update["port"] = port
    if workers is not None:
        update["workers"] = workers
    if not update:
        return loaded
    try:
        settings = ServerSettings.model_validate({**server.model_dump(), **update})
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, "bastion serve", ("server",))) from None
    return replace(loaded, profile=loaded.profile.model_copy(update={"server": settings}))


def run(
    loaded: LoadedProfile,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    on_ready: Callable[[str], None] | None = None,
    extra: ExtraExtensions = (),
) -> None:
    """``bastion serve``: one process, or a supervisor of ``server.workers`` workers.

    Blocks until the server stops. Runs on uvloop (uvicorn's loop setting only applies
    when uvicorn creates the loop itself, and here boot runs on the loop before it serves).
    With several workers it must run in the main thread (it handles SIGINT and SIGTERM),
    the ``__main__`` module must be safe to import (workers are spawned, not forked), and
    ``extra`` extensions must be importable by reference in the workers."""
    loaded = with_server(loaded, host=host, port=port, workers=workers)
    adopt_orphan_spills(loaded.profile.audit.spill_path, loaded.profile.server.workers)
    if loaded.profile.server.workers == 1:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(loaded, on_ready=on_ready, extra=extra))
        return
    extensions = tuple(extra)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_migrate_once(loaded, extensions))
    sock = bind_socket(loaded.profile.server.host, loaded.profile.server.port)
    try:
        Supervisor(loaded, extensions, sock, on_ready).run()
    finally:
        sock.close()


async def _migrate_once(
    loaded: LoadedProfile, extra: Sequence[type[Extension] | Extension]
) -> None:
    """The supervisor's boot: everything a worker would check, plus the migrations and
    the bootstrap admin, once. The platform is closed again before any worker starts."""
    platform = await boot(loaded, extra=extra)
    await platform.close()


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening socket the workers share (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise BootError("listen", f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


# -- spill files ---------------------------------------------------------------------------

_WORKER_SPILL = re.compile(r"\.worker(\d+)$")


def worker_spill_path(spill_path: Path, index: int) -> Path:
    """Worker 0 keeps ``audit.spill_path`` (so a single-process spill is replayed);
    worker ``i`` spills to ``<stem>.worker<i><suffix>`` next to it."""
    if index == 0:
        return spill_path
    return spill_path.with_name(f"{spill_path.stem}.worker{index}{spill_path.suffix}")


def adopt_orphan_spills(spill_path: Path, workers: int) -> list[Path]:
    """Append the pending spill files of workers ``>= workers`` to worker 0's spill file
    (their rows carry ids, so a row replayed twice is inserted once). Dead letters
    (``.rejected``) stay where they are. Returns the files adopted."""
    folder = spill_path.parent
    if not folder.is_dir():
        return []
    adopted: list[Path] = []
    for pending in sorted(folder.glob(f"{spill_path.stem}.worker*{spill_path.suffix}*")):
        name = pending.name
        segment = name.endswith(f"{spill_path.suffix}.replaying")
        if not segment and not name.endswith(spill_path.suffix):
            continue
        stem = name.removesuffix(".replaying").removesuffix(spill_path.suffix)
        match = _WORKER_SPILL.search(stem)
        if match is None or stem != f"{spill_path.stem}{match[0]}" or int(match[1]) < workers:
            continue
        data = pending.read_bytes()
        if data:
            if not data.endswith(b"\n"):
                data += b"\n"
            fd = os.open(spill_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        pending.unlink()
        adopted.append(pending)
        log.warning("audit spill adopted", path=str(pending), into=str(spill_path))
    return adopted


# -- workers -------------------------------------------------------------------------------


def _worker_main(
    index: int,
    loaded: LoadedProfile,
    extra: tuple[type[Extension] | Extension, ...],
    sock: socket.socket,
    channel: Connection,
) -> None:
    """A worker process (``spawn``): boot without migrating, serve on ``sock``, report to
    the supervisor over ``channel``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor relays Ctrl-C as SIGTERM
    threading.Thread(target=_watch_supervisor, args=(channel,), daemon=True).start()
    audit = loaded.profile.audit
    spill = worker_spill_path(audit.spill_path, index)
    profile = loaded.profile.model_copy(
        update={"audit": audit.model_copy(update={"spill_path": spill})}
    )
    loaded = replace(loaded, profile=profile)
    configure_process_logging(loaded)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve_worker(index, loaded, extra, sock, channel))
    except BastionError as exc:
        _report(channel, ("failed", str(exc)))
        sys.exit(STARTUP_FAILURE)


def _watch_supervisor(channel: Connection) -> None:
    """The supervisor never writes: end of file means it is gone. Stop gracefully."""
    try:
        while True:
            channel.recv_bytes()
    except (EOFError, OSError):
        os.kill(os.getpid(), signal.SIGTERM)


def _report(channel: Connection, message: tuple[str, ...]) -> None:
    with contextlib.suppress(OSError):  # the supervisor is gone; the watcher stops us
        channel.send(message)


async def _serve_worker(
    index: int,
    loaded: LoadedProfile,
    extra: tuple[type[Extension] | Extension, ...],
    sock: socket.socket,
    channel: Connection,
) -> None:
    platform = await boot(loaded, extra=extra, migrate="verify")
    platform.run_jobs = index == 0
    config = _uvicorn_config(build_app(platform), loaded.profile.server)
    server = _WorkerServer(config, platform, lambda _url: _report(channel, ("ready",)))
    await server.serve(sockets=[sock])


@dataclass(slots=True)
class _Worker:
    index: int
    process: SpawnProcess
    channel: Connection  # the supervisor's end; the worker's is closed here once started
    ready: bool = False
    failure: str | None = None
    open: bool = True  # channel not at end of file yet


@dataclass(frozen=True, slots=True)
class _Restart:
    index: int
    due: float


class Supervisor:
    """Starts, watches and stops the worker processes of ``bastion serve --workers N``."""

    def __init__(
        self,
        loaded: LoadedProfile,
        extra: tuple[type[Extension] | Extension, ...],
        sock: socket.socket,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.extra = extra
        self.sock = sock
        self.on_ready = on_ready
        self.count = loaded.profile.server.workers
        self.workers: dict[int, _Worker] = {}
        self._context = multiprocessing.get_context("spawn")
        self._failures: dict[int, int] = {}  # consecutive deaths before serving, per index
        self._restarts: list[_Restart] = []
        self._stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._signals: list[int] = []

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM; raise ``BastionError`` if a worker cannot start."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for index in range(self.count):
                self._start(index)
            if self._await_all_ready():
                log.info("workers ready", workers=self.count, url=self.url)
                if self.on_ready is not None:
                    self.on_ready(self.url)
                self._supervise()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._wake_r.close()
            self._wake_w.close()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals.append(signum)
        with contextlib.suppress(OSError):  # the buffer is full: already awake
            self._wake_w.send(b"\0")

    def _start(self, index: int) -> None:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(index, self.loaded, self.extra, self.sock, theirs),
            name=f"bastion-worker-{index}",
        )
        process.start()
        theirs.close()
        self.workers[index] = _Worker(index, process, ours)
        log.info("worker started", worker=index, pid=process.pid)

    def _wait(self, timeout: float | None) -> None:
        """Block until a worker reports or exits, a signal arrives, or ``timeout``."""
        objects: list[Connection | socket.socket | int] = [self._wake_r]
        for worker in self.workers.values():
            objects.append(worker.process.sentinel)
            if worker.open:
                objects.append(worker.channel)
        ready = wait_any(objects, timeout)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
        for worker in self.workers.values():
            if worker.open and worker.channel in ready:
                self._receive(worker)
        if self._signals:
            self._signals.clear()
            if self._stopping:
                log.warning("already stopping: waiting for the workers to drain")
            self._stopping = True

    def _receive(self, worker: _Worker) -> None:
        try:
            while worker.channel.poll():
                message = worker.channel.recv()
                if message[0] == "ready":
                    worker.ready = True
                    self._failures.pop(worker.index, None)
                elif message[0] == "failed":
                    worker.failure = str(message[1])
        except (EOFError, OSError):
            worker.open = False

    def _exited(self) -> list[_Worker]:
        gone = [w for w in self.workers.values() if w.process.exitcode is not None]
        for worker in gone:
            if worker.open:
                self._receive(worker)  # a failure report may still be in the pipe
            worker.process.join()
            worker.channel.close()
            del self.workers[worker.index]
        return gone

    def _await_all_ready(self) -> bool:
        """True once every worker accepts; False if a signal came first."""
        while not self._stopping:
            for worker in self._exited():
                raise BastionError(worker.failure or _exit_message(worker, "before it served"))
            if all(w.ready for w in self.workers.values()):
                return True
            self._wait(None)
        return False

    def _supervise(self) -> None:
        while not self._stopping:
            for worker in self._exited():
                attempts = self._failures.get(worker.index, 0) + (0 if worker.ready else 1)
                self._failures[worker.index] = attempts
                delay = 0.0 if attempts == 0 else min(RESTART_BACKOFF_MAX, 0.5 * 2**attempts)
                log.error(
                    "worker exited; restarting",
                    worker=worker.index,
                    pid=worker.process.pid,
                    exitcode=worker.process.exitcode,
                    failure=worker.failure,
                    restart_in_s=delay,
                )
                self._restarts.append(_Restart(worker.index, time.monotonic() + delay))
            now = time.monotonic()
            for restart in [r for r in self._restarts if r.due <= now]:
                self._restarts.remove(restart)
                self._start(restart.index)
            due = min((r.due for r in self._restarts), default=None)
            self._wait(None if due is None else max(0.0, due - time.monotonic()))

    def _stop_all(self) -> None:
        """SIGTERM to every worker, then wait for all of them to drain and exit."""
        self._stopping = True
        self._restarts.clear()
        for worker in self.workers.values():
            if worker.process.exitcode is None and worker.process.pid is not None:
                os.kill(worker.process.pid, signal.SIGTERM)
        while self.workers:
            for worker in self._exited():
                if worker.process.exitcode not in (0, None):
                    log.warning(
                        "worker exited while stopping",
                        worker=worker.index,
                        exitcode=worker.process.exitcode,
                        failure=worker.failure,
                    )
            if self.workers:
                self._wait(None)


def _exit_message(worker: _Worker, when: str) -> str:
    code = worker.process.exitcode
    how = f"signal {-code}" if code is not None and code < 0 else f"status {code}"
    return f"worker {worker.index} exited with {how} {when}; see its log above"
