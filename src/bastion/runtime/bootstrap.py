"""First-boot setup for the built-in local profile: the bootstrap admin."""

from __future__ import annotations

import structlog

from bastion.domains.users import UserRepository
from bastion.kernel.ids import RoleName, TenantId
from bastion.runtime.platform import Platform

log = structlog.get_logger("bastion.bootstrap")


async def ensure_bootstrap_admin(platform: Platform) -> None:
    """Create the configured admin when no user exists yet; idempotent across boots."""
    wanted = platform.profile.security.bootstrap_admin
    if wanted is None:
        return
    users = UserRepository(platform.engine)
    if await users.count() > 0:
        return
    user = await users.create(wanted.name, RoleName("admin"), TenantId(wanted.tenant))
    log.info("bootstrap admin created", user=user.name, user_id=user.id)
