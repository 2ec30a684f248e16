"""``python -m bench.compare``: Bastion vs LiteLLM proxy vs the mock upstream called
directly, side by side in one invocation, alternating rounds, on the same mock
(``bench._support.llm``: the mock, Bastion and the request are those of ``bench.gateway``).

Phases (full run; ``--quick`` shortens every one):

1. concurrency 1 (wrk): direct, Bastion, LiteLLM, Anthropic passthrough;
2. 200 connections (wrk): direct, Bastion and LiteLLM passthrough, plus Bastion and
   LiteLLM on the translation path (Anthropic ingress, OpenAI-compatible upstream);
3. fixed rate (aiohttp open-loop client): a calibration against the mock, then a low
   rate for all three and a high rate for direct and Bastion (and LiteLLM when its
   measured capacity allows it);
4. streaming (aiohttp SSE client, concurrency 1): TTFB and time to last byte, passthrough
   and translation;
5. memory soak (wrk): at least 200,000 requests through Bastion, RSS sampled throughout;
6. py-spy of Bastion under load when a target was missed;
7. Bastion stopped with SIGINT (its audit queue drains), ``ai_requests`` counted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._support import cli, launch, llm, wrk

from . import litellm, load, report

WORK = litellm.BENCH / ".work" / "compare"
VARIANTS = ["direct", "bastion", "litellm", "bastion-translation", "litellm-translation"]
RATES = {"low": 20.0, "high": 500.0}  # req/s: the low one for all three
# per mode: rounds, seconds per c1 / cN / fixed-rate round, streamed requests per variant,
# soak requests and its longest run, the whole run's budget (the soak ends early to keep
# it), py-spy seconds
MODES = {
    "full": (3, 3.0, 4.0, 5.0, 150, 200_000, 330.0, 570.0, 10),
    "quick": (1, 2.0, 3.0, 3.0, 30, 20_000, 40.0, 240.0, 5),
}


def parse(argv: list[str]) -> Any:
    p = cli.parser("bench.compare", __doc__, connections=200)
    p.add_argument("--quick", action="store_true", help="a short run (about 3 minutes)")
    p.add_argument("--rounds", type=int, help="alternating rounds per wrk phase (3; quick 1)")
    p.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        default="auto",
        help="py-spy Bastion under load: when a target is missed (auto), always or never",
    )
    p.add_argument("--no-write", action="store_true", help="print only; write no result files")
    args = p.parse_args(argv)
    values = MODES["quick" if args.quick else "full"]
    keys = "rounds c1_seconds cN_seconds rate_seconds stream_requests soak_requests"
    for key, value in zip(
        [*keys.split(), "soak_max_seconds", "budget", "spy_seconds"], values, strict=True
    ):
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def log(message: str) -> None:
    print(f"[bench.compare {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Compare:
    def __init__(self, args: Any, argv: list[str]) -> None:
        self.args, self.started = args, time.monotonic()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.ws = launch.Workspace("compare", root=WORK / stamp)
        command = "python -m bench.compare" + (" " + shlex.join(argv) if argv else "")
        config = {k: v for k, v in vars(args).items() if k != "no_write"}
        self.h = llm.Harness(self.ws, command, config)
        self.data = self.h.data
        self.data |= {"phase_seconds": {}, "foreign_cpu": {}, "environment": environment()}
        self.pids: list[int] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Log the phase; record its seconds and the CPU share others used meanwhile."""
        log(f"phase {name} (t={self.elapsed():.0f}s)")
        before = load.cpu_sample(self.pids)
        yield
        self.data["phase_seconds"][name] = round(time.monotonic() - before[0], 1)
        share = load.foreign_share(before, load.cpu_sample(self.pids))
        self.data["foreign_cpu"][name] = round(share, 3)

    def rss(self) -> dict[str, int]:
        return {name: load.rss_kib(s.pid) for name, s in self.ws.servers.items()}

    def setup(self) -> None:
        with self.phase("setup"):
            wrk.ensure()
            litellm.ensure()
            mock = self.h.start()
            server, argv = litellm.start(self.ws, mock)
            self.h.add("litellm", server.url, {"x-api-key": litellm.MASTER_KEY})
        self.pids = [s.pid for s in self.ws.servers.values()]
        self.data["rss_kib_after_boot"] = self.rss()
        self.data["litellm"] = {
            "version": litellm.VERSION,
            "argv": " ".join(argv),
            "config": json.dumps(litellm.config(mock)).replace(litellm.MASTER_KEY, "sk-bench-..."),
        }
        self.h.sanity()

    def fixed_rate_phase(self) -> None:
        a, s = self.args, self.data["scenarios"]

        def run(variant: str, rate: float) -> dict[str, Any]:
            v = self.h.variants[variant]
            result = load.fixed_rate(
                v.url, v.body(), self.h.headers(variant, "rate"), rate, a.rate_seconds
            )
            self.h.count(variant, result["sent"])
            return result | {"variant": variant}

        # Headroom: the client alone against the mock at twice the highest rate used (the
        # direct runs below are the client's floor at the rates themselves).
        out: dict[str, Any] = {"calibration": [run("direct", RATES["high"] * 2)]}
        capacity = max(s[phase]["summary"]["litellm"]["rps"] for phase in ("c1", "cN"))
        for label, rate in RATES.items():
            results: dict[str, Any] = {}
            for variant in ("direct", "bastion", "litellm"):
                if variant == "litellm" and rate > 0.8 * capacity:
                    results[variant] = {
                        "skipped": f"{rate:g} req/s is above 80% of LiteLLM's best measured "
                        f"throughput ({capacity:.0f} req/s): an open-loop run would only "
                        "measure its queue growing"
                    }
                else:
                    results[variant] = run(variant, rate)
            out[label] = {"rate": rate, "results": results}
        s["fixed_rate"] = out

    def soak(self) -> None:
        """wrk rounds at 20 connections through Bastion until ``soak_requests`` have been
        sent or the time left runs out; RSS sampled every second and at round ends."""
        a = self.args
        # Leave time for the profile (two rounds), the drain, the row count and the chart.
        cap = max(10.0, min(a.soak_max_seconds, a.budget - self.elapsed() - 2 * a.spy_seconds - 25))
        pid, url, lua = (
            self.ws.servers["bastion"].pid,
            self.h.variants["bastion"].url,
            self.h.script("bastion", "soak"),
        )
        samples: list[tuple[float, int]] = []
        stop, t0 = threading.Event(), time.monotonic()

        def sampler() -> None:
            while not stop.is_set():
                samples.append((round(time.monotonic() - t0, 2), load.rss_kib(pid)))
                stop.wait(1.0)

        boundaries = [{"t": 0.0, "sent": 0, "rss_kib": load.rss_kib(pid)}]
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        rounds: list[wrk.Run] = []
        sent, estimate = 0, max(50.0, self.data["scenarios"]["cN"]["summary"]["bastion"]["rps"])
        while sent < a.soak_requests and time.monotonic() - t0 < cap:
            seconds = min(15.0, max(2.0, (a.soak_requests - sent) / estimate * 1.03))
            r = wrk.run(
                "bastion", url, lua, min(seconds, max(1.0, cap - (time.monotonic() - t0))), 20
            )
            rounds.append(r)
            sent += r.sent
            estimate = max(50.0, r.sent / r.duration_s)
            boundaries.append(
                {"t": round(time.monotonic() - t0, 2), "sent": sent, "rss_kib": load.rss_kib(pid)}
            )
        stop.set()
        thread.join()
        self.h.count("bastion", sent)
        middle = min(boundaries[1:] or boundaries, key=lambda b: abs(b["sent"] - sent / 2))
        end = boundaries[-1]
        peak = max((s[1] for s in samples), default=end["rss_kib"])
        self.data["scenarios"]["soak"] = {
            "bastion": {
                "generator": "wrk (1 thread), consecutive rounds",
                "connections": 20,
                "requested": a.soak_requests,
                "sent": sent,
                "ok": sum(r.ok for r in rounds),
                "errors": sum(r.errors for r in rounds),
                "seconds": round(time.monotonic() - t0, 1),
                "rps": sum(r.ok for r in rounds) / max(1e-9, sum(r.duration_s for r in rounds)),
                "rss_kib": {
                    "start": boundaries[0]["rss_kib"],
                    "middle": middle["rss_kib"],
                    "end": end["rss_kib"],
                    "peak": peak,
                },
                "middle_at_sent": middle["sent"],
                "growth_middle_to_end": (end["rss_kib"] - middle["rss_kib"]) / middle["rss_kib"],
                "boundaries": boundaries,
                "samples": samples,
                "p50": statistics.median(r.p50 for r in rounds) if rounds else None,
                "p99": statistics.median(r.p99 for r in rounds) if rounds else None,
            }
        }

    def profile_phase(self, missed: list[str]) -> None:
        a = self.args
        if a.profile == "never" or (a.profile == "auto" and not missed):
            return
        wanted = [("cN", a.connections)]
        if a.profile == "always" or "c1-overhead" in missed:
            wanted.append(("c1", 1))
        for name, connections in wanted:
            out = self.ws.dir / f"py-spy-bastion-{name}.txt"
            self.h.profile(name, connections, a.spy_seconds, out)
            self.data["profiles"][name]["raw"] = str(out.relative_to(litellm.BENCH.parent))

    def run(self) -> int:
        a = self.args
        with self.ws:
            self.setup()
            with self.phase("c1"):
                self.h.wrk_phase("c1", 1, a.c1_seconds, a.rounds, VARIANTS[:3])
            with self.phase("cN"):
                self.h.wrk_phase("cN", a.connections, a.cN_seconds, a.rounds, VARIANTS)
            with self.phase("fixed_rate"):
                self.fixed_rate_phase()
            with self.phase("streaming"):
                self.h.stream_phase(a.stream_requests, VARIANTS, warm_up=10)
            with self.phase("soak"):
                self.soak()
            self.data["rss_kib_end"] = self.rss()
            with self.phase("profile"):
                self.profile_phase([t[0] for t in report.targets(self.data) if not t[3]])
            self.h.finish()
        self.data["targets"] = report.targets(self.data)
        self.data["seconds_total"] = round(self.elapsed(), 1)
        self.data["work_dir"] = str(self.ws.dir.relative_to(litellm.BENCH.parent))
        self.data["bastion_profile"] = (self.ws.profile / "profile.yaml").read_text()
        (self.ws.dir / "bastion.db").unlink(missing_ok=True)
        (self.ws.dir / "results.json").write_text(json.dumps(self.data, indent=1, default=str))
        markdown = report.markdown(self.data)
        print(markdown)
        if not a.no_write:
            write(self.data, markdown)
        log(f"done in {self.elapsed():.0f}s")
        return 0


