"""``examples_installed``: the example extensions, installed as an operator would install them.

An autouse, session-scoped fixture. Modules (and conftests) whose tests expect ``hello``
and ``helpdesk`` among the installed extensions import it, so they also pass on an
environment where ``make install`` has not installed them (``make`` reinstalls an
example whenever one of its files changes; this only installs a missing one).
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "extensions"


def example_packages() -> dict[str, Path]:
    """Each example's import package (its one folder under ``src/``) -> its project."""
    return {
        package.name: project
        for project in sorted(EXAMPLES.iterdir())
        if (project / "pyproject.toml").is_file()
        for package in (project / "src").iterdir()
        if (package / "__init__.py").is_file()
    }


@pytest.fixture(scope="session", autouse=True)
def examples_installed() -> None:
    """Install the missing examples (no deps, no build isolation)."""
    missing = [
        str(project)
        for package, project in example_packages().items()
        if importlib.util.find_spec(package) is None
    ]
    if missing:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                *missing,
            ],
            check=True,
            timeout=300,
        )
        importlib.invalidate_caches()
    assert all(importlib.util.find_spec(package) for package in example_packages())
