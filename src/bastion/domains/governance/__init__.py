"""The ``governance`` domain: the chain as an HTTP service and Claude Code hooks."""

from bastion.domains.governance._extension import GovernanceExtension

__all__ = ["GovernanceExtension"]
