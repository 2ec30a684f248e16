"""Logging for a booted process: secret values and anything the scanner recognises are
masked in every line, structlog's and the standard library's alike.

The scanner is the governance domain's (``SECRET_SCANNER``, compiled from its namespace).
Until boot provides it, lines are masked by a scanner with the built-in patterns only;
boot then hands over the profile's (``use_platform_scanner``).
"""

from __future__ import annotations

from collections.abc import Callable

from bastion.infra.config import LoadedProfile
from bastion.infra.logging import configure_logging
from bastion.infra.scanner import SecretScanner
from bastion.infra.services import SECRET_SCANNER
from bastion.kernel.services import ServiceRegistry

_active: list[Callable[[str], str]] = []


def _redactor(scanner: SecretScanner) -> Callable[[str], str]:
    return lambda text: scanner.redact_text(text)[0]


def configure_process_logging(loaded: LoadedProfile) -> None:
    _active[:] = [_redactor(SecretScanner())]
    configure_logging(
        loaded.profile.logging,
        loaded.secrets,
        extra_redactors=[lambda text: _active[0](text)],
        access_log=loaded.profile.server.access_log,
    )


def use_platform_scanner(services: ServiceRegistry) -> None:
    """Mask log lines with the booted platform's scanner from now on (its extra
    patterns and allowlists included)."""
    if _active and services.provider_of(SECRET_SCANNER) is not None:
        _active[:] = [_redactor(services.get(SECRET_SCANNER))]
