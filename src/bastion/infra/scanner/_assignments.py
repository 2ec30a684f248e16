"""Generic credential assignments: ``password = "..."``, ``api_key: ...``, ``"token": "..."``.

A key name is classified as a password or a secret, then its value is judged: references
(``os.environ[...]``, ``${VAR}``, ``settings.password``), type annotations, literals such
as ``None`` and well-known defaults are not credentials; everything else that is long
enough is. The same judgement applies to JSON members whose key names a credential.
"""

from __future__ import annotations

import functools
import re

from bastion.infra.scanner._entropy import (
    decodes_to_text,
    shannon_entropy,
    wordiness,
)
from bastion.infra.scanner._placeholders import is_placeholder

PASSWORD_ID = "generic-password"
SECRET_ID = "generic-secret"

_PASSWORD_KEY = re.compile(
    r"(?:password|passwd|passphrase|pwd)(?:[_-]?(?:\d|confirm(?:ation)?|value|str|string))?\Z"
)
_SECRET_KEY = re.compile(
    r"(?<!page_)(?<!page)(?<!next_)(?<!cursor_)(?<!continuation_)(?<!sync_)"
    r"(?:secret|token|api[_-]?key|apikey|(?:private|signing|encryption|master)[_-]?key"
    r"|credentials?)(?:[_-]?(?:\d|key|value|str|string))?\Z"
)

_NOT_VALUES = frozenset(
    {
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "required",
        "optional",
        "string",
        "str",
        "bytes",
        "int",
        "bool",
        "any",
        "env",
        "default",
        "empty",
        "hidden",
        "masked",
        "secret",
        "password",
        "passwd",
        "admin",
        "root",
        "guest",
        "user",
        "test",
        "testing",
        "letmein",
        "123456",
        "token",
        "lambda",
        "function",
        "await",
        "async",
        "self",
        "this",
        "new",
    }
)
_KEY_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "api-key")
_REFERENCE_MARKERS = (
    "(",
    "[",
    "os.environ",
    "process.env",
    "getenv",
    "env.",
    "secrets.",
    "vault:",
    "ssm:",
    "keyring",
)
_REFERENCE_START = re.compile(r"\$[{(A-Za-z_]|%\w+%\Z|%\(|[*&][A-Za-z_]\w*\Z")
_DOTTED_NAME = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")
_NAME = re.compile(r"[A-Za-z_][\w]*")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")
_SYMBOL = re.compile(r"[^A-Za-z0-9]")

MIN_PASSWORD = 6
MIN_SECRET = 12
MAX_VALUE = 512


@functools.lru_cache(maxsize=4096)
def classify_key(name: str) -> str | None:
    """The generic pattern id a key name stands for, or None for an ordinary name."""
    lowered = name.lower()
    if _PASSWORD_KEY.search(lowered):
        return PASSWORD_ID
    if _SECRET_KEY.search(lowered):
        return SECRET_ID
    return None


def is_credential_value(kind: str, value: str, *, quoted: bool) -> bool:
    """Whether ``value``, assigned to a key of ``kind``, looks like a real credential."""
    minimum = MIN_PASSWORD if kind == PASSWORD_ID else MIN_SECRET
    if not minimum <= len(value) <= MAX_VALUE:
        return False
    lowered = value.lower()
    if lowered in _NOT_VALUES or any(word in lowered for word in _KEY_WORDS):
        return False
    if _REFERENCE_START.match(value) or any(marker in value for marker in _REFERENCE_MARKERS):
        return False
    if _CONSTANT.fullmatch(value) or is_placeholder(value):
        return False
    if not quoted:
        if _DOTTED_NAME.fullmatch(value):
            return False
        # A bare name is a variable or a type annotation, unless it looks random.
        if _NAME.fullmatch(value) and (not _DIGIT.search(value) or wordiness(value) >= 0.5):
            return False
        if not (_DIGIT.search(value) or _SYMBOL.search(value)):
            return False
    if kind == PASSWORD_ID:
        return True
    return (
        _DIGIT.search(value) is not None
        and _LETTER.search(value) is not None
        and shannon_entropy(value) >= 3.0
        and not decodes_to_text(value)
    )
