"""The Redis clients Bastion's shared state (rate limits, quotas) runs on.

The Redis client library is imported on first use of :func:`request_path_client`, so
that importing this package (a boot without Redis-backed routes does) does not pay for it.
"""

from typing import TYPE_CHECKING

from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.infra.redis._client import request_path_client

__getattr__ = lazy_attributes(__name__, {"request_path_client": f"{__name__}._client"})

__all__ = ["request_path_client"]
