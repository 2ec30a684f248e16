from __future__ import annotations

from pydantic import ValidationError


def invalid_body(exc: ValidationError) -> str:
    """A request body's first validation error as one line, ``field.path: message``, for
    a 400 answer; the input is never echoed (it may hold a secret)."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
