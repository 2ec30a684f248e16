"""JSON aliases and the few helpers every direction shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

JSONObject = dict[str, Any]
"""A decoded JSON object. Translators read ``Mapping`` and build ``JSONObject``."""

RAW_ARGUMENTS_KEY = "_raw_arguments"
"""Key under which a tool call's arguments are kept when they are not a JSON object.

An upstream model can emit a malformed argument string. Dropping it (``{}``) would make
the tool run with no arguments and hide the fault; raising would lose the whole
response. The string is kept verbatim under this key, so the client's tool schema check
fails visibly and the audit log shows what the model sent.
"""


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def parse_arguments(arguments: str | None) -> JSONObject:
    """Decode a tool call's argument string into the object Anthropic's ``input`` needs."""
    if not arguments or not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {RAW_ARGUMENTS_KEY: arguments}
    if isinstance(value, dict):
        return value
    return {RAW_ARGUMENTS_KEY: arguments}


def dump_arguments(value: Any) -> str:
    """Encode a tool ``input`` for OpenAI, restoring a string kept by ``parse_arguments``."""
    if isinstance(value, Mapping):
        if len(value) == 1 and isinstance(value.get(RAW_ARGUMENTS_KEY), str):
            return str(value[RAW_ARGUMENTS_KEY])
        return dumps(value)
    return dumps({} if value is None else value)


def as_int(value: Any) -> int:
    """A token count from a provider payload: missing, null or non-numeric counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return 0
