from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import make_url

from bastion.infra.config._profile import Profile

_SENSITIVE_KEY = re.compile(r"(password|secret|token|api_key|private_key)(?!_secret$)", re.I)
REDACTED = "***"  # the same mask SQLAlchemy uses for URL passwords


# Mappings whose every value may carry a credential (an ``Authorization`` header, a
# token in a spawned server's environment): their keys are shown, never their values.
_OPAQUE_MAPPINGS = frozenset({"headers", "extra_headers", "env"})


def _scrub(value: Any, key: str = "") -> Any:
    if isinstance(value, dict) and key in _OPAQUE_MAPPINGS:
        return dict.fromkeys(value, REDACTED)
    if isinstance(value, dict):
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, key) for v in value]
    if (
        isinstance(value, str)
        and _SENSITIVE_KEY.search(key)
        and not key.endswith(("_secret", "_file", "_path"))
    ):
        return REDACTED
    return value


def redacted_profile(profile: Profile) -> dict[str, Any]:
    """The profile as plain data with passwords in URLs and secret-looking keys masked.

    The values of ``headers``, ``extra_headers`` and ``env`` mappings are masked whatever
    their keys. Keys ending in ``_secret`` hold secret *names* and ``_file``/``_path``
    keys hold paths, not values; they stay visible.
    """
    data = profile.model_dump(mode="json")
    url = data["database"]["url"]
    parsed = make_url(url)
    if parsed.password:
        data["database"]["url"] = parsed.render_as_string(hide_password=True)
    scrubbed: dict[str, Any] = _scrub(data)
    return scrubbed


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    """The configuration a booted platform runs on, secrets redacted: the platform's
    settings and every enabled extension's namespace (defaults filled in), as plain data.
    What ``bastion config show``, the admin API's ``/config`` and the console show."""

    profile: str
    document: Mapping[str, Any]


def effective_config(profile: Profile, namespaces: Mapping[str, BaseModel]) -> EffectiveConfig:
    """``profile`` and each validated namespace (``namespace -> model``) in one redacted
    document, the namespaces after the platform's keys in the order given."""
    document = redacted_profile(profile)
    for name, model in namespaces.items():
        document[name] = _scrub(model.model_dump(mode="json"), name)
    return EffectiveConfig(profile.name, document)
