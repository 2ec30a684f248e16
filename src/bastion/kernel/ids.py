"""Typed identifiers for every id that crosses a boundary.

Each is a distinct ``NewType`` over ``str`` so that passing a ``TenantId`` where a
``UserId`` is expected is a type error under ``mypy --strict``.
"""

from __future__ import annotations

import random
import secrets
from typing import NewType

UserId = NewType("UserId", str)
TenantId = NewType("TenantId", str)
SessionId = NewType("SessionId", str)
TraceId = NewType("TraceId", str)
ClientId = NewType("ClientId", str)
ExtensionId = NewType("ExtensionId", str)
ApiKeyId = NewType("ApiKeyId", str)
RoleName = NewType("RoleName", str)

DEFAULT_TENANT = TenantId("default")


def new_trace_id() -> TraceId:
    """A 128-bit random trace id, hex encoded (W3C trace-context compatible). Trace ids
    correlate, they authorise nothing, so the fast non-cryptographic generator is enough."""
    return TraceId(f"{random.getrandbits(128):032x}")


def new_user_id() -> UserId:
    return UserId("usr_" + secrets.token_hex(8))


def new_api_key_id() -> ApiKeyId:
    return ApiKeyId("key_" + secrets.token_hex(8))
