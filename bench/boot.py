"""Boot of the built-in local profile to ready: ``python -m bench.boot``.

Each run spawns ``bastion serve --port <free>`` with no profile, in a fresh temporary
working directory, so the built-in profile creates ``./.bastion/`` (signing secret, SQLite
database, every migration, the bootstrap admin): a first boot. A second ``serve`` in the
same directory is the warm boot. The clock runs from just before the spawn to the first
``200`` from ``GET /api/v1/ready``, polled every 5 ms; readiness flips only once the
listener accepts connections. ``python -c "import bastion.cli"`` (interpreter start and
imports, no boot) is timed alongside, as the floor under both.

Options: ``--runs N`` (default 10), ``--target SECONDS`` (default 2.0).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench._support.launch import free_port, stop

BASTION = Path(sys.executable).parent / "bastion"
POLL_SECONDS = 0.005
TIMEOUT_SECONDS = 60.0


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}


def _ready_status(port: int) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/api/v1/ready")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def boot_to_ready(workdir: Path) -> float:
    """Seconds from spawning ``bastion serve`` in ``workdir`` to the first ready 200."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("w") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(BASTION), "serve", "--port", str(port)],
            cwd=workdir,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            while True:
                if _ready_status(port) == 200:
                    elapsed = time.perf_counter() - started
                    break
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"bastion serve exited {proc.returncode}:\n{log.read_text()}"
                    )
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    raise RuntimeError(f"not ready after {TIMEOUT_SECONDS}s:\n{log.read_text()}")
                time.sleep(POLL_SECONDS)
        finally:
            stop(proc, 15)
    return elapsed


def import_floor(workdir: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import bastion.cli"],
        cwd=workdir,
        env=_env(),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _row(name: str, samples: list[float], target: float | None) -> str:
    median, worst = statistics.median(samples), max(samples)
    verdict = "—" if target is None else ("yes" if median < target else "**no**")
    limit = "—" if target is None else f"< {target:g} s"
    return (
        f"| {name} | {len(samples)} | {median * 1000:.0f} ms | {worst * 1000:.0f} ms "
        f"| {limit} | {verdict} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--target", type=float, default=2.0)
    args = parser.parse_args()

    cold: list[float] = []
    warm: list[float] = []
    floor: list[float] = []
    measure: list[tuple[list[float], Callable[[Path], float]]] = [
        (cold, boot_to_ready),  # first boot: creates ./.bastion
        (warm, boot_to_ready),  # second boot: .bastion exists, nothing to migrate
        (floor, import_floor),
    ]
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bastion-boot-") as tmp:
            workdir = Path(tmp)
            for samples, fn in measure:
                samples.append(fn(workdir))
            assert (workdir / ".bastion" / "bastion.db").is_file()
        print(
            f"run {i + 1:2d}: first {cold[-1] * 1000:5.0f} ms, second {warm[-1] * 1000:5.0f} ms",
            file=sys.stderr,
        )

    load = os.getloadavg()
    print(
        f"\nBoot of the built-in local profile to ready ({sys.executable}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})\n"
    )
    print("| boot | runs | median | max | target | met |")
    print("|---|---|---|---|---|---|")
    print(_row("first boot (creates .bastion/, migrates, bootstrap admin)", cold, args.target))
    print(_row("second boot (existing .bastion/)", warm, args.target))
    print(_row("`python -c 'import bastion.cli'` (no boot: the floor)", floor, None))


if __name__ == "__main__":
    main()
