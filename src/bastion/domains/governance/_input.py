"""The strings of the input being governed, collected once per evaluation.

The secret scan and the blocklist both read every string of a tool call's arguments, and
walking them costs about as much as either stage's own matching. The engine marks the
context it is evaluating (``begin``, ``end``); for that context ``input_strings`` walks
the input once and hands the same lists to every stage that asks. Any other call (a
stage used on its own, another evaluation interleaved at an ``await``) walks afresh, so
nothing is remembered beyond one evaluation. The one assumption: no stage modifies the
input it is given, nor the lists it receives (stages judge, they do not rewrite).

One slot, not a table: in the default chain the two stages run back to back without
awaiting, so a second slot would never be hit.
"""

from __future__ import annotations

from typing import Final

from bastion.infra.scanner import JsonStrings, collect_strings
from bastion.kernel.policy import PolicyContext

_NOT_YET: Final = object()
# (the context under evaluation, its strings or _NOT_YET), replaced as a whole. The strong
# reference keeps the context alive, so ``is`` cannot take a new context for a freed one.
_slot: tuple[PolicyContext | None, object] = (None, _NOT_YET)


def begin(context: PolicyContext) -> None:
    global _slot
    _slot = (context, _NOT_YET)


def end() -> None:
    global _slot
    _slot = (None, _NOT_YET)


def input_strings(context: PolicyContext) -> JsonStrings | None:
    """``collect_strings(context.input)``: None for a document nested too deep for it."""
    global _slot
    active, collected = _slot
    if active is not context:
        return collect_strings(context.input)
    if collected is _NOT_YET:
        collected = collect_strings(context.input)
        _slot = (context, collected)
    return collected  # type: ignore[return-value]
