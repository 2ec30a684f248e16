"""Files named on the command line, where ``-`` means standard input."""

from __future__ import annotations

import sys
from pathlib import Path

STDIN = "-"


def is_stdin(path: Path) -> bool:
    return str(path) == STDIN


def read_bytes(path: Path) -> bytes:
    """The file's bytes; ``-`` reads standard input to its end."""
    if is_stdin(path):
        return sys.stdin.buffer.read()
    return path.read_bytes()


def read_text(path: Path) -> str:
    return read_bytes(path).decode("utf-8")


def shown(path: Path) -> str:
    """The path as messages name it."""
    return "<stdin>" if is_stdin(path) else str(path)
