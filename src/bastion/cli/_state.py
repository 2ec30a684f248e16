"""What the root callback parsed, for the commands (kept light: every command imports it)."""

from __future__ import annotations

from pathlib import Path


class State:
    profile_dir: Path | None = None


state = State()
