"""Logging for a booted process: secret values and anything the scanner recognises are
masked in every line, structlog's and the standard library's alike."""

from __future__ import annotations

from pydantic import ValidationError

from bastion.infra.config import LoadedProfile
from bastion.infra.governance import GovernanceSettings
from bastion.infra.governance.scanner import SecretScanner
from bastion.infra.logging import configure_logging


def configure_process_logging(loaded: LoadedProfile) -> None:
    try:
        settings = GovernanceSettings.model_validate(
            loaded.profile.namespaces().get("governance") or {}
        )
    except ValidationError:
        settings = GovernanceSettings()  # boot refuses the block, naming the key
    scanner = SecretScanner(settings.secret_scan.scanner)
    configure_logging(
        loaded.profile.logging,
        loaded.secrets,
        extra_redactors=[lambda text: scanner.redact_text(text)[0]],
        access_log=loaded.profile.server.access_log,
    )
