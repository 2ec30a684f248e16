from __future__ import annotations

import typer

from bastion.cli._common import err, fail, loaded_profile
from bastion.infra.config import BUILTIN_DIR
from bastion.kernel.errors import BastionError
from bastion.runtime.logs import configure_process_logging
from bastion.server import run


def serve(
    host: str | None = typer.Option(None, "--host", help="Override server.host."),
    port: int | None = typer.Option(None, "--port", help="Override server.port."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Override server.workers (worker processes)."
    ),
) -> None:
    """Boot (discover, validate, migrate, mount) and serve."""
    try:
        loaded = loaded_profile()
        configure_process_logging(loaded)
    except BastionError as exc:
        raise fail(str(exc)) from None
    count = loaded.profile.server.workers if workers is None else workers

    def announce(url: str) -> None:
        processes = f" ({count} workers)" if count > 1 else ""
        err.print(f"Bastion serving {url} with the {loaded.source}{processes}", highlight=False)
        if loaded.builtin:
            err.print(
                f"  admin token:  bastion admin tokens issue admin   (data in {BUILTIN_DIR}/)",
                highlight=False,
            )
        err.print(f"  health:       curl {url}/api/v1/health", highlight=False)

    try:
        run(loaded, host=host, port=port, workers=workers, on_ready=announce)
    except BastionError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass
