from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import re2

from bastion.domains.governance._input import input_strings
from bastion.domains.governance._ruleset import MAX_PROGRAM_SIZE, RuleSet
from bastion.domains.governance._ruleset import options as ruleset_options
from bastion.domains.governance._settings import BlocklistSettings, ContentBlockRule, ToolBlockRule
from bastion.domains.governance.errors import GovernanceConfigError
from bastion.infra.scanner import json_strings
from bastion.kernel.policy import PolicyContext, StageVerdict, TargetType
from bastion.kernel.tiers import Tier

_ALLOW = StageVerdict.allow()


class _ToolRules:
    """The tool-name rules that apply to one tier, as one alternation of their globs:
    group ``t<i>`` is ``rules[i]``, and a name matches one regex instead of each rule's.

    Answers are remembered per tool (a fleet calls the same few tools over and over); the
    memo is cleared when it reaches ``_MEMO_SIZE`` entries, so it stays bounded."""

    __slots__ = ("_match", "_memo", "rules")

    def __init__(self, rules: Sequence[ToolBlockRule]) -> None:
        self.rules = rules
        pattern = "|".join(f"(?P<t{i}>{fnmatch.translate(r.pattern)})" for i, r in enumerate(rules))
        self._match: Callable[[str], re.Match[str] | None] = re.compile(pattern).match
        self._memo: dict[tuple[str, str | None], ToolBlockRule | None] = {}

    @classmethod
    def build(cls, rules: Sequence[ToolBlockRule]) -> _ToolRules | None:
        return cls(rules) if rules else None

    def for_tool(self, tool: str, server: str | None) -> ToolBlockRule | None:
        """The earliest rule (in configuration order) matching the bare tool name or
        ``server/tool``."""
        key = (tool, server)
        try:
            return self._memo[key]
        except KeyError:
            pass
        names = [tool] if not server else [tool, f"{server}/{tool}"]
        found = self.first(names)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = found
        return found

    def first(self, names: Sequence[str]) -> ToolBlockRule | None:
        """The earliest rule (in configuration order) matching any of ``names``."""
        best: int | None = None
        for name in names:
            found = self._match(name)
            if found is not None and found.lastgroup is not None:
                index = int(found.lastgroup[1:])
                best = index if best is None else min(best, index)
        return None if best is None else self.rules[best]


_MEMO_SIZE = 4096


@dataclass(frozen=True, slots=True)
class _ContentSet:
    r"""The content rules that apply to one (target type, tier): literals checked with
    ``in`` on the lowered text, regexes as one RE2 set (``_ruleset``) so the text is
    scanned once and any match is a deny.

    ``joined`` is the same set in multi-line mode, run once over all of an input's strings
    joined by newlines. Whatever matches inside one string also matches there (``^``/``$``
    hold at the newlines, ``\b`` sees the same non-word neighbour), so no match on the
    joined text clears every string in one pass; a match sends the input through the
    exact per-string check. Rules with ``\A``, ``\z`` or ``(?-m)`` could match a string
    but not the joined text, so a set holding one has no ``joined``."""

    literals: Sequence[tuple[str, ContentBlockRule]]
    combined: RuleSet | None
    regex_rules: Sequence[ContentBlockRule]
    joined: RuleSet | None = None


def _tiers(names: Sequence[str]) -> frozenset[Tier]:
    return frozenset(Tier.parse(n) for n in names)


def _error_text(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    return detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)


def _validate_regexes(rules: Sequence[ContentBlockRule]) -> None:
    """Every regex rule compiles on RE2, within ``MAX_PROGRAM_SIZE``, whichever targets
    and tiers it applies to."""
    for rule in rules:
        if rule.regex is None:
            continue
        where = f"governance.blocklist.content rule '{rule.id}'"
        try:
            size = re2.compile(rule.regex, ruleset_options()).programsize
        except re2.error as exc:
            raise GovernanceConfigError(f"{where}: invalid RE2 regex: {_error_text(exc)}") from None
        if size > MAX_PROGRAM_SIZE:
            raise GovernanceConfigError(
                f"{where}: the regex compiles to an RE2 program of {size} instructions, "
                f"over the limit of {MAX_PROGRAM_SIZE}; use smaller counted repetitions "
                "(`x{20}` is 20 copies of `x`) or split the rule"
            )


def _compile_regexes(rules: Sequence[ContentBlockRule]) -> RuleSet | None:
    if not rules:
        return None
    return RuleSet([rule.regex or "" for rule in rules])


_NOT_JOINABLE = ("\\A", "\\z", "-m")


def _compile_joined(rules: Sequence[ContentBlockRule]) -> RuleSet | None:
    if not rules or any(m in (r.regex or "") for r in rules for m in _NOT_JOINABLE):
        return None
    return RuleSet([f"(?m:{rule.regex})" for rule in rules])


class BlocklistStage:
    """Tool-name globs and content rules (literal or RE2 regex), per target, with exempt
    tiers. Admin-supplied regexes run on RE2, so no rule can be a ReDoS."""

    name = "blocklist"

    def __init__(self, settings: BlocklistSettings) -> None:
        self._tools = {
            tier: _ToolRules.build(
                [r for r in settings.tools if tier not in _tiers(r.exempt_tiers)]
            )
            for tier in Tier
        }
        _validate_regexes(settings.content)
        self._content: dict[tuple[TargetType, Tier], _ContentSet] = {}
        for target in TargetType:
            for tier in Tier:
                rules = [
                    r
                    for r in settings.content
                    if target in r.targets and tier not in _tiers(r.exempt_tiers)
                ]
                regex_rules = [r for r in rules if r.regex is not None]
                self._content[(target, tier)] = _ContentSet(
                    literals=[(r.literal.lower(), r) for r in rules if r.literal is not None],
                    combined=_compile_regexes(regex_rules),
                    regex_rules=regex_rules,
                    joined=_compile_joined(regex_rules),
                )

    def evaluate(self, context: PolicyContext) -> StageVerdict:
        target, tier = context.target, context.principal.tier
        tools = self._tools[tier]
        if tools is not None and target.type is TargetType.TOOL and target.tool:
            blocked = tools.for_tool(target.tool, target.server)
            if blocked is not None:
                return StageVerdict.deny(f"blocklist.{blocked.id}", blocked.reason)
        content = self._content[(target.type, tier)]
        if not content.literals and content.combined is None:
            return _ALLOW
        data = context.input
        if data is None:
            return _ALLOW
        if isinstance(data, str):
            texts = [data]
        else:
            collected = input_strings(context)
            texts = collected[0] if collected is not None else json_strings(data)
        if len(texts) > 1 and self._clear(texts, content):
            return _ALLOW
        for text in texts:
            verdict = self._check_text(text, content)
            if verdict is not None:
                return verdict
        return _ALLOW

    @staticmethod
    def _clear(texts: list[str], content: _ContentSet) -> bool:
        """True when no rule can match any of ``texts`` (one pass over them joined)."""
        if content.combined is not None and content.joined is None:
            return False
        joined = "\n".join(texts)
        if content.literals:
            lowered = joined.lower()
            if any(literal in lowered for literal, _ in content.literals):
                return False
        return content.joined is None or content.joined.first(joined.encode()) is None

    def _check_text(self, text: str, content: _ContentSet) -> StageVerdict | None:
        if content.literals:
            lowered = text.lower()
            for literal, rule in content.literals:
                if literal in lowered:
                    return StageVerdict.deny(f"blocklist.{rule.id}", rule.reason)
        if content.combined is not None:
            index = content.combined.first(text.encode())
            if index is not None:
                rule = content.regex_rules[index]
                return StageVerdict.deny(f"blocklist.{rule.id}", rule.reason)
        return None
