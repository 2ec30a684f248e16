"""The ``core`` domain: the platform's own tables, shipped through the same ledger."""

from bastion.domains.core._extension import CoreExtension

__all__ = ["CoreExtension"]
