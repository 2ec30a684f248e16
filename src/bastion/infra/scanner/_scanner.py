"""The scanning engine.

One scan of a text is:

0. normalise it (``_normalise``: invisible characters removed, NFKC; pure ASCII is left
   untouched at no cost), match the normalised text, and map findings back to spans of
   the original, so redaction replaces the original characters;
1. project the text to one byte per character (non-ASCII becomes ``?``; every built-in
   pattern is ASCII), so byte offsets are character offsets;
2. ask an RE2 set of every built-in locator, and of the entropy candidates' regex, which
   of them occur (one DFA pass);
3. run only those locators for positions, and judge each candidate in Python: exact shape,
   context check, placeholder, allowlist;
4. only when the set saw an entropy candidate, its regex for positions, judged the same
   way;
5. drop overlaps: higher confidence wins, then the earlier pattern in the built-in order.

A JSON document is scanned as one text: its string leaves joined by NUL, which no
built-in pattern can match across, then the findings are mapped back to leaves. Most
documents carry no secret, so ``scan_json`` first collects the leaves cheaply (no paths,
no bookkeeping) and scans that same joined text; only when something is found does it
walk the document again for paths, reusing that scan.
"""

from __future__ import annotations

import bisect
import itertools
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bastion.infra.scanner import _json, _redact
from bastion.infra.scanner._assignments import (
    PASSWORD_ID,
    SECRET_ID,
    classify_key,
    is_credential_value,
)
from bastion.infra.scanner._entropy import ENTROPY_ID, EntropyDetector, shannon_entropy
from bastion.infra.scanner._finding import Confidence, Finding, FindingSource
from bastion.infra.scanner._normalise import Offsets, normalise
from bastion.infra.scanner._patterns import BUILTIN_PATTERNS, Pattern
from bastion.infra.scanner._placeholders import is_placeholder
from bastion.infra.scanner._regex import PatternSet, Regex
from bastion.infra.scanner._settings import ScannerSettings

_ENTROPY = Pattern(
    id=ENTROPY_ID, find="", keep=4, confidence=Confidence.LOW, source=FindingSource.ENTROPY
)
_SEPARATOR = "\x00"
_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_CUSTOM_MAX_LENGTH = 65536
# Entropy findings lose every tie on overlap, even against low-confidence custom patterns.
_ENTROPY_ORDER = 1 << 30


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    pattern: Pattern
    order: int


def _mapped(hits: Iterable[_Hit], offsets: Offsets) -> list[_Hit]:
    """Hits on a normalised text as spans of its original."""
    return [_Hit(*offsets.span(h.start, h.end), h.pattern, h.order) for h in hits]


_Member = tuple[int, Pattern]
"""A pattern with its rank in the built-in order (ties on overlap go to the lower)."""


class _Group:
    """The patterns behind one locator regex. Usually one; several share a locator when
    they carry a ``Route`` (all with the same key), which picks who judges each match."""

    __slots__ = ("fallback", "key", "members", "regex", "routes")

    def __init__(self, find: str, members: Sequence[_Member]) -> None:
        self.regex = Regex(find)
        self.members = tuple(members)
        routes = [pattern.route for _, pattern in members if pattern.route is not None]
        self.key: Callable[[str, int], str] | None = routes[0].key if routes else None
        self.routes: dict[str, tuple[_Member, ...]] = {}
        for member in members:
            route = member[1].route
            if route is not None and route.claims is not None:
                for value in route.claims:
                    self.routes[value] = (*self.routes.get(value, ()), member)
        self.fallback = tuple(
            member
            for member in members
            if member[1].route is None or member[1].route.claims is None
        )

    def candidates(self, text: str, start: int) -> tuple[_Member, ...]:
        if self.key is None:
            return self.members
        return self.routes.get(self.key(text, start), self.fallback)


