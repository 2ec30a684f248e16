"""A2A push notifications: the webhook URL policy, the store of a task's webhook configs,
and the sender that delivers task events to them. The protocol layer uses this API:

- the ``…TaskPushNotificationConfig`` methods call :class:`PushConfigStore`
  (``create``/``get``/``list``/``delete``; :class:`InvalidPushConfig`, a refused URL
  included, is the caller's error) after checking the caller may see the task;
- each task event, as a ``StreamResponse`` (``{"statusUpdate": ...}`` and the like), goes
  to :meth:`PushSender.notify`, which returns at once;
- shutdown awaits :meth:`PushSender.aclose`.
"""

from typing import TYPE_CHECKING

from bastion.domains.agents._push_store import (
    PushAuthentication,
    PushConfig,
    PushConfigStore,
    parse_push_config,
    push_configs,
)
from bastion.domains.agents._push_urls import (
    InvalidPushConfig,
    PushUrlRefused,
    check_push_url,
    is_public_address,
)
from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.domains.agents._push_sender import (
        DELIVERY_HEADER,
        EVENT_KINDS,
        SIGNATURE_HEADER,
        TOKEN_HEADER,
        GuardedResolver,
        PushSender,
    )

# The sender stands on aiohttp: loaded on first use, so a command that mounts no routes
# (and imports this to reach the store) does not pay for it.
__getattr__ = lazy_attributes(
    __name__,
    {
        name: "bastion.domains.agents._push_sender"
        for name in (
            "DELIVERY_HEADER",
            "EVENT_KINDS",
            "SIGNATURE_HEADER",
            "TOKEN_HEADER",
            "GuardedResolver",
            "PushSender",
        )
    },
)

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_KINDS",
    "SIGNATURE_HEADER",
    "TOKEN_HEADER",
    "GuardedResolver",
    "InvalidPushConfig",
    "PushAuthentication",
    "PushConfig",
    "PushConfigStore",
    "PushSender",
    "PushUrlRefused",
    "check_push_url",
    "is_public_address",
    "parse_push_config",
    "push_configs",
]
