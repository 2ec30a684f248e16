"""What the scanner reports: one :class:`Finding` per secret, never the secret itself."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Confidence(enum.StrEnum):
    """How sure the scanner is that a finding is a live credential.

    ``high``: a vendor format with a distinctive prefix and exact shape (``ghp_``, ``AKIA``,
    PEM private key blocks). ``medium``: a credential recognised from its context (a
    ``password =`` assignment, a database URL, a ``Bearer`` header, a JWT). ``low``: a long
    random-looking token found by the entropy check.
    """

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Confidence.HIGH: 3, Confidence.MEDIUM: 2, Confidence.LOW: 1}


class FindingSource(enum.StrEnum):
    """Which detector produced a finding."""

    PATTERN = "pattern"
    """A built-in pattern."""
    CUSTOM = "custom"
    """A profile-supplied extra pattern."""
    ENTROPY = "entropy"
    """The Shannon-entropy check for long random tokens."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One secret found in a text or a JSON document.

    ``start`` and ``end`` are character offsets of the secret in the scanned string (for
    JSON, in the string leaf or key at ``path``). ``redacted`` is the preview that replaces
    the secret on redaction: a short public prefix plus ``[REDACTED:<pattern_id>]``. The raw
    secret is deliberately not kept, so a finding is safe to log, audit and return.
    """

    pattern_id: str
    path: str | None
    start: int
    end: int
    redacted: str
    confidence: Confidence
    source: FindingSource
    in_key: bool = False
    """True when the secret sits in a JSON object key rather than in a value."""
