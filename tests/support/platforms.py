"""A platform booted in the test's own event loop, for tests of typed services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bastion.infra.config import load_profile
from bastion.runtime.boot import boot
from bastion.runtime.platform import Platform
from tests.support.profiles import write_profile


@asynccontextmanager
async def booted(
    directory: Path, db_url: str, profile: dict[str, Any] | None = None
) -> AsyncIterator[Platform]:
    """Migrated, audit writer started, no routes mounted; closed (audit drained) after."""
    loaded = load_profile(write_profile(directory, db_url, profile))
    platform = await boot(loaded, mount=False)
    await platform.start(jobs=False)
    try:
        yield platform
    finally:
        await platform.close()
