"""Governed model calls, as a domain other than the gateway makes them.

The gateway domain provides ``INFERENCE``: an Anthropic Messages request (the gateway's
lingua franca, translated to whichever upstream the model's route names) run through the
same pipeline as ``POST /v1/messages``: routed by its model, governed as the principal
(target ``prompt``), costed, and recorded as an ``ai_requests`` row that carries the
principal's agent, task and context ids. Nothing of a caller's credential goes upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.kernel.context import RequestContext
from bastion.kernel.services import ServiceKey


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What a model call answered: on 200, ``body`` is the Anthropic ``message``; on a
    refusal or an upstream failure, the Anthropic error body
    (``{"type": "error", "error": {"type": ..., "message": ...}}``) with its status."""

    status: int
    body: Mapping[str, Any]
    cost_microdollars: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def error_message(self) -> str:
        error = self.body.get("error")
        if isinstance(error, Mapping):
            return str(error.get("message", ""))
        return ""


class Inference(Protocol):
    async def create(self, principal: RequestContext, request: Mapping[str, Any]) -> ModelReply:
        """One Anthropic Messages request (its ``stream`` is ignored: the answer is whole),
        with what Bastion priced it at (``ai_requests.cost_microdollars``)."""
        ...

    def stream(
        self, principal: RequestContext, request: Mapping[str, Any]
    ) -> AsyncIterator[Mapping[str, Any]]:
        """The same request streamed: each Anthropic stream event as it arrives
        (``message_start``, ``content_block_delta``, ..., ``message_stop``), then one
        event of Bastion's own, ``{"type": "bastion.cost", "cost_microdollars": N}``, what
        the call was priced at. A refusal before the stream starts, or a failure during
        it, is one ``error`` event (``{"type": "error", "status": ..., "error": {...}}``)
        that ends it."""
        ...


INFERENCE: ServiceKey[Inference] = ServiceKey(
    "inference", "Governed model calls (Anthropic Messages) through the gateway pipeline"
)
