from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping

import structlog

from bastion.kernel.contract import Event, EventHandler

log = structlog.get_logger("bastion.events")


class EventBus:
    """Publish awaits every subscribed handler concurrently; a failing handler is logged
    and never breaks the publisher or its siblings."""

    def __init__(self, handlers: Iterable[EventHandler] = ()) -> None:
        self._handlers: dict[str, list[EventHandler]] = defaultdict(list)
        for handler in handlers:
            self.subscribe(handler)

    def subscribe(self, handler: EventHandler) -> None:
        self._handlers[handler.event_type].append(handler)

    async def publish(self, event_type: str, payload: Mapping[str, object]) -> None:
        targets = [*self._handlers.get(event_type, ()), *self._handlers.get("*", ())]
        if not targets:
            return
        event = Event(event_type, payload)
        results = await asyncio.gather(*(h.handler(event) for h in targets), return_exceptions=True)
        for handler, result in zip(targets, results, strict=True):
            if isinstance(result, BaseException):
                log.error(
                    "event handler failed",
                    event_type=event_type,
                    handler=getattr(handler.handler, "__qualname__", repr(handler.handler)),
                    error=repr(result),
                )
