"""What every benchmark's command line and output share: one argument parser builder
(the options benchmarks have in common, spelled and documented once) and the Markdown
table they print."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def _stages(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


# option -> (type or choices, help); the default is the benchmark's own
OPTIONS: dict[str, tuple[Any, str]] = {
    "db": (
        ["sqlite", "postgresql"],
        "the audit database; PostgreSQL: a throwaway database on BASTION_BENCH_PG "
        "(default postgresql://postgres@127.0.0.1:5432/postgres)",
    ),
    "rounds": (int, "measured rounds of each side, alternating"),
    "duration": (int, "seconds per round"),
    "connections": (int, "wrk connections"),
    "runs": (int, "runs of each command"),
    "disabled": (_stages, "comma-separated governance stages traced 'disabled' (an ablation)"),
}


def parser(module: str, doc: str | None, **defaults: Any) -> argparse.ArgumentParser:
    """``python -m MODULE``'s parser: the first line of ``doc`` as its description and
    each of ``OPTIONS`` named in ``defaults``, with that default. Add the rest."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}", description=(doc or "").split("\n", 1)[0]
    )
    for name, default in defaults.items():
        kind, help = OPTIONS[name]
        typed = {"choices": kind} if isinstance(kind, list) else {"type": kind}
        parser.add_argument(f"--{name}", default=default, help=f"{help} ({default})", **typed)
    return parser


def command(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> str:
    """The command line of this run, for its report."""
    return shlex.join([*parser.prog.split(), *(sys.argv[1:] if argv is None else argv)])


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], align: str = "l") -> list[str]:
    """A Markdown table; ``align`` is ``l`` or ``r`` per column, the last letter
    repeated for the rest (``"l"``: all left; ``"lr"``: the first left, the rest right)."""
    marks = [
        {"l": "---", "r": "---:"}[(align + align[-1] * len(columns))[i]]
        for i in range(len(columns))
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(marks) + "|"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
