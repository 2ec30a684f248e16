"""Walking JSON values: every string leaf and object key, with its JSON path.

The walk is iterative, so a deeply nested document cannot exhaust the interpreter's
recursion limit. Paths are formatted only for leaves that carry a finding, and an object
key that holds a secret appears redacted in every path below it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path below the root: an array index or an object member."""

    parent: Step | None
    index: int | None = None
    key: str | None = None
    """A string key; shown redacted in paths when it holds a secret."""
    name: str | None = None
    """A non-string key of a Python mapping, shown as text."""


@dataclass(slots=True)
class Leaf:
    """A string in the document: a value, or an object key (``in_key``)."""

    index: int
    text: str
    step: Step | None
    """The path of the value, or for a key, of its member."""
    in_key: bool
    member: str | None
    """For a value: the key of the object member holding it, if any."""
    container: Any
    slot: Any
    """Where the leaf lives in the copy being built, so redaction can patch it."""


_Item = tuple[object, Any, Any, Step | None, str | None, bool]
"""A node to visit: (node, container, slot, step, member key, is an object key)."""


def walk(value: object, *, copy: bool) -> tuple[object, list[Leaf]]:
    """Every string leaf of ``value`` in document order (a key before its value), and,
    with ``copy``, a structural copy of ``value`` (tuples become lists) whose leaves the
    caller then patches."""
    leaves: list[Leaf] = []
    holder: list[object] = [None]
    stack: list[_Item] = [(value, holder, 0, None, None, False)]
    while stack:
        node, container, slot, step, member, in_key = stack.pop()
        if isinstance(node, str):
            leaves.append(Leaf(len(leaves), node, step, in_key, member, container, slot))
            if copy and not in_key:
                container[slot] = node
        elif isinstance(node, dict):
            target: Any = dict.fromkeys(node) if copy else None
            if copy:
                container[slot] = target
            children: list[_Item] = []
            for key, item in node.items():
                if isinstance(key, str):
                    child = Step(step, key=key)
                    children.append((key, target, key, child, None, True))
                    children.append((item, target, key, child, key, False))
                else:
                    children.append((item, target, key, Step(step, name=str(key)), None, False))
            stack.extend(reversed(children))
        elif isinstance(node, list | tuple):
            target = [None] * len(node) if copy else None
            if copy:
                container[slot] = target
            stack.extend(
                (item, target, index, Step(step, index=index), None, False)
                for index, item in reversed(list(enumerate(node)))
            )
        elif copy:
            container[slot] = node
    return holder[0], leaves


def format_path(step: Step | None, key_text: Callable[[str], str]) -> str:
    """The JSON path of a step, e.g. ``$.messages[0].content`` or ``$["x-api-key"]``."""
    parts: list[str] = []
    while step is not None:
        if step.index is not None:
            parts.append(f"[{step.index}]")
        else:
            name = key_text(step.key) if step.key is not None else (step.name or "")
            if _IDENTIFIER.fullmatch(name):
                parts.append("." + name)
            else:
                parts.append("[" + json.dumps(name, ensure_ascii=False) + "]")
        step = step.parent
    return "$" + "".join(reversed(parts))


def rename_key(container: dict[Any, Any], old: str, new: str) -> None:
    """Rename a key of ``container`` in place, keeping member order; a clash with an
    existing key gets a ``#n`` suffix rather than silently dropping a member."""
    candidate, n = new, 2
    while candidate in container and candidate != old:
        candidate, n = f"{new}#{n}", n + 1
    items = [(candidate if key == old else key, item) for key, item in container.items()]
    container.clear()
    container.update(items)
