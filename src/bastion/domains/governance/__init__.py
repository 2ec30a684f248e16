"""The ``governance`` domain: the chain as an HTTP service and Claude Code hooks."""

from bastion.domains.governance._extension import GovernanceExtension
from bastion.domains.governance._payloads import PayloadError, parse_evaluate, parse_hook

__all__ = ["GovernanceExtension", "PayloadError", "parse_evaluate", "parse_hook"]
