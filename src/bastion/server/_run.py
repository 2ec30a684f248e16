"""``bastion serve``: one process, or a supervisor of ``server.workers`` workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace

from pydantic import ValidationError

from bastion.infra.config import (
    ConfigError,
    LoadedProfile,
    ServerSettings,
    validation_message,
)
from bastion.kernel.contract import Extension
from bastion.runtime.boot import boot
from bastion.server._entry import ExtraExtensions
from bastion.server._loop import new_serving_loop
from bastion.server._socket import bind_socket
from bastion.server._spill import adopt_orphan_spills
from bastion.server._supervisor import Supervisor
from bastion.server._uvicorn import serve


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

    Blocks until the server stops. Runs on uvloop, accepting every waiting connection per
    turn (``_loop``); uvicorn's loop setting only applies when uvicorn creates the loop
    itself, and here boot runs on the loop before it serves.
    With several workers it must run in the main thread (it handles SIGINT and SIGTERM),
    the ``__main__`` module must be safe to import (workers are spawned, not forked), and
    ``extra`` extensions must be importable by reference in the workers."""
    loaded = with_server(loaded, host=host, port=port, workers=workers)
    adopt_orphan_spills(loaded.profile.audit.spill_path, loaded.profile.server.workers)
    # The port is taken before anything boots: one that is in use is one error line, and
    # nothing has migrated or announced itself.
    sock = bind_socket(loaded.profile.server.host, loaded.profile.server.port)
    try:
        if loaded.profile.server.workers == 1:
            with asyncio.Runner(loop_factory=new_serving_loop) as runner:
                runner.run(serve(loaded, sock=sock, on_ready=on_ready, extra=extra))
            return
        extensions = tuple(extra)
        with asyncio.Runner(loop_factory=new_serving_loop) as runner:
            runner.run(_migrate_once(loaded, extensions))
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
