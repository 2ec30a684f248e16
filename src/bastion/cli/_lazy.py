"""The command groups of ``bastion``: built-in commands imported only when they run, and
commands that extensions contribute, looked up only when needed.

``bastion --version`` and ``bastion --help`` import Typer and nothing of the server stack;
``bastion db ...`` imports ``bastion.cli._db`` (and what it needs), no other command
module. Extension commands (every domain's too: ``bastion mcp``, ``bastion admin users``)
are looked up only for a name that is not built in, or to list them in ``--help`` (from
the index in ``_extensions``, which avoids importing them). The root and each group open
to extensions (``admin``) are an ``ExtensionGroup``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, ClassVar, Self

import typer
import typer.main
from typer.core import TyperGroup, TyperOption

# ``Any`` for click objects: Typer vendors click (``typer._click``), a private module.
Context = Any
Command = Any


def _flags_take_no_value() -> None:
    """Help shows ``--json``, not ``--json <bool>``: a flag takes no value.

    Typer's Rich help prints the type of every option, flags included (its plain-text help
    already leaves flags bare); this gives flags the plain-text behaviour, for every
    command including ``--help`` itself.
    """
    typed = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Context) -> str | None:
        return None if self.is_flag else typed(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()


@dataclass(frozen=True)
class LazyCommand:
    """``bastion NAME``: a Typer app or a command function at ``module:attribute``.

    ``help`` is what ``bastion --help`` lists without importing the module; a test keeps it
    equal to the loaded command's own help text.
    """

    name: str
    target: str
    help: str

    def load(self) -> Command:
        module_name, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        command = to_click(obj, self.name)
        command.name = self.name
        return command


def to_click(obj: typer.Typer | Callable[..., Any], name: str) -> Command:
    """A Typer app or a plain command function as the click command Typer would build."""
    if isinstance(obj, typer.Typer):
        return typer.main.get_group(obj)
    holder = typer.Typer()
    holder.command(name)(obj)
    return typer.main.get_command(holder)


class _Listed(TyperGroup):
    """A stand-in that only carries a name and a help line, for the commands panel."""

    def __init__(self, name: str, help: str) -> None:
        super().__init__(name=name, help=help)


class ExtensionGroup(TyperGroup):
    """Commands from ``builtins`` (lazy) and those extensions contribute to ``group``
    (``""``: the root, ``bastion NAME``; else ``bastion GROUP NAME``)."""

    group: ClassVar[str] = ""
    builtins: ClassVar[Sequence[LazyCommand]] = ()
    # The profile named on the command line before Typer parsed it (``--help`` is eager, so
    # the parsed ``--profile`` may not be known yet when the commands are listed).
    profile_dir: ClassVar[Path | None] = None

    _listing = False

    @classmethod
    def bound(
        cls,
        builtins: Sequence[LazyCommand] = (),
        profile_dir: Path | None = None,
        *,
        group: str = "",
    ) -> type[Self]:
        """A subclass for one group (Typer instantiates the class itself)."""
        attributes = {"builtins": tuple(builtins), "profile_dir": profile_dir, "group": group}
        return type(cls.__name__, (cls,), attributes)

    def _profile(self, ctx: Context) -> Path | None:
        given = ctx.find_root().params.get("profile")
        if given is not None:
            return Path(given)
        if self.profile_dir is not None:
            return self.profile_dir
        env = os.environ.get("BASTION_PROFILE")
        return Path(env) if env else None

    def _names(self) -> set[str]:
        return {c.name for c in self.builtins} | set(self.commands)

    def _builtin(self, name: str) -> LazyCommand | None:
        return next((c for c in self.builtins if c.name == name), None)

    def list_commands(self, ctx: Context) -> list[str]:
        names = [c.name for c in self.builtins]
        names += [n for n in self.commands if n not in names]
        names += [n for n, _ in self._extension_rows(ctx) if n not in names]
        return names

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        builtin = self._builtin(cmd_name)
        if self._listing:
            # Help output needs a name and a line of help, not the command: import nothing.
            if builtin is not None:
                return _Listed(cmd_name, builtin.help)
            help_line = dict(self._extension_rows(ctx)).get(cmd_name)
            return None if help_line is None else _Listed(cmd_name, help_line)
        if builtin is not None:
            command = builtin.load()
        else:
            from bastion.cli._extensions import extension_command

            command = extension_command(self._profile(ctx), self.group, self._names(), cmd_name)
        if command is not None:
            self.commands[cmd_name] = command
        return command

    def _extension_rows(self, ctx: Context) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] | None = getattr(self, "_rows", None)
        if rows is None:
            from bastion.cli._extensions import extension_listing

            rows = self._rows = extension_listing(self._profile(ctx), self.group, self._names())
        return rows

    def format_help(self, ctx: Context, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


class BastionGroup(ExtensionGroup):
    """The root: ``bastion``. Usage errors are one ``error:`` line."""

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer._click.exceptions.UsageError as exc:
            # Typer suggests from the commands loaded so far; offer every name there is.
            close = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if close and "Did you mean" not in exc.message:
                suggestions = ", ".join(repr(m) for m in close)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Usage errors as one ``error:`` line (the spelling of every other error)."""
        options: dict[str, Any] = {
            "args": args,
            "prog_name": prog_name,
            "complete_var": complete_var,
            "windows_expand_args": windows_expand_args,
            **extra,
        }
        if not standalone_mode:
            return super().main(standalone_mode=False, **options)
        try:
            result = super().main(standalone_mode=False, **options)
        except typer.Abort:
            print("error: aborted", file=sys.stderr)
            sys.exit(1)
        except Exception as exc:
            if not _is_click_error(exc):
                raise
            sys.exit(_show_usage_error(exc))
        # Non-standalone click returns the exit code of ``typer.Exit`` instead of exiting.
        sys.exit(result if isinstance(result, int) else 0)


def _is_click_error(exc: BaseException) -> bool:
    return isinstance(exc, typer._click.exceptions.ClickException)


def _show_usage_error(exc: Any) -> int:
    if type(exc).__name__ == "NoArgsIsHelpError":
        # The help was already printed (Rich prints while formatting); plain text is returned.
        message = exc.format_message()
        if message:
            print(message, file=sys.stderr)
        return int(exc.exit_code)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        print(ctx.get_usage(), file=sys.stderr)
        if ctx.command.get_help_option(ctx) is not None:
            print(
                f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.",
                file=sys.stderr,
            )
    print(f"error: {exc.format_message()}", file=sys.stderr)
    return int(exc.exit_code)
