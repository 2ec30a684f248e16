"""API keys: ``bst_<prefix>_<secret>``.

``prefix`` is 8 lowercase alphanumerics, stored in clear and used to find the key's row;
``secret`` is 43 base62 characters carrying 256 bits of randomness, stored only as its
SHA-256. A plain, unsalted, fast hash is the right tool here: the secret is uniformly
random with 256 bits of entropy, so there is no dictionary to precompute and nothing to
brute force, and slow password hashes (bcrypt, argon2) would only add milliseconds to
every request. Passwords need slow hashes; random keys do not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass, field

from bastion.kernel.ids import ApiKeyId, new_api_key_id

API_KEY_PREFIX = "bst_"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
SECRET_LENGTH = 43  # 62**43 > 2**256, so any 32-byte value fits in 43 base62 digits

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_KEY_LENGTH = len(API_KEY_PREFIX) + PREFIX_LENGTH + 1 + SECRET_LENGTH
_KEY_FORMAT = re.compile(
    rf"bst_(?P<prefix>[a-z0-9]{{{PREFIX_LENGTH}}})_(?P<secret>[0-9A-Za-z]{{{SECRET_LENGTH}}})"
)


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key: store ``key_id``, ``prefix`` and ``secret_hash``; show ``plaintext`` once."""

    key_id: ApiKeyId
    prefix: str
    secret_hash: str
    plaintext: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A well-formed key presented by a caller; not yet verified."""

    prefix: str
    secret: str = field(repr=False)


def generate_api_key() -> GeneratedKey:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = _base62(int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big"))
    return GeneratedKey(
        key_id=new_api_key_id(),
        prefix=prefix,
        secret_hash=hash_secret(secret),
        plaintext=f"{API_KEY_PREFIX}{prefix}_{secret}",
    )


def parse_api_key(raw: str) -> ParsedKey | None:
    """Split a presented key into prefix and secret; None for anything not exactly our format."""
    if len(raw) != _KEY_LENGTH:
        return None
    match = _KEY_FORMAT.fullmatch(raw)
    if match is None:
        return None
    return ParsedKey(prefix=match["prefix"], secret=match["secret"])


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret part, lowercase hex (64 characters)."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def verify_api_key(parsed: ParsedKey, stored_hash: str) -> bool:
    """Whether ``parsed`` matches ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(
        hash_secret(parsed.secret).encode("ascii"), stored_hash.encode("utf-8")
    )


def _base62(value: int) -> str:
    digits = []
    for _ in range(SECRET_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))
