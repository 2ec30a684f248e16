"""What every built-in command shares: the profile, a booted platform, output, errors.

Output and errors come from ``bastion.infra.commands``, which the domains' commands and
third-party extensions' use too; what needs the runtime (loading the profile with the
process's logging, booting) is here, and reaches those commands through ``CommandHost``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from bastion.cli._state import state
from bastion.infra.commands import JSON_OPTION, emit, err, fail, out, run
from bastion.infra.config import LoadedProfile, load_profile
from bastion.runtime.boot import boot
from bastion.runtime.logs import configure_process_logging
from bastion.runtime.platform import Platform


def loaded_profile() -> LoadedProfile:
    """The active profile; logging is configured from it (to stderr, never stdout, which
    carries only a command's result: a token, a key, JSON)."""
    loaded = load_profile(state.profile_dir)
    configure_process_logging(loaded)
    structlog.configure(logger_factory=_stderr_logger)
    return loaded


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    # Looked up per logger, so logs follow sys.stderr when a caller (a test runner) swaps it
    # and never write into a stream that has since been closed.
    return structlog.PrintLogger(sys.stderr)


@asynccontextmanager
async def platform(*, migrate: bool = True, mount: bool = True) -> AsyncIterator[Platform]:
    """A booted platform for one command. With a migrated database the audit writer runs,
    so admin actions are recorded; jobs never run from the CLI unless asked. A command that
    uses no service an extension builds when it mounts its routes (the MCP proxy, the
    gateway, the governance catalogue's lookups) passes ``mount=False`` and starts faster."""
    booted = await boot(loaded_profile(), migrate=migrate, mount=mount)
    try:
        if migrate:
            await booted.start(jobs=False)
        yield booted
    finally:
        await booted.close()


__all__ = [
    "JSON_OPTION",
    "emit",
    "err",
    "fail",
    "loaded_profile",
    "out",
    "platform",
    "run",
]
