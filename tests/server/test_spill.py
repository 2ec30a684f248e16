"""Audit spill files per worker: one file each, and the files of workers gone adopted."""

from __future__ import annotations

from pathlib import Path

from bastion.server import adopt_orphan_spills, worker_spill_path


def test_each_worker_spills_to_its_own_file(tmp_path: Path) -> None:
    spill = tmp_path / "audit" / "spill.jsonl"
    assert worker_spill_path(spill, 0) == spill
    assert worker_spill_path(spill, 3) == tmp_path / "audit" / "spill.worker3.jsonl"


def test_spills_of_workers_gone_are_adopted_by_worker_zero(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    folder.mkdir()
    spill = folder / "spill.jsonl"
    spill.write_bytes(b'{"row": 0}\n')
    (folder / "spill.worker1.jsonl").write_bytes(b'{"row": 1}\n')
    (folder / "spill.worker2.jsonl").write_bytes(b'{"row": 2}')  # a torn last line
    (folder / "spill.worker2.jsonl.replaying").write_bytes(b'{"row": 3}\n')
    (folder / "spill.worker2.jsonl.rejected").write_bytes(b'{"dead": 1}\n')
    (folder / "spill.worker7.jsonl").write_bytes(b"")
    (folder / "other.worker9.jsonl").write_bytes(b'{"not": "ours"}\n')

    adopted = adopt_orphan_spills(spill, workers=2)

    assert sorted(p.name for p in adopted) == [
        "spill.worker2.jsonl",
        "spill.worker2.jsonl.replaying",
        "spill.worker7.jsonl",
    ]
    assert sorted(spill.read_bytes().splitlines()) == [b'{"row": 0}', b'{"row": 2}', b'{"row": 3}']
    assert sorted(p.name for p in folder.iterdir()) == [
        "other.worker9.jsonl",
        "spill.jsonl",
        "spill.worker1.jsonl",  # worker 1 still exists and replays its own
        "spill.worker2.jsonl.rejected",  # dead letters stay for the operator
    ]
