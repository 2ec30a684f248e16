"""What a ``bastion`` command is built from, whoever contributes it.

A core domain's command and a third-party extension's are written the same way (the
facade ``bastion.extension`` re-exports all of this):

- ``command_context(ctx)``: the ``CommandContext`` the ``bastion`` root hands every
  command, typed. ``profile()`` is the active profile; ``platform(mount=False)`` boots
  the platform for one command (``async with ... as p``), and ``p.service(KEY)`` returns
  any typed service (``API_KEYS``, ``JWT``, an extension's own);
- ``record_admin_action(p, ...)``: the ``audit_events`` row of an operator's action;
- output: ``out`` and ``err`` (Rich consoles for stdout and stderr), ``emit`` (rows as a
  table that never cuts an id, or as JSON) and ``JSON_OPTION`` (its ``--json`` flag);
- errors: ``fail(message)`` prints one ``error:`` line and returns the ``typer.Exit`` to
  raise; ``run(factory)`` runs a coroutine and turns a ``BastionError`` into such a line;
- input: ``read_bytes``/``read_text`` of a file named on the command line, where ``-``
  is standard input, and ``shown(path)``, how messages name it.
"""

from bastion.infra.commands._context import (
    CommandContext,
    CommandPlatform,
    command_context,
    record_admin_action,
)
from bastion.infra.commands._files import is_stdin, read_bytes, read_text, shown
from bastion.infra.commands._output import JSON_OPTION, emit, err, fail, out, run

__all__ = [
    "JSON_OPTION",
    "CommandContext",
    "CommandPlatform",
    "command_context",
    "emit",
    "err",
    "fail",
    "is_stdin",
    "out",
    "read_bytes",
    "read_text",
    "record_admin_action",
    "run",
    "shown",
]
