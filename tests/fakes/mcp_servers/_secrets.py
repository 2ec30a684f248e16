"""Look-alike credentials generated at run time (never a real key, never in the source)."""

from __future__ import annotations

import secrets
import string

_UPPER_DIGITS = string.ascii_uppercase + string.digits
_ALNUM = string.ascii_letters + string.digits


def aws_access_key_id() -> str:
    return "AK" + "IA" + "".join(secrets.choice(_UPPER_DIGITS) for _ in range(16))


def github_token() -> str:
    return "gh" + "p_" + "".join(secrets.choice(_ALNUM) for _ in range(36))
