"""Linear-time regex plumbing on google-re2.

Every regex that runs over a scanned text, built-in or profile-supplied, is RE2: matching
time is linear in the input whatever the pattern, so an admin regex cannot be a ReDoS.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import re2

from bastion.infra.scanner._exceptions import PatternError

Span = tuple[int, int, int, int]
"""A match: start and end of the whole match, then of its ``secret`` group."""


def _options(max_mem: int, *, never_capture: bool = False) -> Any:
    options = re2.Options()
    options.max_mem = max_mem
    # RE2 reports an exhausted DFA budget on stderr; the callers handle it instead.
    options.log_errors = False
    options.never_capture = never_capture
    return options


_MAX_MEM = 16 << 20
MAX_PROGRAM_SIZE = 500
"""The most RE2 instructions an admin regex may compile to (blocklist rules, extra
patterns, allowlist regexes); built-in patterns stay under 140. RE2's fallbacks cost
time per byte in proportion to the program: ``(.*a){20}`` is 224, ``(.*a){50}`` 554."""


def check_program_size(pattern: str) -> None:
    """Raise ``PatternError`` when ``pattern`` compiles to more than ``MAX_PROGRAM_SIZE``."""
    size = re2.compile(pattern, _options(_MAX_MEM)).programsize
    if size > MAX_PROGRAM_SIZE:
        raise PatternError(
            pattern,
            f"compiles to an RE2 program of {size} instructions, over the limit of "
            f"{MAX_PROGRAM_SIZE}; use smaller counted repetitions (`x{{20}}` is 20 copies "
            "of `x`) or split it",
        )


class Regex:
    """One compiled RE2 pattern whose optional group ``secret`` marks the credential."""

    __slots__ = ("_compiled", "_group", "pattern")

    def __init__(self, pattern: str) -> None:
        try:
            compiled = re2.compile(pattern, _options(_MAX_MEM))
        except re2.error as exc:
            raise PatternError(pattern, f"does not compile under RE2 ({exc})") from None
        names = set(compiled.groupindex)
        if names - {"secret"}:
            raise PatternError(
                pattern, f"only a group named 'secret' is allowed, found {sorted(names)}"
            )
        if compiled.search("") is not None:
            raise PatternError(pattern, "matches the empty string")
        self.pattern = pattern
        self._group: int = compiled.groupindex.get("secret", 0)
        if not self._group and compiled.groups:
            # Groups nobody reads: without them RE2 finds a match by DFA alone, instead of
            # running its NFA over the match for submatches (``(.*a){20}``: 0.33 s/MB).
            compiled = re2.compile(pattern, _options(_MAX_MEM, never_capture=True))
        self._compiled = compiled

    def spans(self, text: str | bytes) -> Iterator[Span]:
        """Every non-overlapping match, leftmost first. Offsets index ``text``."""
        group = self._group
        for match in self._compiled.finditer(text):
            start, end = match.span()
            if group:
                secret_start, secret_end = match.span(group)
                if secret_start >= 0:
                    yield start, end, secret_start, secret_end
                    continue
            yield start, end, start, end

    def search(self, text: str | bytes) -> bool:
        return self._compiled.search(text) is not None


class PatternSet:
    """Which of many patterns occur somewhere in a text, found in one DFA pass (RE2::Set).

    This is the scanner's prefilter: only the patterns it reports are run for positions.
    """

    __slots__ = ("_all", "_sentinel", "_set")

    def __init__(self, patterns: Sequence[str], *, max_mem: int = _MAX_MEM) -> None:
        compiled = re2.Set.SearchSet(_options(max_mem))
        for pattern in patterns:
            try:
                compiled.Add(pattern)
            except re2.error as exc:
                raise PatternError(pattern, f"does not compile under RE2 ({exc})") from None
        # RE2::Set has no NFA fallback: when its DFA runs out of memory it reports no
        # match at all. The sentinel matches every text, so its absence means "unknown".
        self._sentinel: int = compiled.Add(r"\z")
        compiled.Compile()
        self._set = compiled
        self._all = tuple(range(len(patterns)))

    def hits(self, text: str | bytes) -> Sequence[int]:
        """Indexes of the patterns that match ``text``: a superset when RE2 gave up."""
        found: list[int] | None = self._set.Match(text)
        if not found or self._sentinel not in found:
            return self._all
        found.remove(self._sentinel)
        found.sort()
        return found
