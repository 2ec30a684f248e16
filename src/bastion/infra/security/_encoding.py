"""Unpadded base64url (RFC 7515 §2) and the compact JWS shape."""

from __future__ import annotations

import base64
import re

MAX_TOKEN_LENGTH = 8192

# header.payload.signature; the signature may be empty so that an unsigned
# ("alg": "none") token is still recognised as a JWT and rejected for its algorithm.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """Decode unpadded base64url. Raises ``ValueError`` (``binascii.Error``) on bad length.

    The standard library skips characters outside the alphabet instead of failing, so
    callers match ``segment`` against the alphabet first (``COMPACT_JWS`` does).
    """
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
