"""Boot of the built-in local profile to ready: ``python -m bench.boot``.

Each run spawns ``bastion serve --port <free>`` with no profile, in a fresh temporary
working directory, so the built-in profile creates ``./.bastion/`` (signing secret, SQLite
database, every migration, the bootstrap admin): a first boot. A second ``serve`` in the
same directory is the warm boot. The clock runs from just before the spawn to the first
``200`` from ``GET /api/v1/ready``, polled every 5 ms; readiness flips only once the
listener accepts connections. ``python -c "import bastion.cli"`` (interpreter start and
imports, no boot) is timed alongside, as the floor under both.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._support import cli
from bench._support.launch import BASTION, free_port, stop

ENV = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}


def _ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/api/v1/ready")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def boot_to_ready(workdir: Path) -> float:
    """Seconds from spawning ``bastion serve`` in ``workdir`` to the first ready 200."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("w") as stderr:
        started = time.perf_counter()
        argv = [BASTION, "serve", "--port", str(port)]
        proc = subprocess.Popen(
            argv, cwd=workdir, env=ENV, stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        while not _ready(port):
            if proc.poll() is not None or time.perf_counter() - started > 60:
                raise SystemExit(f"bastion serve not ready ({proc.returncode}):\n{log.read_text()}")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        stop(proc, 15)


def import_floor(workdir: Path) -> float:
    started = time.perf_counter()
    argv = [sys.executable, "-c", "import bastion.cli"]
    subprocess.run(argv, cwd=workdir, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("bench.boot", __doc__, runs=10)
    parser.add_argument("--target", type=float, default=2.0, help="seconds (2.0)")
    args = parser.parse_args(argv)
    rows = {
        "first boot (creates .bastion/, migrates, bootstrap admin)": (boot_to_ready, args.target),
        "second boot (existing .bastion/)": (boot_to_ready, args.target),
        "`python -c 'import bastion.cli'` (no boot: the floor)": (import_floor, None),
    }
    samples: dict[str, list[float]] = {name: [] for name in rows}
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bastion-boot-") as tmp:
            for name, (measure, _) in rows.items():
                samples[name].append(measure(Path(tmp)))
            assert (Path(tmp) / ".bastion" / "bastion.db").is_file()
        print(
            f"run {i + 1:2d}: " + ", ".join(f"{s[-1] * 1000:.0f} ms" for s in samples.values()),
            file=sys.stderr,
        )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nBoot of the built-in local profile to ready ({sys.executable}, ", end="")
    print(f"{os.cpu_count()} CPUs, load average {load})\n")
    table = []
    for name, (_, target) in rows.items():
        median, worst = statistics.median(samples[name]), max(samples[name])
        met = "—" if target is None else "yes" if median < target else "**no**"
        limit = "—" if target is None else f"< {target:g} s"
        table.append(
            [name, args.runs, f"{median * 1000:.0f} ms", f"{worst * 1000:.0f} ms", limit, met]
        )
    print("\n".join(cli.table(["boot", "runs", "median", "max", "target", "met"], table)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