class _Detectors:
    """Patterns behind one RE2 set prefilter. Patterns sharing a locator (the URL family)
    share its set entry and its pass.

    A ``probe`` regex rides along in the set as its last entry: the set then also tells
    whether the probe can match, so its own pass runs only when it can (the entropy
    candidates: most texts have none, and the separate pass cost as much as the set)."""

    __slots__ = ("groups", "patterns", "probe", "set")

    def __init__(self, patterns: Sequence[Pattern], order: int, probe: str | None = None) -> None:
        self.patterns = tuple(patterns)
        finds: dict[str, list[_Member]] = {}
        for index, pattern in enumerate(self.patterns):
            finds.setdefault(pattern.find, []).append((order + index, pattern))
        self.groups = tuple(_Group(find, members) for find, members in finds.items())
        self.probe = len(self.groups) if probe is not None else None
        self.set = PatternSet([*finds, *([probe] if probe is not None else [])])

    def hits(self, data: str | bytes) -> tuple[Sequence[int], bool]:
        """The groups whose locator occurs in ``data``, and whether the probe may match."""
        indexes = self.set.hits(data)
        probe = self.probe
        if probe is None:
            return indexes, False
        # Indexes come sorted and the probe is the last entry.
        if indexes and indexes[-1] == probe:
            return indexes[:-1], True
        return indexes, False


