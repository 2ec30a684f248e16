"""A worker process of ``bastion serve --workers N``, started by the supervisor with the
``spawn`` start method: ``worker_main`` is its target, importable by reference."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import threading
from dataclasses import replace
from multiprocessing.connection import Connection

from bastion.infra.config import LoadedProfile
from bastion.kernel.contract import Extension
from bastion.kernel.errors import BastionError
from bastion.runtime.app import booted_app
from bastion.runtime.logs import configure_process_logging
from bastion.server._loop import new_serving_loop
from bastion.server._spill import worker_spill_path
from bastion.server._uvicorn import WorkerServer, uvicorn_config

STARTUP_FAILURE = 3  # a worker's exit status when it stops before it serves (as uvicorn's)


def worker_main(
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
        with asyncio.Runner(loop_factory=new_serving_loop) as runner:
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
    platform, app = await booted_app(loaded, extra=extra, migrate="verify")
    platform.run_jobs = index == 0
    config = uvicorn_config(app, loaded.profile.server)
    server = WorkerServer(config, platform, lambda _url: _report(channel, ("ready",)))
    await server.serve(sockets=[sock])
