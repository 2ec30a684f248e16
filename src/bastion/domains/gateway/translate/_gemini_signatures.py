"""Carrying Gemini thought signatures through Anthropic ``thinking`` blocks.

Gemini attaches an opaque ``thoughtSignature`` to a response part (on the first
``functionCall`` of a turn, for Gemini 3) and rejects the next request if a function
call in the history comes back without it. Anthropic messages have no field for it on a
``tool_use`` block, but a ``thinking`` block has a ``signature`` that clients such as
Claude Code store and send back verbatim. So a signed Gemini part is preceded by a
thinking block holding the signature, prefixed to mark it as Gemini's: a Claude
signature is never sent to Gemini, and the prefix lets other paths recognise and drop a
Gemini signature.

Signatures on plain text parts are, per Gemini's documentation, optional to return and
never validated; they are not carried.
"""

from __future__ import annotations

SIGNATURE_PREFIX = "gemini:"

SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Gemini's documented stand-in for a function call whose signature was never seen
(history written by another model, or by a client that dropped thinking blocks)."""


def wrap(signature: str) -> str:
    return SIGNATURE_PREFIX + signature


def unwrap(signature: object) -> str | None:
    if isinstance(signature, str) and signature.startswith(SIGNATURE_PREFIX):
        return signature[len(SIGNATURE_PREFIX) :] or None
    return None