class SecretScanner:
    """Finds credentials in prompts, tool arguments and any JSON value, and redacts them.

    Build one at boot and share it: every regex compiles once, here, and a scanner is
    immutable and safe to use from any thread or task.
    """

    __slots__ = (
        "_allow_regexes",
        "_allow_values",
        "_builtin",
        "_custom",
        "_entropy",
        "_generic",
        "_ids",
        "_settings",
    )

    def __init__(self, settings: ScannerSettings | None = None) -> None:
        self._settings = settings = settings if settings is not None else ScannerSettings()
        disabled = settings.disabled_patterns
        entropy = settings.entropy
        self._entropy = (
            None
            if ENTROPY_ID in disabled
            else EntropyDetector(
                min_length=entropy.min_length,
                max_length=entropy.max_length,
                threshold=entropy.threshold,
            )
        )
        self._builtin = _Detectors(
            [p for p in BUILTIN_PATTERNS if p.id not in disabled],
            0,
            probe=self._entropy.locator if self._entropy is not None else None,
        )
        custom = [
            Pattern(
                id=extra.id,
                find=extra.regex,
                keep=extra.keep,
                confidence=extra.confidence,
                max_length=_CUSTOM_MAX_LENGTH,
                source=FindingSource.CUSTOM,
            )
            for extra in settings.extra_patterns
        ]
        self._custom = _Detectors(custom, len(BUILTIN_PATTERNS)) if custom else None
        self._generic = {
            p.id: p for p in self._builtin.patterns if p.id in (PASSWORD_ID, SECRET_ID)
        }
        self._allow_values = settings.allowlist
        self._allow_regexes = tuple(Regex(regex) for regex in settings.allowlist_regexes)
        ids = [p.id for p in self._builtin.patterns] + [p.id for p in custom]
        if self._entropy is not None:
            ids.append(ENTROPY_ID)
        self._ids = tuple(ids)

    @property
    def settings(self) -> ScannerSettings:
        return self._settings

    def pattern_ids(self) -> tuple[str, ...]:
        """Every pattern id this scanner can report, built-in ones first."""
        return self._ids

    def __repr__(self) -> str:
        return f"SecretScanner(patterns={len(self._ids)})"

    # Text

    def scan_text(self, text: str) -> list[Finding]:
        """The secrets in ``text``, in order, without overlaps."""
        return [self._finding(text, hit) for hit in self._scan(text, custom=True)]

    def redact_text(self, text: str) -> tuple[str, list[Finding]]:
        """``text`` with every secret replaced by its redacted preview, and the findings."""
        findings = self.scan_text(text)
        return _redact.apply(text, findings), findings

    # JSON

    def scan_json(self, value: object, *, strings: _json.Strings | None = None) -> list[Finding]:
        """The secrets in every string of a JSON value (object keys included), each with
        the JSON path of the string it sits in, in document order. ``strings`` is
        ``collect_strings(value)`` when the caller has it already."""
        clear, scanned = self._quick_pass(value, strings)
        if clear:
            return []
        return self._scan_json(value, copy=False, scanned=scanned)[1]

    def redact_json(self, value: object) -> tuple[object, list[Finding]]:
        """A copy of ``value`` with every secret redacted, and the findings. ``value`` is
        not modified; arrays in the copy are lists. A value with nothing to redact comes
        back as it is, uncopied."""
        clear, scanned = self._quick_pass(value)
        if clear:
            return value, []
        return self._scan_json(value, copy=True, scanned=scanned)

    def _quick_pass(
        self, value: object, collected: _json.Strings | None = None
    ) -> tuple[bool, tuple[str, list[_Hit]] | None]:
        """``(True, None)`` when no string of ``value`` can report anything; otherwise
        ``(False, scanned)`` with the joined text already scanned and its hits (None for
        a document too deep for the quick pass). ``collected``: ``_json.strings(value)``."""
        if collected is None:
            collected = _json.strings(value)
        if collected is None:
            return False, None
        texts, members = collected
        if not texts:
            return True, None
        # The very text ``_scan_json`` scans: when it holds nothing (and no custom pattern
        # and no credential-named member could report), neither would the full pass.
        joined = _SEPARATOR.join(texts)
        hits = self._scan(joined, custom=False)
        if (
            not hits
            and (self._custom is None or not self._custom.set.hits(normalise(joined)))
            and not self._any_member_hit(members)
        ):
            return True, None
        return False, (joined, hits)

    def _scan_json(
        self, value: object, *, copy: bool, scanned: tuple[str, list[_Hit]] | None = None
    ) -> tuple[object, list[Finding]]:
        """The full pass. ``scanned`` is a joined text already scanned, with its hits."""
        root, leaves = _json.walk(value, copy=copy)
        if not leaves:
            return root[0], []
        texts = [leaf.text for leaf in leaves]
        starts = list(itertools.accumulate(map(len, texts), lambda at, n: at + n + 1, initial=0))
        starts.pop()
        joined = _SEPARATOR.join(texts)
        if scanned is not None and scanned[0] == joined:
            hits = scanned[1]
        else:
            hits = self._scan(joined, custom=False)
        if self._custom is not None:
            hits = self._resolve([*hits, *self._custom_json_hits(joined, leaves, starts)])

        # Hits per leaf, with offsets made local to the leaf.
        per_leaf: dict[int, list[_Hit]] = {}
        for hit in hits:
            index = bisect.bisect_right(starts, hit.start) - 1
            offset = starts[index]
            local = _Hit(hit.start - offset, hit.end - offset, hit.pattern, hit.order)
            per_leaf.setdefault(index, []).append(local)
        if self._generic:
            # A value under a key that names a credential is one, whatever its shape; it
            # outranks entropy findings in it but not a recognised format inside it.
            for index, leaf in enumerate(leaves):
                if leaf.member is None or len(leaf.text) < 6:
                    continue
                found = per_leaf.get(index)
                if found and any(h.pattern.source is not FindingSource.ENTROPY for h in found):
                    continue
                member_hit = self._member_hit(leaf.text, leaf.member)
                if member_hit is not None:
                    per_leaf[index] = [member_hit]
        if not per_leaf:
            return root[0], []

        redacted_keys = {
            leaves[index].text: _redact.apply(
                leaves[index].text, [self._finding(leaves[index].text, hit) for hit in found]
            )
            for index, found in per_leaf.items()
            if leaves[index].in_key
        }

        def key_text(key: str) -> str:
            return redacted_keys.get(key, key)

        findings: list[Finding] = []
        renames: list[tuple[_json.Leaf, str]] = []
        for index in sorted(per_leaf):
            leaf = leaves[index]
            path = _json.format_path(leaf.step, key_text)
            found_here = [
                self._finding(leaf.text, hit, path, leaf.in_key) for hit in per_leaf[index]
            ]
            findings.extend(found_here)
            if copy:
                redacted = _redact.apply(leaf.text, found_here)
                if leaf.in_key:
                    renames.append((leaf, redacted))
                else:
                    leaf.container[leaf.slot] = redacted
        for leaf, redacted in renames:
            _json.rename_key(leaf.container, leaf.text, redacted)
        return root[0], findings

    def _custom_json_hits(
        self, joined: str, leaves: Sequence[_json.Leaf], starts: Sequence[int]
    ) -> Iterable[_Hit]:
        # Custom regexes may match across the NUL separator, so they run leaf by leaf,
        # and only when the set saw one of them somewhere in the document.
        assert self._custom is not None
        indexes = self._custom.set.hits(normalise(joined))
        if not indexes:
            return
        for leaf, offset in zip(leaves, starts, strict=True):
            folded = normalise(leaf.text)
            hits = list(self._run(self._custom, indexes, folded, folded))
            if hits and folded is not leaf.text:
                hits = _mapped(hits, Offsets(leaf.text))
            for hit in hits:
                yield _Hit(hit.start + offset, hit.end + offset, hit.pattern, hit.order)

    def _any_member_hit(self, members: Iterable[tuple[str, str]]) -> bool:
        """Whether a string value under a key that names a credential would be reported
        on its own (what ``_scan_json`` checks for each member leaf without hits)."""
        if not self._generic:
            return False
        for key, text in members:
            # classify_key first: it is cached, and almost every key names nothing.
            if len(text) >= 6 and classify_key(key) and self._member_hit(text, key):
                return True
        return False

    def _member_hit(self, text: str, member: str) -> _Hit | None:
        """A value whose member key names a credential: ``{"password": "hunter2!"}``."""
        kind = classify_key(member)
        pattern = self._generic.get(kind) if kind else None
        if pattern is None or not is_credential_value(pattern.id, text, quoted=True):
            return None
        if self._allowlisted(text, member):
            return None
        return _Hit(0, len(text), pattern, 0)

    # Engine

    def _scan(self, text: str, *, custom: bool) -> list[_Hit]:
        folded = normalise(text)
        hits = self._scan_folded(folded, custom=custom)
        if folded is text or not hits:
            return hits
        return _mapped(hits, Offsets(text))

    def _scan_folded(self, text: str, *, custom: bool) -> list[_Hit]:
        data = text.encode("ascii", "replace")
        builtin = self._builtin
        indexes, maybe_random = builtin.hits(data)
        hits = list(self._run(builtin, indexes, text, data))
        if custom and self._custom is not None:
            hits.extend(self._run(self._custom, self._custom.set.hits(text), text, text))
        if maybe_random and self._entropy is not None:
            taken = sorted((hit.start, hit.end) for hit in hits)
            for start, end in self._entropy.find(text, data, taken):
                if not self._allowlisted(text[start:end], text[start:end]):
                    hits.append(_Hit(start, end, _ENTROPY, _ENTROPY_ORDER))
        return self._resolve(hits) if len(hits) > 1 else hits

    def _run(
        self, detectors: _Detectors, indexes: Iterable[int], text: str, data: str | bytes
    ) -> Iterable[_Hit]:
        for index in indexes:
            group = detectors.groups[index]
            for start, end, secret_start, secret_end in group.regex.spans(data):
                for order, pattern in group.candidates(text, start):
                    span = self._judge(pattern, text, start, end, secret_start, secret_end)
                    if span is not None:
                        yield _Hit(span[0], span[1], pattern, order)

    def _judge(
        self, pattern: Pattern, text: str, start: int, end: int, secret_start: int, secret_end: int
    ) -> tuple[int, int] | None:
        if pattern.boundary and start and text[start - 1] in _WORD_CHARS:
            return None
        if pattern.check is not None:
            span = pattern.check(text, start, secret_start, secret_end)
            if span is None:
                return None
            secret_start, secret_end = span
        if secret_end - secret_start > pattern.max_length:
            return None
        secret = text[secret_start:secret_end]
        if pattern.shape is not None and pattern.shape.fullmatch(secret) is None:
            return None
        body = secret[pattern.keep :]
        if pattern.placeholders and is_placeholder(body):
            return None
        if pattern.min_entropy and shannon_entropy(body) < pattern.min_entropy:
            return None
        if self._allowlisted(secret, text[start : max(end, secret_end)]):
            return None
        return secret_start, secret_end

    def _allowlisted(self, secret: str, context: str) -> bool:
        if secret in self._allow_values:
            return True
        if not self._allow_regexes:
            return False
        return any(regex.search(secret) or regex.search(context) for regex in self._allow_regexes)

    @staticmethod
    def _resolve(hits: list[_Hit]) -> list[_Hit]:
        """Non-overlapping hits in text order: higher confidence first, then pattern order."""
        hits.sort(key=lambda h: (-h.pattern.confidence.rank, h.order, h.start, h.start - h.end))
        starts: list[int] = []
        kept: list[_Hit] = []
        for hit in hits:
            at = bisect.bisect_left(starts, hit.start)
            if at and kept[at - 1].end > hit.start:
                continue
            if at < len(kept) and kept[at].start < hit.end:
                continue
            starts.insert(at, hit.start)
            kept.insert(at, hit)
        return kept

    @staticmethod
    def _finding(text: str, hit: _Hit, path: str | None = None, in_key: bool = False) -> Finding:
        pattern = hit.pattern
        return Finding(
            pattern_id=pattern.id,
            path=path,
            start=hit.start,
            end=hit.end,
            # From the normalised secret: an invisible character never shows in a preview.
            redacted=_redact.preview(
                normalise(text[hit.start : hit.end]), pattern.keep, pattern.id
            ),
            confidence=pattern.confidence,
            source=pattern.source,
            in_key=in_key,
        )
