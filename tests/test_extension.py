"""``bastion.extension``, the facade: every name it promises resolves, and the ones it
imports on first use stay unimported until then."""

from __future__ import annotations

import subprocess
import sys

import bastion.extension as facade


def test_every_exported_name_resolves() -> None:
    missing = [name for name in facade.__all__ if getattr(facade, name, None) is None]
    assert missing == []
    assert len(set(facade.__all__)) == len(facade.__all__)


def test_the_command_toolkit_is_imported_on_first_use() -> None:
    probe = (
        "import sys, bastion.extension as e\n"
        "before = 'bastion.infra.commands' in sys.modules\n"
        "e.command_context\n"
        "print(before, 'bastion.infra.commands' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True"]
