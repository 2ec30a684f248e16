from __future__ import annotations

from collections.abc import Sequence

from bastion.kernel.contract import Extension, ExtensionMeta, Maturity
from bastion.kernel.migration import Migration, migrations_from_package


class CoreExtension(Extension):
    """Platform tables: scheduler job runs, governance decisions and audit events."""

    meta = ExtensionMeta(
        id="core",
        version="1.0.0",
        priority=0,
        description="Platform tables: job runs, governance decisions, audit events",
        required=True,
        maturity=Maturity.GA,
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.core")
