"""Every example imports from Bastion only its public facade, ``bastion.extension``.

``lint-imports`` enforces the same rule in CI (the contract in ``pyproject.toml``); this
test also catches ``import bastion`` and names outside the contract's forbidden list.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from tests.examples.install import example_packages


def bastion_imports(source: Path) -> set[str]:
    tree = ast.parse(source.read_text())
    found = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bastion")
    }
    found |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("bastion")
    }
    return {name for name in found if name == "bastion" or name.startswith("bastion.")}


@pytest.mark.parametrize("package", sorted(example_packages()))
def test_uses_only_the_public_facade(package: str) -> None:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    sources = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.py"))
    assert len(sources) > 1
    imported = set().union(*(bastion_imports(source) for source in sources))
    assert imported == {"bastion.extension"}
