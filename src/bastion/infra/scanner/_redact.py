"""Redaction: a secret becomes its public prefix plus ``[REDACTED:<pattern_id>]``."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.infra.scanner._finding import Finding


def marker(pattern_id: str) -> str:
    return f"[REDACTED:{pattern_id}]"


def preview(secret: str, keep: int, pattern_id: str) -> str:
    """The redacted form of ``secret``. At most half of it is ever kept, so even a secret
    shorter than its pattern's prefix length cannot be recovered from a preview."""
    return secret[: min(keep, len(secret) // 2)] + marker(pattern_id)


def apply(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with every finding's span replaced by its preview.

    ``findings`` must be sorted by ``start`` and must not overlap, as the scanner returns them.
    """
    if not findings:
        return text
    parts: list[str] = []
    position = 0
    for finding in findings:
        parts.append(text[position : finding.start])
        parts.append(finding.redacted)
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)
