"""The deadline of the governance evaluation running now, for long scans to watch.

The engine sets ``deadline_ns`` (a ``time.perf_counter_ns`` value) just before it calls
each stage; a stage is synchronous up to its first ``await``, so while a long scan runs
no other evaluation can move it. A scan that works in chunks calls ``check`` between
them and stops with ``BudgetExceeded``, which the engine turns into its time-budget deny
(not an internal error). Outside an evaluation the deadline is "never".
"""

from __future__ import annotations

import time
from typing import Final

NEVER: Final = 1 << 62
deadline_ns: int = NEVER


class BudgetExceeded(Exception):
    """The evaluation's time budget ran out inside a stage."""


def check() -> None:
    if time.perf_counter_ns() > deadline_ns:
        raise BudgetExceeded
