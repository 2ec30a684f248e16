from __future__ import annotations

from bastion.domains.governance._input import input_strings
from bastion.domains.governance._settings import SecretScanSettings
from bastion.infra.scanner import Confidence, SecretScanner
from bastion.kernel.policy import PolicyContext, StageVerdict

_ALLOW = StageVerdict.allow()
_MAX_REPORTED = 10


class SecretScanStage:
    """Denies input carrying a credential; reports pattern ids, JSON paths and redacted
    previews, never the secret."""

    name = "secret_scan"

    def __init__(self, settings: SecretScanSettings, scanner: SecretScanner) -> None:
        self._scanner = scanner
        self._floor = Confidence(settings.min_confidence).rank

    def evaluate(self, context: PolicyContext) -> StageVerdict:
        data = context.input
        if data is None:
            return _ALLOW
        findings = (
            self._scanner.scan_text(data)
            if isinstance(data, str)
            else self._scanner.scan_json(data, strings=input_strings(context))
        )
        findings = [f for f in findings if f.confidence.rank >= self._floor]
        if not findings:
            return _ALLOW
        first = findings[0]
        where = f" at {first.path}" if first.path else ""
        return StageVerdict.deny(
            f"secret.{first.pattern_id}",
            f"input contains a secret ({first.pattern_id}){where}",
            findings=[
                {"pattern_id": f.pattern_id, "path": f.path, "redacted": f.redacted}
                for f in findings[:_MAX_REPORTED]
            ],
            finding_count=len(findings),
        )
