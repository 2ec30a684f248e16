"""Which of several admin regexes occur in a text: one RE2 set, DFA only, in chunks.

The blocklist needs to know *which* rule matched, never where or what its groups hold.
An alternation of named groups told it, but asking RE2 for groups makes it run its NFA
over the whole match: about 1.5 ns per byte and program instruction, so ``(.*a){20}``
on a 1 MB prompt took 0.33 s. An ``RE2::Set`` answers the same question in one DFA pass
(about 3 ms per MB for that rule).

A DFA can still thrash (``a[ab]{20}c`` over ``ab`` text exhausts its state cache and
crawls at ~1 µs per byte), and one RE2 call cannot be interrupted. So a text longer than
``CHUNK`` bytes is searched rule by rule in windows that overlap by ``OVERLAP`` bytes,
the governance time budget checked before each one (``_budget.check``); each window is
searched in the context of the whole text, so anchors and word boundaries keep their
meaning. A match that spans a window boundary is found whenever it is at most
``OVERLAP`` bytes long.

When the set's DFA gives up (RE2 then reports no match at all; a sentinel that matches
every text tells the two apart), each rule is searched on its own, compiled with
``never_capture`` so that search stays a DFA pass too.

A rule's RE2 program may hold at most ``MAX_PROGRAM_SIZE`` instructions (checked at
boot): the size bounds the compiled program's memory and the per-byte cost of RE2's
fallbacks, which grows with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import re2

from bastion.infra.governance import _budget
from bastion.infra.governance.scanner import MAX_PROGRAM_SIZE

__all__ = ["CHUNK", "MAX_PROGRAM_SIZE", "OVERLAP", "RuleSet", "options"]

CHUNK: Final = 64 * 1024
OVERLAP: Final = 8 * 1024


def options(*, never_capture: bool = False) -> Any:
    opts = re2.Options()
    # Errors are raised (and reported once, naming the rule), not also logged to stderr.
    opts.log_errors = False
    opts.never_capture = never_capture
    return opts


class RuleSet:
    """``patterns`` (RE2 syntax) as one set; ``first`` is the lowest index that matches."""

    __slots__ = ("_each", "_sentinel", "_set")

    def __init__(self, patterns: Sequence[str]) -> None:
        compiled = re2.Set.SearchSet(options())
        for pattern in patterns:
            compiled.Add(pattern)
        self._sentinel: int = compiled.Add(r"\z")
        compiled.Compile()
        self._set = compiled
        self._each = [re2.compile(p, options(never_capture=True)) for p in patterns]

    def first(self, data: bytes) -> int | None:
        """The lowest index of a pattern that occurs in ``data`` (UTF-8), or None."""
        if len(data) <= CHUNK:
            return self._first(data)
        # Rule by rule, window by window: a window is searched inside the whole text, so
        # ``^``, ``$`` and ``\b`` see the real neighbours, not the window's edges.
        step = CHUNK - OVERLAP
        windows = range(0, len(data) - OVERLAP, step)
        for index, regex in enumerate(self._each):
            for start in windows:
                _budget.check()
                if regex.search(data, start, start + CHUNK) is not None:
                    return index
        return None

    def _first(self, data: bytes) -> int | None:
        found: list[int] | None = self._set.Match(data)
        if found and self._sentinel in found:
            found.remove(self._sentinel)
            return min(found) if found else None
        for index, regex in enumerate(self._each):  # the set's DFA gave up
            if regex.search(data) is not None:
                return index
        return None
