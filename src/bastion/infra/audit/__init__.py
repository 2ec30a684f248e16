"""The lossless audit pipeline and its SIEM copy.

``AuditWriter`` batches rows into the audit tables off the hot path; when the database is
unreachable they spill to a local file and are replayed on recovery, so none is lost.
``SiemEmitter`` delivers a redacted, structured copy of each event to stdout, a file or an
HTTP collector (Splunk HEC or a JSON array). ``AuditTrail`` records a governance decision
or an administrative action through both. Every audit table, an extension's included,
builds its principal columns with ``principal_columns()`` and their values with
``principal_row()``.
"""

from bastion.infra.audit._errors import (
    AuditClosedError,
    AuditError,
    AuditQueueFull,
    SiemDeliveryError,
    SiemRejected,
    UnknownAuditTable,
)
from bastion.infra.audit._points import POINT_OF_TABLE, POINTS, trace_points
from bastion.infra.audit._principal import (
    PRINCIPAL_COLUMNS,
    PRINCIPAL_WIDTHS,
    PrincipalRow,
    admin_event_row,
    audit_event_row,
    principal_columns,
    principal_row,
)
from bastion.infra.audit._redact import RedactingProcessor, Redactor, redact_values
from bastion.infra.audit._rows import AuditEventRow, GovernanceDecisionRow, new_row_id
from bastion.infra.audit._search import (
    MAX_LIMIT,
    AuditFilter,
    AuditKind,
    AuditPage,
    AuditSearch,
)
from bastion.infra.audit._settings import AuditSettings, SiemSinkSettings
from bastion.infra.audit._siem import SiemEmitter
from bastion.infra.audit._siem_event import iso_utc, siem_event
from bastion.infra.audit._siem_sinks import FileSink, HttpSink, SiemSink, StdoutSink, create_sink
from bastion.infra.audit._tables import (
    AUDIT_TABLES,
    JsonText,
    audit_events,
    governance_decisions,
    metadata,
)
from bastion.infra.audit._trail import DECISION_EVENT, AuditTrail
from bastion.infra.audit._writer import AuditWriter

__all__ = [
    "AUDIT_TABLES",
    "DECISION_EVENT",
    "MAX_LIMIT",
    "POINTS",
    "POINT_OF_TABLE",
    "PRINCIPAL_COLUMNS",
    "PRINCIPAL_WIDTHS",
    "AuditClosedError",
    "AuditError",
    "AuditEventRow",
    "AuditFilter",
    "AuditKind",
    "AuditPage",
    "AuditQueueFull",
    "AuditSearch",
    "AuditSettings",
    "AuditTrail",
    "AuditWriter",
    "FileSink",
    "GovernanceDecisionRow",
    "HttpSink",
    "JsonText",
    "PrincipalRow",
    "RedactingProcessor",
    "Redactor",
    "SiemDeliveryError",
    "SiemEmitter",
    "SiemRejected",
    "SiemSink",
    "SiemSinkSettings",
    "StdoutSink",
    "UnknownAuditTable",
    "admin_event_row",
    "audit_event_row",
    "audit_events",
    "create_sink",
    "governance_decisions",
    "iso_utc",
    "metadata",
    "new_row_id",
    "principal_columns",
    "principal_row",
    "redact_values",
    "siem_event",
    "trace_points",
]
