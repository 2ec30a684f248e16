"""A command's output: its result on stdout (a table, JSON, a token), errors on stderr."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from bastion.infra.db import database_failure
from bastion.kernel.errors import BastionError

T = TypeVar("T")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the ``typer.Exit`` (status 1) to raise."""
    # The message is text: "[x]" is not markup and "acme:Notes:" not an emoji code.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, emoji=False)
    return typer.Exit(1)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; a ``BastionError``, or a database that cannot be reached or used,
    becomes one line on stderr and exit status 1."""
    try:
        return asyncio.run(_call(factory))
    except BastionError as exc:
        raise fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise fail(f"database error: {database_failure(exc)}") from None
    except ConnectionError as exc:  # the database server (or Redis) refused or dropped us
        raise fail(f"cannot connect: {exc}") from None


async def _call(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


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
