"""Start-up cost of the ``bastion`` command: ``python -m bench.cli``.

Times, as wall clock from spawn to exit, ``bastion --version``, ``bastion --help`` (also
with ``--profile``, which loads the profile to list its ``cli`` manifests) and
``bastion admin tokens issue admin`` against a migrated SQLite profile in a temporary
directory, interleaved with ``python -c pass`` (the interpreter's own start, the baseline)
in the same run. The extension command index is warmed by one ``--help`` before timing
(the first ``--help`` after an install or a code change imports every extension once).
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._support import cli
from bench._support.launch import BASTION

TARGETS = {"--version": 0.3, "--help": 0.3, "admin tokens issue": 1.0}
PROFILE = """name: bench
database: {{url: "sqlite+aiosqlite:///{dir}/bastion.db"}}
secrets_file: secrets.yaml
security: {{bootstrap_admin: {{name: admin}}}}
logging: {{level: warning}}
"""


def main(argv: list[str] | None = None) -> int:
    args = cli.parser("bench.cli", __doc__, runs=10).parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bastion-cli-") as tmp:
        profile = Path(tmp) / "profile"
        profile.mkdir()
        (profile / "profile.yaml").write_text(PROFILE.format(dir=profile))
        (profile / "secrets.yaml").write_text(f"jwt_signing_key: {secrets.token_urlsafe(48)}\n")
        (profile / "secrets.yaml").chmod(0o600)
        env = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}
        env["XDG_CACHE_HOME"] = f"{tmp}/cache"
        subprocess.run([BASTION, "--profile", str(profile), "db", "migrate"], env=env, check=True)
        subprocess.run([BASTION, "--help"], env=env, check=True, capture_output=True)
        named = [BASTION, "--profile", str(profile)]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "--version": [BASTION, "--version"],
            "--help": [BASTION, "--help"],
            # names a profile: its ``cli`` manifests are listed, so the profile is loaded
            "--profile P --help": [*named, "--help"],
            "admin tokens issue": [*named, "admin", "tokens", "issue", "admin"],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(args.runs):
            for name, command in commands.items():
                started = time.perf_counter()
                subprocess.run(command, env=env, check=True, capture_output=True)
                samples[name].append(time.perf_counter() - started)
            times = ", ".join(f"{n} {s[-1] * 1000:.0f} ms" for n, s in samples.items())
            print(f"run {i + 1:2d}: {times}", file=sys.stderr)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n`bastion` start-up ({sys.executable}, {os.cpu_count()} CPUs, ", end="")
    print(f"load average {load}), {args.runs} runs each\n")
    baseline, rows = statistics.median(samples["python -c pass"]), []
    for name, values in samples.items():
        median, target = statistics.median(values), TARGETS.get(name)
        met = "—" if target is None else "yes" if median < target else "**no**"
        limit = "—" if target is None else f"< {target * 1000:.0f} ms"
        times = [f"{median * 1000:.0f} ms", f"{max(values) * 1000:.0f} ms"]
        rows.append([f"`{name}`", *times, f"{median / baseline:.1f}", limit, met])
    head = ["command", "median", "max", "x `python -c pass`", "target", "met"]
    print("\n".join(cli.table(head, rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
