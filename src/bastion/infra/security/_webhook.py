"""HMAC signatures for webhooks, Stripe style.

Header ``x-bastion-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
The timestamp is signed with the body, so a captured request cannot be replayed once it
falls outside the tolerance window. Several ``v1`` entries may be present (a sender
rotating secrets signs with both); one match is enough. Unknown keys are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from bastion.infra.security.errors import (
    MalformedSignatureHeaderError,
    WebhookSignatureMismatchError,
    WebhookTimestampError,
)

SIGNATURE_HEADER = "x-bastion-signature"
DEFAULT_TOLERANCE_SECONDS = 300

_MAX_HEADER_LENGTH = 4096
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def sign_webhook(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The ``x-bastion-signature`` value for ``body`` sent at ``timestamp``."""
    if timestamp < 0:
        raise ValueError("timestamp must not be negative")
    return f"t={timestamp},v1={_digest(_key(secret), body, str(timestamp))}"


def verify_webhook(
    secret: str | bytes,
    body: bytes,
    header_value: str,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check ``header_value`` against ``body``; return the signed timestamp.

    The signature is checked before the timestamp, so a ``WebhookTimestampError``
    always concerns an authentic but stale (or future-dated) request.
    """
    key = _key(secret)
    timestamp, candidates = _parse(header_value)
    expected = _digest(key, body, timestamp).encode("ascii")
    matched = False
    for candidate in candidates:
        # No early exit: every candidate is compared, each in constant time.
        matched |= hmac.compare_digest(expected, candidate.encode("ascii"))
    if not matched:
        raise WebhookSignatureMismatchError("webhook signature does not match the body")
    if abs(now - int(timestamp)) > tolerance:
        raise WebhookTimestampError(
            f"webhook timestamp is more than {tolerance} seconds from the current time"
        )
    return int(timestamp)


def _parse(header_value: str) -> tuple[str, list[str]]:
    if len(header_value) > _MAX_HEADER_LENGTH:
        raise MalformedSignatureHeaderError("signature header is too long")
    timestamp: str | None = None
    candidates: list[str] = []
    for item in header_value.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise MalformedSignatureHeaderError("signature header items must be key=value")
        if name == "t":
            if timestamp is not None or _TIMESTAMP.fullmatch(value) is None:
                raise MalformedSignatureHeaderError(
                    "signature header needs exactly one 't' of unix seconds"
                )
            timestamp = value
        elif name == "v1":
            if _HEX_SHA256.fullmatch(value) is None:
                raise MalformedSignatureHeaderError(
                    "signature header 'v1' must be 64 lowercase hex digits"
                )
            candidates.append(value)
    if timestamp is None:
        raise MalformedSignatureHeaderError(
            "signature header needs exactly one 't' of unix seconds"
        )
    if not candidates:
        raise MalformedSignatureHeaderError("signature header has no 'v1' signature")
    return timestamp, candidates


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("webhook secret must not be empty")
    return key


def _digest(key: bytes, body: bytes, timestamp: str) -> str:
    return hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
