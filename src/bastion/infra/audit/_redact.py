"""The redaction guard: no string leaves the process without passing the secret scanner."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

Redactor = Callable[[str], str]
"""Takes a string, returns it with every secret masked (the governance secret scanner)."""


def redact_values(value: Any, redact: Redactor) -> Any:
    """A copy of ``value`` with ``redact`` applied to every string in it, at any depth
    (mapping values, list and tuple items). Mapping keys are field names and are kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_values(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(item, redact) for item in value]
    return value


class RedactingProcessor:
    """A structlog processor applying ``redact`` to every string value of the event,
    the message included. Put it last before the renderer."""

    def __init__(self, redact: Redactor) -> None:
        self._redact = redact

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        return {key: redact_values(value, self._redact) for key, value in event_dict.items()}
