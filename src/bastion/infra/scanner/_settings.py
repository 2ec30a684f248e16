"""Profile settings for the secret scanner, embedded by the governance configuration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bastion.infra.scanner._entropy import ENTROPY_ID
from bastion.infra.scanner._finding import Confidence
from bastion.infra.scanner._patterns import BUILTIN_PATTERNS
from bastion.infra.scanner._regex import Regex, check_program_size

BUILTIN_IDS: frozenset[str] = frozenset({p.id for p in BUILTIN_PATTERNS} | {ENTROPY_ID})


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExtraPattern(_Strict):
    """A profile-supplied pattern, compiled with RE2 so matching stays linear-time.

    Like a built-in pattern, a match that reads as an obvious placeholder (``xxxx``,
    ``YOUR_...``, a run of one character) is not reported.
    """

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,63}$",
        description="Reported as the finding's pattern_id; must not shadow a built-in id.",
    )
    regex: str = Field(
        min_length=1,
        description="RE2 syntax. A group named 'secret' marks the credential; "
        "without it the whole match is the credential.",
    )
    keep: int = Field(
        0, ge=0, le=16, description="Leading characters left visible in the redacted preview."
    )
    confidence: Confidence = Field(
        Confidence.HIGH, description="Reported confidence; `min_confidence` filters on it."
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        Regex(value)
        check_program_size(value)
        return value

    @field_validator("id")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value in BUILTIN_IDS:
            raise ValueError(f"'{value}' is a built-in pattern id")
        return value


class EntropySettings(_Strict):
    """Tuning of the check for long random tokens no pattern recognises."""

    min_length: int = Field(32, ge=16, le=256, description="Shortest token considered.")
    max_length: int = Field(
        1024, ge=64, le=65536, description="Longer runs are payloads (images, files), not keys."
    )
    threshold: float = Field(
        4.0, ge=3.0, le=6.0, description="Minimum Shannon entropy in bits per character."
    )

    @model_validator(mode="after")
    def _ordered(self) -> EntropySettings:
        if self.max_length < self.min_length:
            raise ValueError("max_length must not be below min_length")
        return self


class ScannerSettings(_Strict):
    """What the secret scanner looks for and what it lets through."""

    disabled_patterns: frozenset[str] = Field(
        frozenset(),
        description="Built-in pattern ids to switch off ('high-entropy-string' turns off "
        "the entropy check).",
    )
    extra_patterns: tuple[ExtraPattern, ...] = Field(
        (), description="Profile-supplied patterns (RE2), reported like built-in ones."
    )
    allowlist: frozenset[str] = Field(
        frozenset(), description="Exact secret values that are never reported."
    )
    allowlist_regexes: tuple[str, ...] = Field(
        (),
        description="RE2 regexes; a finding is dropped when one matches its secret or the "
        "text its pattern matched around it (key name, URL).",
    )
    entropy: EntropySettings = Field(
        default_factory=EntropySettings, description="The long-random-token check."
    )

    @field_validator("disabled_patterns")
    @classmethod
    def _known(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = sorted(value - BUILTIN_IDS)
        if unknown:
            raise ValueError(f"unknown built-in pattern ids: {', '.join(unknown)}")
        return value

    @field_validator("allowlist_regexes")
    @classmethod
    def _compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for regex in value:
            Regex(regex)
            check_program_size(regex)
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> ScannerSettings:
        ids = [pattern.id for pattern in self.extra_patterns]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate extra pattern ids: {', '.join(duplicates)}")
        return self
