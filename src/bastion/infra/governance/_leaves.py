from __future__ import annotations

from collections.abc import Iterator


def string_leaves(value: object, path: str = "$") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value with its JSON path (object keys included)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}"
            if isinstance(key, str):
                yield child + "<key>", key
            yield from string_leaves(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from string_leaves(item, f"{path}[{index}]")
