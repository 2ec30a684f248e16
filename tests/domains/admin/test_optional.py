"""The admin API of a profile without the mcp and agents domains: it boots, and the
endpoints of the missing services are absent, not broken."""

from __future__ import annotations

from pathlib import Path

from bastion.infra.config import load_profile
from bastion.runtime.boot import boot
from tests.support import write_profile


async def test_endpoints_of_disabled_domains_are_absent(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path, db_url, {"extensions": {"disabled": ["mcp", "agents", "analytics", "console"]}}
    )
    platform = await boot(load_profile(profile))
    try:
        [router] = [r for ext, r in platform.routers if ext == "admin"]
        paths = {op.path for op in router.openapi}
        assert "/users" in paths and "/audit/{kind}" in paths
        assert not any(p.startswith(("/mcp", "/agents")) for p in paths)
    finally:
        await platform.close()
