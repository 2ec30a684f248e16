"""Prometheus metrics of the audit pipeline.

Created once, at import, on the default registry: any number of writers and emitters
share them, so building several in one process never registers a name twice.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ROWS_WRITTEN = Counter(
    "bastion_audit_rows_written",
    "Audit rows committed to the database by the batched writer.",
    ["table"],
)
ROWS_SPILLED = Counter(
    "bastion_audit_rows_spilled",
    "Audit rows appended to the local spill file while the database was unreachable.",
    ["table"],
)
ROWS_REPLAYED = Counter(
    "bastion_audit_rows_replayed",
    "Audit rows read back from the spill file and committed to the database.",
    ["table"],
)
ROWS_REJECTED = Counter(
    "bastion_audit_rows_rejected",
    "Audit rows the database refused (bad data); kept in the dead-letter file.",
    ["table"],
)
QUEUE_DEPTH = Gauge(
    "bastion_audit_queue_depth",
    "Rows waiting in the audit writer's queue, sampled at each batch.",
)
FLUSH_SECONDS = Histogram(
    "bastion_audit_flush_seconds",
    "Time to persist one batch (database transaction or spill append).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
SIEM_SENT = Counter(
    "bastion_siem_events_sent",
    "SIEM events delivered to the sink.",
    ["sink"],
)
SIEM_DROPPED = Counter(
    "bastion_siem_events_dropped",
    "SIEM events dropped: 'overflow' (buffer full, oldest first), 'rejected' (the sink "
    "refused them for good), 'redaction' (the redactor failed), 'shutdown' (undelivered "
    "at close).",
    ["sink", "reason"],
)
SIEM_FAILURES = Counter(
    "bastion_siem_delivery_failures",
    "Failed SIEM delivery attempts (each is retried with backoff).",
    ["sink"],
)
