from __future__ import annotations

import asyncio

import typer
import uvloop

from bastion.cli._common import err, fail, loaded_profile
from bastion.infra.config import BUILTIN_DIR
from bastion.kernel.errors import BastionError
from bastion.runtime.logs import configure_process_logging
from bastion.server import serve as serve_app


def serve(
    host: str | None = typer.Option(None, "--host", help="Override server.host."),
    port: int | None = typer.Option(None, "--port", help="Override server.port."),
) -> None:
    """Boot (discover, validate, migrate, mount) and serve."""
    try:
        loaded = loaded_profile()
        configure_process_logging(loaded)
    except BastionError as exc:
        raise fail(str(exc)) from None

    def announce(url: str) -> None:
        err.print(f"Bastion serving {url} with the {loaded.source}", highlight=False)
        if loaded.builtin:
            err.print(
                f"  admin token:  bastion admin tokens issue admin   (data in {BUILTIN_DIR}/)",
                highlight=False,
            )
        err.print(f"  health:       curl {url}/api/v1/health", highlight=False)

    try:
        # uvloop for the whole process: uvicorn's loop setting only applies when uvicorn
        # creates the loop itself, and here boot runs on the loop before it serves.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve_app(loaded, host=host, port=port, on_ready=announce))
    except BastionError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass
