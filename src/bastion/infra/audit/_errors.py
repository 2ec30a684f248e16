"""Audit pipeline exceptions.

The tree::

    BastionError
    └── AuditError                  the audit pipeline refused a call
        ├── AuditQueueFull          submit() found the bounded queue full; await write() instead
        ├── AuditClosedError        the writer is not started, or is closing or closed
        ├── UnknownAuditTable       the table was not registered with the writer
        └── SiemDeliveryError       a SIEM sink could not take a batch; the emitter retries it
            └── SiemRejected        the sink refused the batch for good; the emitter drops it

Database outages are never raised to callers: rows spill to disk and are replayed. The
SIEM errors are raised by sinks and handled by ``SiemEmitter``.
"""

from __future__ import annotations

from bastion.kernel.errors import BastionError


class AuditError(BastionError):
    """Base of every error the audit pipeline raises."""


class AuditQueueFull(AuditError):
    def __init__(self, queue_max: int) -> None:
        super().__init__(
            f"audit queue is full ({queue_max} rows); await AuditWriter.write() to wait for room"
        )
        self.queue_max = queue_max


class AuditClosedError(AuditError):
    def __init__(self, state: str) -> None:
        super().__init__(f"audit writer is {state}")
        self.state = state


class UnknownAuditTable(AuditError):
    def __init__(self, table: str) -> None:
        super().__init__(
            f"table '{table}' is not registered with this audit writer; "
            "pass it in tables= or call register_table() before start()"
        )
        self.table = table


class SiemDeliveryError(AuditError):
    def __init__(self, sink: str, reason: str) -> None:
        super().__init__(f"SIEM sink '{sink}' failed: {reason}")
        self.sink = sink
        self.reason = reason


class SiemRejected(SiemDeliveryError):
    pass
