"""Start-up cost of the ``bastion`` command: ``python -m bench.cli``.

Times, as wall clock from spawn to exit, ``bastion --version``, ``bastion --help`` (also
with ``--profile``, which loads the profile to list its ``cli`` manifests) and
``bastion admin tokens issue admin`` against a migrated SQLite profile in a temporary
directory, interleaved with ``python -c pass`` (the interpreter's own start, the baseline)
in the same run. The extension command index is warmed by one ``--help`` before timing
(the first ``--help`` after an install or a code change imports every extension once).

Options: ``--runs N`` (default 10).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASTION = str(Path(sys.executable).parent / "bastion")
TARGETS = {"--version": 0.3, "--help": 0.3, "admin tokens issue": 1.0}


def _profile(directory: Path) -> Path:
    directory.mkdir()
    (directory / "profile.yaml").write_text(
        "name: bench\n"
        f'database: {{url: "sqlite+aiosqlite:///{directory / "bastion.db"}"}}\n'
        "secrets_file: secrets.yaml\n"
        "security: {bootstrap_admin: {name: admin}}\n"
        "logging: {level: warning}\n"
    )
    secrets_file = directory / "secrets.yaml"
    secrets_file.write_text(f"jwt_signing_key: {secrets.token_urlsafe(48)}\n")
    secrets_file.chmod(0o600)
    return directory


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bastion-cli-") as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}
        env["XDG_CACHE_HOME"] = str(workdir / "cache")
        profile = str(_profile(workdir / "profile"))
        subprocess.run([BASTION, "--profile", profile, "db", "migrate"], env=env, check=True)
        subprocess.run([BASTION, "--help"], env=env, check=True, capture_output=True)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "--version": [BASTION, "--version"],
            "--help": [BASTION, "--help"],
            # names a profile: its ``cli`` manifests are listed, so the profile is loaded
            "--profile P --help": [BASTION, "--profile", profile, "--help"],
            "admin tokens issue": [
                BASTION,
                "--profile",
                profile,
                "admin",
                "tokens",
                "issue",
                "admin",
            ],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(_timed(argv, env))
            print(
                f"run {i + 1:2d}: "
                + ", ".join(f"{n} {s[-1] * 1000:.0f} ms" for n, s in samples.items()),
                file=sys.stderr,
            )

    load = os.getloadavg()
    baseline = statistics.median(samples["python -c pass"])
    print(
        f"\n`bastion` start-up ({sys.executable}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}), {args.runs} runs each\n"
    )
    print("| command | median | max | x `python -c pass` | target | met |")
    print("|---|---|---|---|---|---|")
    for name, values in samples.items():
        median, worst = statistics.median(values), max(values)
        target = TARGETS.get(name)
        met = "—" if target is None else ("yes" if median < target else "**no**")
        limit = "—" if target is None else f"< {target * 1000:.0f} ms"
        print(
            f"| `{name}` | {median * 1000:.0f} ms | {worst * 1000:.0f} ms "
            f"| {median / baseline:.1f} | {limit} | {met} |"
        )


if __name__ == "__main__":
    main()
