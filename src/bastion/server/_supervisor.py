"""The supervisor of ``bastion serve --workers N``: starts the worker processes on the
shared socket, announces the URL once all accept, restarts a worker that dies (same
index, with backoff) and stops them all gracefully on SIGINT or SIGTERM."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_any
from multiprocessing.context import SpawnProcess
from types import FrameType

import structlog

from bastion.infra.config import LoadedProfile
from bastion.kernel.contract import Extension
from bastion.kernel.errors import BastionError
from bastion.server._worker import worker_main

log = structlog.get_logger("bastion.server")

RESTART_BACKOFF_MAX = 30.0


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
            target=worker_main,
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
