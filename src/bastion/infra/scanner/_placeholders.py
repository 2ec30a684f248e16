"""Obvious placeholders: documentation values that have the shape of a secret but are not one.

``sk-...``, ``sk-ant-xxxxxxxx``, ``YOUR_API_KEY``, ``<your-token-here>``, ``${OPENAI_API_KEY}``,
``AKIAIOSFODNN7EXAMPLE`` and ``password = "changeme"`` are excluded: flagging them would
block every README and tutorial pasted into a prompt, and none of them grants access.
"""

from __future__ import annotations

import re

_WORDS = (
    "example",
    "placeholder",
    "your",
    "changeme",
    "change_me",
    "change-me",
    "redacted",
    "dummy",
    "sample",
    "insert",
    "replace",
    "todo",
    "fixme",
    "fake",
    "mock",
    "notreal",
    "not_real",
    "not-real",
    "xxxx",
    "goes_here",
    "goes-here",
    "here>",
    "12345678",
    "abcdefgh",
    "qwerty",
)

_WORD_FORMS = tuple({form for word in _WORDS for form in (word, word.upper(), word.title())})
# Template syntax (${VAR}, {{ var }}, $(cmd), %(name)s, %s), ellipses, runs of one
# character ("xxxxx", "*****") and <angle-bracket> stand-ins.
_SHAPES = re.compile(r"\$\{|\{\{|\}\}|\$\(|%\(|%s|\.\.\.|\u2026|(.)\1{4,}|<[^<>]*>")
# Long random strings contain short words by chance; placeholders are short.
_MAX_WORDY = 256


def is_placeholder(value: str) -> bool:
    """True for values that are obviously stand-ins rather than credentials."""
    if len(set(value)) <= 3 or _SHAPES.search(value):
        return True
    if len(value) > _MAX_WORDY or not any(map(value.lower().__contains__, _WORDS)):
        return False
    # Only a word in one consistent case counts: "your", "YOUR", "Your", not "yOuR".
    return any(map(value.__contains__, _WORD_FORMS))
