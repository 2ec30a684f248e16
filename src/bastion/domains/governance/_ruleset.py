"""Which of several admin regexes occur in a text: one RE2 set, DFA only, in chunks.

The blocklist needs to know *which* rule matched, never where or what its groups hold.
An alternation of named groups told it, but asking RE2 for groups makes it run its NFA
over the whole match: about 1.5 ns per byte and program instruction, so ``(.*a){20}``
on a 1 MB prompt took 0.33 s. An ``RE2::Set`` answers the same question in one DFA pass
(about 3 ms per MB for that rule).

A DFA can still thrash (``a[ab]{20}c`` over ``ab`` text exhausts its state cache and
crawls at ~1 µs per byte), and one RE2 call cannot be interrupted. So a text longer than
``CHUNK`` bytes is matched in windows that overlap by ``OVERLAP`` bytes, the governance
time budget checked before each one (``_budget.check``): the set runs over the window,
and the rules it reports are confirmed by searching the window in the context of the
whole text, so anchors and word boundaries keep their meaning. A match that spans a
window boundary is found whenever it is at most ``OVERLAP`` bytes long.

When the set's DFA gives up (RE2 then reports no match at all; a sentinel that matches
every text tells the two apart), each rule is searched on its own, compiled with
``never_capture`` so that search stays a DFA pass too.

A rule's RE2 program may hold at most ``MAX_PROGRAM_SIZE`` instructions (checked at
boot): the size bounds the compiled program's memory and the per-byte cost of RE2's
fallbacks, which grows with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import re2

from bastion.domains.governance import _budget
from bastion.infra.scanner import MAX_PROGRAM_SIZE

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
        every = range(len(self._each))
        if len(data) <= CHUNK:
            hits = self._hits(data)
            if hits is not None:
                return hits[0] if hits else None
            return self._confirmed(data, every, 0, len(data))
        best: int | None = None
        step = CHUNK - OVERLAP
        for start in range(0, len(data) - OVERLAP, step):
            _budget.check()
            end = start + CHUNK
            # The set over the window alone takes the window's edges for the text's: it
            # may report a rule the window does not hold, never miss one that matches
            # away from the edges (the overlap puts every short match away from them in
            # some window). So its hits are confirmed in the context of the whole text.
            hits = self._hits(data[start:end])
            candidates = [i for i in (every if hits is None else hits) if best is None or i < best]
            found = self._confirmed(data, candidates, start, end)
            if found is not None:
                best = found
                if best == 0:
                    break
        return best

    def _hits(self, data: bytes) -> list[int] | None:
        """The indexes the set finds in ``data``, sorted; None when its DFA gave up."""
        found: list[int] | None = self._set.Match(data)
        if not found or self._sentinel not in found:
            return None
        found.remove(self._sentinel)
        found.sort()
        return found

    def _confirmed(
        self, data: bytes, candidates: Iterable[int], start: int, end: int
    ) -> int | None:
        """The first candidate whose pattern matches inside ``data[start:end]``, searched
        in the context of all of ``data``, so ``^``, ``$`` and ``\\b`` see the real
        neighbours of the window."""
        for index in candidates:
            _budget.check()
            if self._each[index].search(data, start, end) is not None:
                return index
        return None
