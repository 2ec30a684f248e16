"""The ``analytics`` domain: usage, cost, denials and tool calls over any window.

It reads the audit tables through a read model of its own (never another domain), keeps
hourly usage rollups with a scheduled job and a watermark, and provides ``ANALYTICS``
(``bastion.kernel.analytics``), which its routes, its CLI and the console use.
"""

from bastion.domains.analytics._config import AnalyticsConfig
from bastion.domains.analytics._extension import AnalyticsExtension
from bastion.domains.analytics._service import AnalyticsService

__all__ = ["AnalyticsConfig", "AnalyticsExtension", "AnalyticsService"]
