"""What every command shares: the profile option, async running, output, errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
import structlog
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bastion.cli._state import state
from bastion.infra.audit import audit_event_row
from bastion.infra.config import LoadedProfile, load_profile
from bastion.kernel.errors import BastionError
from bastion.runtime.boot import boot
from bastion.runtime.logs import configure_process_logging
from bastion.runtime.platform import Platform

T = TypeVar("T")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


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


def fail(message: str) -> typer.Exit:
    # The message is text: "[x]" is not markup and "acme:Notes:" not an emoji code.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, emoji=False)
    return typer.Exit(1)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; a ``BastionError`` becomes one line on stderr and exit status 1."""
    try:
        return asyncio.run(_call(factory))
    except BastionError as exc:
        raise fail(str(exc)) from None


async def _call(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


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


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def emit(rows: Sequence[dict[str, Any]], *, as_json: bool, title: str | None = None) -> None:
    """Print rows as JSON (``--json``) or as a Rich table that never cuts a value."""
    if as_json:
        sys.stdout.write(
            orjson.dumps([{k: _plain(v) for k, v in r.items()} for r in rows], default=str).decode()
            + "\n"
        )
        return
    if not rows:
        out.print("(none)")
        return
    # A console per table: its width is the terminal's (or ``COLUMNS``) now, not at import.
    console = Console(soft_wrap=True)
    cells = [["" if v is None else str(_plain(v)) for v in row.values()] for row in rows]
    console.print(_table(list(rows[0]), cells, title, console.width))


def _is_id(column: str) -> bool:
    return column in ("id", "user", "prefix") or column.endswith("_id")


# Per column: one space of padding either side and a border.
_COLUMN_CHROME = 3
_NARROWEST = 6


def _table(columns: list[str], cells: list[list[str]], title: str | None, width: int) -> Table:
    """Every cell folds rather than being cut (Rich cuts with ``…`` by default), so an id an
    operator copies from the table is always there in full. Id columns stay on one line
    when the terminal has room for them whole beside a narrow rest; else they fold too."""
    widest = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    needed = 1 + sum(
        (widest[i] if _is_id(column) else min(widest[i], _NARROWEST)) + _COLUMN_CHROME
        for i, column in enumerate(columns)
    )
    keep_ids = needed <= width
    table = Table(title=title, show_lines=False)
    for i, column in enumerate(columns):
        whole = keep_ids and _is_id(column)
        table.add_column(
            column,
            overflow="fold",
            no_wrap=whole,
            min_width=widest[i] if whole else None,
        )
    for row in cells:
        table.add_row(*row)
    return table


JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


async def record_admin_action(
    p: Platform, action: str, subject: str, details: dict[str, Any] | None = None
) -> None:
    """An ``audit_events`` row (and SIEM event) for an operator action from the CLI."""
    await p.audit.record_event(
        audit_event_row(
            None,
            event_type=f"admin.{action}",
            subject=subject,
            action=action,
            details={"source": "cli", **(details or {})},
        )
    )
