"""An extension with one frequent job that notes which process ran each tick.

Importable by reference, so ``bastion.server.run(..., extra=[TickerExtension])`` can hand
it to spawned workers. Each run appends ``<pid>`` to the file named by ``TICKER_FILE``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from bastion.extension import Extension, ExtensionContext, ExtensionMeta, Job

TICKER_FILE = "BASTION_TEST_TICKER_FILE"
INTERVAL = "every 200ms"


async def tick(_: ExtensionContext) -> None:
    with Path(os.environ[TICKER_FILE]).open("a") as handle:
        handle.write(f"{os.getpid()}\n")


class TickerExtension(Extension):
    meta = ExtensionMeta(id="ticker", version="1.0.0", description="test: a frequent job")

    def jobs(self) -> Sequence[Job]:
        return [Job("tick", INTERVAL, tick)]
