"""Audit spill files per worker: worker ``i`` > 0 spills to a file of its own, and the
files of workers that no longer exist are adopted by worker 0's."""

from __future__ import annotations

import os
import re
from pathlib import Path

import structlog

log = structlog.get_logger("bastion.server")

_WORKER_SPILL = re.compile(r"\.worker(\d+)$")


def worker_spill_path(spill_path: Path, index: int) -> Path:
    """Worker 0 keeps ``audit.spill_path`` (so a single-process spill is replayed);
    worker ``i`` spills to ``<stem>.worker<i><suffix>`` next to it."""
    if index == 0:
        return spill_path
    return spill_path.with_name(f"{spill_path.stem}.worker{index}{spill_path.suffix}")


def adopt_orphan_spills(spill_path: Path, workers: int) -> list[Path]:
    """Append the pending spill files of workers ``>= workers`` to worker 0's spill file
    (their rows carry ids, so a row replayed twice is inserted once). Dead letters
    (``.rejected``) stay where they are. Returns the files adopted."""
    folder = spill_path.parent
    if not folder.is_dir():
        return []
    adopted: list[Path] = []
    for pending in sorted(folder.glob(f"{spill_path.stem}.worker*{spill_path.suffix}*")):
        name = pending.name
        segment = name.endswith(f"{spill_path.suffix}.replaying")
        if not segment and not name.endswith(spill_path.suffix):
            continue
        stem = name.removesuffix(".replaying").removesuffix(spill_path.suffix)
        match = _WORKER_SPILL.search(stem)
        if match is None or stem != f"{spill_path.stem}{match[0]}" or int(match[1]) < workers:
            continue
        data = pending.read_bytes()
        if data:
            if not data.endswith(b"\n"):
                data += b"\n"
            fd = os.open(spill_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        pending.unlink()
        adopted.append(pending)
        log.warning("audit spill adopted", path=str(pending), into=str(spill_path))
    return adopted
