"""How much of the machine the benchmark did not own: busy CPU time from ``/proc/stat``
minus the CPU time of the benchmark's own processes (the harness, its wrk and py-spy
children, the mock, Bastion, LiteLLM). On a shared box this says how noisy a phase was."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _busy() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def _proc(pid: int, children: bool) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    # after the comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / TICK


@dataclass
class Sample:
    wall: float
    busy: float
    ours: float


class CpuMeter:
    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def sample(self) -> Sample:
        import time

        ours = _proc(os.getpid(), children=True) + sum(_proc(p, False) for p in self.pids)
        return Sample(time.monotonic(), _busy(), ours)

    @staticmethod
    def foreign_share(a: Sample, b: Sample) -> float:
        """Share of the machine's CPUs used by other processes between a and b."""
        wall = b.wall - a.wall
        if wall <= 0:
            return 0.0
        foreign = max(0.0, (b.busy - a.busy) - (b.ours - a.ours))
        return foreign / (wall * (os.cpu_count() or 1))
