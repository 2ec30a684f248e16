"""The in-process event bus domains talk through."""

from bastion.infra.events._bus import EventBus

__all__ = ["EventBus"]
