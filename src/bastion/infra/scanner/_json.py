"""Walking JSON values: every string leaf and object key, with its JSON path.

``walk`` is iterative, so a deeply nested document cannot exhaust the interpreter's
recursion limit. Paths are formatted only for leaves that carry a finding, and an object
key that holds a secret appears redacted in every path below it.

``strings`` is the cheap pass for the common case, a document without secrets: the same
strings in the same order, and the members' key and value, without paths or copies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Step = tuple[Any, Any, int]
"""A path below the root as a linked list: (parent step or None, slot, kind), the slot
being an array index (``INDEX``), a string key (``KEY``) or another key of a Python
mapping (``OTHER``). Tuples keep the walk cheap; most paths are never formatted."""
INDEX, KEY, OTHER = 0, 1, 2


@dataclass(slots=True)
class Leaf:
    """A string in the document: a value, or an object key (``in_key``)."""

    text: str
    step: Step | None
    """The path of the value, or for a key, of its member."""
    in_key: bool
    member: str | None
    """For a value: the key of the object member holding it, if any."""
    container: Any
    slot: Any
    """Where the leaf lives in the copy being built, so redaction can patch it."""


_Item = tuple[object, Any, Any, Step | None, str | None]
"""A value to visit: (value, container in the copy, slot there, step, member key)."""

Strings = tuple[list[str], list[tuple[str, str]]]
"""What ``strings`` collects: every text, and the members whose value is a string."""


def walk(value: object, *, copy: bool) -> tuple[list[object], list[Leaf]]:
    """Every string leaf of ``value`` in document order (a key before its value), and,
    with ``copy``, a one-item list holding a structural copy of ``value`` (tuples become
    lists). The caller patches leaves through their container and slot, the root included,
    then reads the copy from the list."""
    leaves: list[Leaf] = []
    holder: list[object] = [None]
    stack: list[_Item] = [(value, holder, 0, None, None)]
    while stack:
        node, container, slot, step, member = stack.pop()
        if isinstance(node, str):
            leaves.append(Leaf(node, step, False, member, container, slot))
            if copy:
                container[slot] = node
        elif isinstance(node, dict):
            target: Any = dict.fromkeys(node) if copy else None
            if copy:
                container[slot] = target
            # Pushed in reverse so the stack yields members in document order; a string
            # key is recorded when its member is reached, before the member's value.
            for key, item in reversed(node.items()):
                if isinstance(key, str):
                    child = (step, key, KEY)
                    stack.append((item, target, key, child, key))
                    stack.append((_KeyMarker(key), target, key, child, None))
                else:
                    stack.append((item, target, key, (step, key, OTHER), None))
        elif isinstance(node, _KeyMarker):
            leaves.append(Leaf(node.key, step, True, None, container, slot))
        elif isinstance(node, list | tuple):
            target = [None] * len(node) if copy else None
            if copy:
                container[slot] = target
            for index in range(len(node) - 1, -1, -1):
                stack.append((node[index], target, index, (step, index, INDEX), None))
        elif copy:
            container[slot] = node
    return holder, leaves


def strings(value: object) -> Strings | None:
    """The texts of ``walk(value)``'s leaves, in the same order, and the ``(key, value)``
    pairs of the object members whose value is a string (the leaves with a ``member``).
    None for a document nested deeper than ``MAX_QUICK_DEPTH``: this pass recurses, so
    such a document goes to ``walk`` instead."""
    texts: list[str] = []
    members: list[tuple[str, str]] = []
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, dict | list | tuple):
        try:
            _collect(value, texts, members, 0)
        except _TooDeep:
            return None
    return texts, members


def texts(value: object) -> list[str]:
    """Every string of ``value``, object keys included, in document order: ``strings``
    when the document is shallow enough for it, ``walk`` otherwise."""
    collected = strings(value)
    if collected is not None:
        return collected[0]
    return [leaf.text for leaf in walk(value, copy=False)[1]]


MAX_QUICK_DEPTH = 64


class _TooDeep(Exception):
    pass


def _collect(node: Any, texts: list[str], members: list[tuple[str, str]], depth: int) -> None:
    # Mirrors ``walk``: strings are leaves, a string key comes before its member's value,
    # containers are entered, every other value (and a non-string key) is skipped.
    if depth > MAX_QUICK_DEPTH:
        raise _TooDeep
    if isinstance(node, dict):
        for key, item in node.items():
            if isinstance(key, str):
                texts.append(key)
                if isinstance(item, str):
                    texts.append(item)
                    members.append((key, item))
                    continue
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict | list | tuple):
                _collect(item, texts, members, depth + 1)
    else:
        for item in node:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict | list | tuple):
                _collect(item, texts, members, depth + 1)


class _KeyMarker:
    """An object key waiting on the walk stack (a wrapper, so it is not taken for a value)."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def format_path(step: Step | None, key_text: Callable[[str], str]) -> str:
    """The JSON path of a step, e.g. ``$.messages[0].content`` or ``$["x-api-key"]``."""
    parts: list[str] = []
    while step is not None:
        parent, slot, kind = step
        if kind == INDEX:
            parts.append(f"[{slot}]")
        else:
            name = key_text(slot) if kind == KEY else str(slot)
            if _IDENTIFIER.fullmatch(name):
                parts.append("." + name)
            else:
                parts.append("[" + json.dumps(name, ensure_ascii=False) + "]")
        step = parent
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