def write(data: dict[str, Any], markdown: str) -> None:
    """``bench/results.json``, the chart, a section appended to ``compare/RESULTS.md``;
    the last three work directories (logs, Lua scripts, py-spy profiles) kept."""
    results, here = litellm.BENCH / "results.json", litellm.BENCH / "compare"
    results.write_text(json.dumps(data, indent=1, default=str) + "\n")
    argv = [str(litellm.PYTHON), str(here / "chart.py"), str(results), str(here / "chart.png")]
    made = subprocess.run(argv, capture_output=True, text=True)
    if made.returncode != 0:
        log(f"chart failed: {made.stderr[-2000:]}")
    out = here / "RESULTS.md"
    header = "" if out.exists() else report.HEADER
    with out.open("a") as handle:
        handle.write(header + markdown + "\n")
    log(f"wrote {out}, {results}, {here / 'chart.png'}")
    for old in sorted(WORK.iterdir())[:-3]:
        shutil.rmtree(old, ignore_errors=True)


def environment() -> dict[str, Any]:
    def run(*argv: str) -> str:
        return subprocess.run(
            argv, capture_output=True, text=True, cwd=litellm.BENCH
        ).stdout.strip()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
        "wrk": (wrk_version.stdout + wrk_version.stderr).split("\n", 1)[0],
        "litellm": litellm.VERSION,
        "bastion_commit": run("git", "rev-parse", "--short", "HEAD"),
        "bastion_tree_dirty": bool(
            run("git", "status", "--porcelain", "--untracked-files=no", "../src")
        ),
        "loadavg_at_start": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return Compare(parse(argv), argv).run()
