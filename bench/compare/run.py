"""``python -m bench.compare``: Bastion vs LiteLLM proxy vs the mock upstream called
directly, side by side in one invocation, alternating rounds, on the same mock.

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

import argparse
import contextlib
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
from pathlib import Path
from typing import Any

from bench._support import fakes, spy
from bench._support import wrk as kit
from bench._support.measure import percentile, stream_rounds

from . import load, report, servers, tools
from .cpu import CpuMeter

MESSAGES = "/v1/messages"
JSON = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
SYSTEM = (
    "You are a careful senior engineer helping with a billing service written in Python. "
    "Answer concisely, cite file paths when you refer to code, and never invent APIs. "
) * 4
TURNS = [
    {
        "role": "user",
        "content": "The nightly invoice export fails on the first day of each month with a "
        "timeout from the reporting database. The job starts at 00:05 UTC and the partition "
        "for the new month is created at the same time. " * 3,
    },
    {
        "role": "assistant",
        "content": "The export and the partition job contend for the same lock. Which "
        "database are you on, and how is the partition created?",
    },
    {
        "role": "user",
        "content": "PostgreSQL 16; pg_partman creates the partition from a cron job. How "
        "should the export wait for it, and what should it do on a timeout? " * 2,
    },
]


def request_body(model: str, stream: bool = False) -> bytes:
    body: dict[str, Any] = {"model": model, "max_tokens": 1024, "system": SYSTEM}
    if stream:
        body["stream"] = True
    body["messages"] = TURNS
    return json.dumps(body, separators=(",", ":")).encode()


def log(message: str) -> None:
    print(f"[bench.compare {time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a short run (about 3 minutes)")
    p.add_argument("--rounds", type=int, help="alternating rounds per wrk phase (3; quick 1)")
    p.add_argument("--c1-seconds", type=float, help="seconds per concurrency-1 round (4)")
    p.add_argument("--c200-seconds", type=float, help="seconds per 200-connection round (5)")
    p.add_argument("--connections", type=int, default=200)
    p.add_argument("--rate-low", type=float, default=20.0, help="fixed rate for all three")
    p.add_argument("--rate-high", type=float, default=500.0, help="fixed rate, direct and Bastion")
    p.add_argument("--rate-seconds", type=float, help="seconds per fixed-rate run (6)")
    p.add_argument("--stream-requests", type=int, help="SSE requests per variant (150)")
    p.add_argument("--soak-requests", type=int, help="requests through Bastion (200000)")
    p.add_argument("--soak-connections", type=int, default=20)
    p.add_argument("--soak-max-seconds", type=float, help="stop the soak early after this")
    p.add_argument(
        "--budget-seconds",
        type=float,
        help="whole-run budget incl. installs (570; quick 240): the soak stops early to keep it",
    )
    p.add_argument("--litellm-soak-requests", type=int, default=0, help="also soak LiteLLM")
    p.add_argument("--latency-ms", type=float, default=0.0, help="the mock's fixed latency")
    p.add_argument("--stream-interval-ms", type=float, default=0.0, help="between SSE events")
    p.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        default="auto",
        help="py-spy Bastion under load: when a target is missed (auto), always or never",
    )
    p.add_argument("--profile-seconds", type=int, help="py-spy duration (10; quick 5)")
    p.add_argument("--no-write", action="store_true", help="print only; write no result files")
    args = p.parse_args(argv)
    full = {
        "rounds": 3,
        "c1_seconds": 3.0,
        "c200_seconds": 4.0,
        "rate_seconds": 5.0,
        "stream_requests": 150,
        "soak_requests": 200_000,
        "soak_max_seconds": 330.0,
        "budget_seconds": 570.0,
        "profile_seconds": 10,
    }
    quick = {
        "rounds": 1,
        "c1_seconds": 2.0,
        "c200_seconds": 3.0,
        "rate_seconds": 3.0,
        "stream_requests": 30,
        "soak_requests": 20_000,
        "soak_max_seconds": 40.0,
        "budget_seconds": 240.0,
        "profile_seconds": 5,
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, argv: list[str]) -> None:
        self.args = args
        self.argv = argv
        self.started = time.monotonic()
        self.sent_to_bastion = 0
        self.data: dict[str, Any] = {"scenarios": {}, "phase_seconds": {}, "foreign_cpu": {}}
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.work = tools.BENCH / ".work" / "compare" / stamp
        self.work.mkdir(parents=True, exist_ok=True)
        self.cpu = CpuMeter([])

    # -- helpers ----------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def script(self, name: str, body: bytes, headers: dict[str, str], client: str) -> Path:
        """The wrk Lua script posting ``body`` to Anthropic /v1/messages."""
        path = self.work / f"{name}.json"
        path.write_bytes(body)
        return kit.script(
            self.work / f"{name}.lua", path, {**JSON, **headers, "x-client-id": client}
        )

    def phase(self, name: str) -> Any:
        bench = self

        class _Phase:
            def __enter__(self) -> None:
                log(f"phase {name} (t={bench.elapsed():.0f}s)")
                self.t0 = time.monotonic()
                self.cpu0 = bench.cpu.sample()

            def __exit__(self, *exc: object) -> None:
                bench.data["phase_seconds"][name] = round(time.monotonic() - self.t0, 1)
                share = CpuMeter.foreign_share(self.cpu0, bench.cpu.sample())
                bench.data["foreign_cpu"][name] = round(share, 3)

        return _Phase()

    def variants(self) -> dict[str, tuple[str, bytes, dict[str, str]]]:
        """variant -> (base url, body, headers); every request on Anthropic /v1/messages."""
        anthropic = request_body(servers.ANTHROPIC_MODEL)
        openai = request_body(servers.OPENAI_MODEL)
        direct_headers = {"x-api-key": servers.MOCK_KEY}
        return {
            "direct": (self.mock.url, anthropic, direct_headers),
            "bastion": (self.bastion.url, anthropic, self.bastion.headers),
            "litellm": (self.litellm.url, anthropic, self.litellm.headers),
            "bastion-translation": (self.bastion.url, openai, self.bastion.headers),
            "litellm-translation": (self.litellm.url, openai, self.litellm.headers),
        }

    def count(self, variant: str, sent: int) -> None:
        if variant.startswith("bastion"):
            self.sent_to_bastion += sent

    # -- setup ------------------------------------------------------------------------------

    def setup(self) -> None:
        with self.phase("setup"):
            kit.ensure()
            tools.ensure_harness_venv()
            a = self.args
            self.mock = servers.start_mock(self.work, a.latency_ms, a.stream_interval_ms)
            self.bastion = servers.start_bastion(self.work, self.mock.url)
            self.litellm = servers.start_litellm(self.work, self.mock.url)
        self.cpu.pids = [self.mock.pid, self.bastion.pid, self.litellm.pid]
        self.data["rss_kib_after_boot"] = {
            "bastion": servers.rss_kib(self.bastion.pid),
            "litellm": servers.rss_kib(self.litellm.pid),
            "mock": servers.rss_kib(self.mock.pid),
        }
        self.sanity()

    def sanity(self) -> None:
        """Every variant answers 200 with the mock's text, streaming and not."""
        import httpx

        checks: dict[str, str] = {}
        for variant, (url, body, headers) in self.variants().items():
            for stream in (False, True):
                data = (
                    body
                    if not stream
                    else body.replace(b'"max_tokens"', b'"stream":true,"max_tokens"', 1)
                )
                self.count(variant, 1)
                reply = httpx.post(
                    url + MESSAGES,
                    content=data,
                    headers={**JSON, **headers, "x-client-id": "bench-sanity"},
                    timeout=30,
                )
                ok = reply.status_code == 200 and (
                    ("message_stop" in reply.text and "text_delta" in reply.text)
                    if stream
                    else reply.json()["content"][0]["text"] == fakes.TEXT
                )
                checks[f"{variant}{' stream' if stream else ''}"] = (
                    "ok" if ok else f"FAILED {reply.status_code}: {reply.text[:300]}"
                )
        self.data["sanity"] = checks
        failed = {k: v for k, v in checks.items() if v != "ok"}
        if failed:
            log(f"sanity failures: {failed}")

    # -- wrk phases -------------------------------------------------------------------------

    def wrk_phase(
        self, name: str, connections: int, seconds: float, variants: list[str]
    ) -> list[load.Result]:
        table = self.variants()
        scripts = {}
        for v in variants:
            _url, body, headers = table[v]
            scripts[v] = self.script(f"{name}-{v}", body, headers, f"bench-{name}")
        for v in variants:  # warm-up, discarded
            r = load.wrk(v, table[v][0] + MESSAGES, scripts[v], 2, connections)
            self.count(v, r.sent)
        results: list[load.Result] = []
        order = list(variants)
        for _ in range(self.args.rounds):
            for v in order:
                r = load.wrk(v, table[v][0] + MESSAGES, scripts[v], seconds, connections)
                self.count(v, r.sent)
                results.append(r)
                time.sleep(0.3)
            order.reverse()
        self.data["scenarios"][name] = {
            "generator": "wrk (1 thread, Lua script)",
            "connections": connections,
            "seconds_per_round": seconds,
            "rounds": [r.as_dict() for r in results],
            "summary": summarise_rounds(results),
        }
        return results

    # -- fixed rate -------------------------------------------------------------------------

    def fixed_rate_phase(self) -> None:
        a = self.args
        table = self.variants()
        out: dict[str, Any] = {"generator": "aiohttp open-loop fixed-rate client (uvloop)"}

        def run(variant: str, rate: float) -> dict[str, Any]:
            url, body, headers = table[variant]
            r = load.fixed_rate(
                variant,
                url + MESSAGES,
                body,
                {**JSON, **headers, "x-client-id": "bench-rate"},
                rate,
                a.rate_seconds,
            )
            self.count(variant, r.sent)
            return r.as_dict()

        # Headroom: the client alone against the mock at twice the highest rate used (the
        # direct runs below are the client's floor at the rates themselves).
        out["calibration"] = [run("direct", a.rate_high * 2)]
        litellm_capacity = max(
            self.data["scenarios"][phase]["summary"]["litellm"]["rps"] for phase in ("c1", "c200")
        )
        for label, rate in (("low", a.rate_low), ("high", a.rate_high)):
            rows: dict[str, Any] = {}
            for variant in ("direct", "bastion", "litellm"):
                if variant == "litellm" and rate > 0.8 * litellm_capacity:
                    rows[variant] = {
                        "skipped": f"{rate:g} req/s is above 80% of LiteLLM's best measured "
                        f"throughput ({litellm_capacity:.0f} req/s): an open-loop "
                        "run would only measure its queue growing"
                    }
                    continue
                rows[variant] = run(variant, rate)
            out[label] = {"rate": rate, "results": rows}
        self.data["scenarios"]["fixed_rate"] = out

    # -- streaming --------------------------------------------------------------------------

    def stream_phase(self) -> None:
        table = self.variants()
        names = ["direct", "bastion", "litellm", "bastion-translation", "litellm-translation"]
        targets = {
            v: (
                table[v][0] + MESSAGES,
                table[v][1].replace(b'"max_tokens"', b'"stream":true,"max_tokens"', 1),
                {**JSON, **table[v][2], "x-client-id": "bench-stream"},
            )
            for v in names
        }
        tallies = stream_rounds(targets, self.args.stream_requests, warm_up=10)
        for v, tally in tallies.items():
            self.count(v, tally.sent + 10)
        self.data["scenarios"]["streaming"] = {
            "generator": "aiohttp SSE client (uvloop), concurrency 1",
            "results": {v: load.summarise_stream(v, tallies[v], 1) for v in names},
        }

    # -- soak -------------------------------------------------------------------------------

    def soak(
        self, server: servers.Server, variant: str, total: int, seconds_cap: float
    ) -> dict[str, Any]:
        a = self.args
        url, body, headers = self.variants()[variant]
        script = self.script(f"soak-{variant}", body, headers, "bench-soak")
        samples: list[tuple[float, int]] = []
        boundaries: list[dict[str, Any]] = []
        stop = threading.Event()
        t0 = time.monotonic()

        def sampler() -> None:
            while not stop.is_set():
                samples.append((round(time.monotonic() - t0, 2), servers.rss_kib(server.pid)))
                stop.wait(1.0)

        thread = threading.Thread(target=sampler, daemon=True)
        start_rss = servers.rss_kib(server.pid)
        boundaries.append({"t": 0.0, "sent": 0, "rss_kib": start_rss})
        thread.start()
        sent = ok = errors = 0
        rps_estimate = max(50.0, self.data["scenarios"]["c200"]["summary"][variant]["rps"])
        rounds: list[dict[str, Any]] = []
        while sent < total and time.monotonic() - t0 < seconds_cap:
            remaining = total - sent
            seconds = min(15.0, max(2.0, remaining / rps_estimate * 1.03))
            seconds = min(seconds, max(1.0, seconds_cap - (time.monotonic() - t0)))
            r = load.wrk(variant, url + MESSAGES, script, seconds, a.soak_connections)
            self.count(variant, r.sent)
            sent += r.sent
            ok += r.ok
            errors += r.errors
            rps_estimate = max(50.0, r.sent / r.duration_s)
            rounds.append(r.as_dict())
            boundaries.append(
                {
                    "t": round(time.monotonic() - t0, 2),
                    "sent": sent,
                    "rss_kib": servers.rss_kib(server.pid),
                }
            )
        stop.set()
        thread.join()
        middle = (
            min(boundaries[1:], key=lambda b: abs(b["sent"] - sent / 2))
            if len(boundaries) > 1
            else boundaries[0]
        )
        end = boundaries[-1]
        return {
            "generator": "wrk (1 thread), consecutive rounds",
            "connections": a.soak_connections,
            "requested": total,
            "sent": sent,
            "ok": ok,
            "errors": errors,
            "seconds": round(time.monotonic() - t0, 1),
            "rps": ok / max(1e-9, sum(r["duration_s"] for r in rounds)),
            "rss_kib": {
                "start": start_rss,
                "middle": middle["rss_kib"],
                "end": end["rss_kib"],
                "peak": max(s[1] for s in samples) if samples else end["rss_kib"],
            },
            "middle_at_sent": middle["sent"],
            "growth_middle_to_end": (end["rss_kib"] - middle["rss_kib"]) / middle["rss_kib"],
            "boundaries": boundaries,
            "samples": samples,
            "p50": statistics.median(r["p50"] for r in rounds) if rounds else None,
            "p99": statistics.median(r["p99"] for r in rounds) if rounds else None,
        }

    def soak_phase(self) -> None:
        a = self.args
        # Leave time for the profile (two rounds), the drain, the row count and the chart.
        reserve = 2 * a.profile_seconds + 25
        a.soak_max_seconds = max(
            10.0, min(a.soak_max_seconds, a.budget_seconds - self.elapsed() - reserve)
        )
        result = {
            "bastion": self.soak(self.bastion, "bastion", a.soak_requests, a.soak_max_seconds)
        }
        if a.litellm_soak_requests:
            result["litellm"] = self.soak(
                self.litellm, "litellm", a.litellm_soak_requests, a.soak_max_seconds
            )
        self.data["scenarios"]["soak"] = result

    # -- profile ----------------------------------------------------------------------------

    def profile_phase(self, missed: list[str]) -> None:
        a = self.args
        if a.profile == "never" or (a.profile == "auto" and not missed):
            return
        table = self.variants()
        url, body, headers = table["bastion"]
        profiles: dict[str, Any] = {}
        wanted = [("c200", a.connections)]
        if a.profile == "always" or any(m.startswith("c1") for m in missed):
            wanted.append(("c1", 1))
        for name, connections in wanted:
            script = self.script(f"profile-{name}", body, headers, f"bench-profile-{name}")
            out = self.work / f"py-spy-bastion-{name}.txt"
            seconds = a.profile_seconds
            summary, r = spy.record(
                self.bastion.pid,
                out,
                seconds,
                lambda s=script, c=connections, d=seconds: load.wrk(
                    "bastion", url + MESSAGES, s, d - 1, c
                ),
            )
            self.count("bastion", r.sent)
            profiles[name] = {
                "connections": connections,
                "raw": str(out.relative_to(tools.REPO)),
                "command": f"py-spy record -p <pid> -d {seconds} -r 200 -f raw -o {out.name}",
                "load": r.as_dict(),
                "summary": summary,
            }
        self.data["profiles"] = profiles

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> int:
        a = self.args
        self.data["command"] = "python -m bench.compare" + (
            " " + shlex.join(self.argv) if self.argv else ""
        )
        self.data["config"] = {k: v for k, v in vars(a).items() if k != "no_write"}
        self.data["started_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.data["environment"] = environment()
        try:
            self.setup()
            with self.phase("c1"):
                self.wrk_phase("c1", 1, a.c1_seconds, ["direct", "bastion", "litellm"])
            with self.phase("c200"):
                self.wrk_phase(
                    "c200",
                    a.connections,
                    a.c200_seconds,
                    ["direct", "bastion", "litellm", "bastion-translation", "litellm-translation"],
                )
            with self.phase("fixed_rate"):
                self.fixed_rate_phase()
            with self.phase("streaming"):
                self.stream_phase()
            with self.phase("soak"):
                self.soak_phase()
            self.data["rss_kib_end"] = {
                "bastion": servers.rss_kib(self.bastion.pid),
                "litellm": servers.rss_kib(self.litellm.pid),
            }
            missed = [
                t["id"] for t in report.targets(self.data, audit_pending=True) if t["met"] is False
            ]
            with self.phase("profile"):
                self.profile_phase(missed)
            self.data["bastion_post_count"] = servers.bastion_post_count(self.bastion)
        finally:
            code = self.bastion.stop() if hasattr(self, "bastion") else None
            if hasattr(self, "litellm"):
                self.litellm.stop()
            if hasattr(self, "mock"):
                self.mock.stop()
        self.data["bastion_exit_code"] = code
        audit = servers.audit_rows(self.bastion.extra["db"])
        overhead = audit.pop("overhead_ms")
        audit["sent"] = self.sent_to_bastion
        audit["bastion_post_count"] = self.data.get("bastion_post_count")
        audit["overhead_ms_by_phase"] = {
            client: {"n": len(v), "p50": percentile(v, 50), "p99": percentile(v, 99)}
            for client, v in sorted(overhead.items())
        }
        self.data["audit"] = audit
        self.data["targets"] = report.targets(self.data)
        self.data["seconds_total"] = round(self.elapsed(), 1)
        self.data["work_dir"] = str(self.work.relative_to(tools.REPO))
        self.data["litellm"] = {
            "version": tools.LITELLM_VERSION,
            "argv": " ".join(
                Path(x).name if i == 0 else x for i, x in enumerate(self.litellm.extra["argv"])
            ),
            "config": self.litellm.extra["config"].replace(
                servers.LITELLM_MASTER_KEY, "sk-bench-..."
            ),
        }
        self.data["bastion_profile"] = (self.bastion.extra["profile"] / "profile.yaml").read_text()
        (self.bastion.extra["db"]).unlink(missing_ok=True)
        (self.work / "results.json").write_text(json.dumps(self.data, indent=1, default=str))
        markdown = report.markdown(self.data)
        print(markdown)
        if not a.no_write:
            self.write(markdown)
        log(f"done in {self.elapsed():.0f}s")
        return 0

    def write(self, markdown: str) -> None:
        results = tools.BENCH / "results.json"
        results.write_text(json.dumps(self.data, indent=1, default=str) + "\n")
        chart = tools.BENCH / "compare" / "chart.png"
        made = subprocess.run(
            [
                str(tools.harness_python()),
                str(tools.BENCH / "compare" / "chart.py"),
                str(results),
                str(chart),
            ],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            log(f"chart failed: {made.stderr[-2000:]}")
        out = tools.BENCH / "compare" / "RESULTS.md"
        header = "" if out.exists() else report.HEADER
        with out.open("a") as handle:
            handle.write(header + markdown + "\n")
        log(
            f"wrote {out.relative_to(tools.REPO)}, {results.relative_to(tools.REPO)}, "
            f"{chart.relative_to(tools.REPO)}"
        )
        # keep the last three work directories (logs, Lua scripts, py-spy profiles)
        runs = sorted((tools.BENCH / ".work" / "compare").iterdir())
        for old in runs[:-3]:
            shutil.rmtree(old, ignore_errors=True)


def summarise_rounds(results: list[load.Result]) -> dict[str, Any]:
    by: dict[str, list[load.Result]] = {}
    for r in results:
        by.setdefault(r.variant, []).append(r)
    out: dict[str, Any] = {}
    for variant, rs in by.items():
        out[variant] = {
            "rounds": len(rs),
            "rps": statistics.median(r.rps for r in rs),
            "p50": statistics.median(r.p50 for r in rs),
            "p95": statistics.median(r.p95 for r in rs),
            "p99": statistics.median(r.p99 for r in rs),
            "max": max(r.max for r in rs),
            "sent": sum(r.sent for r in rs),
            "ok": sum(r.ok for r in rs),
            "errors": sum(r.errors for r in rs),
        }
    return out


def environment() -> dict[str, Any]:
    def run(*argv: str) -> str:
        try:
            return subprocess.run(
                argv, capture_output=True, text=True, cwd=tools.REPO
            ).stdout.strip()
        except OSError:
            return ""

    wrk = run("wrk", "--version") or run("sh", "-c", "wrk --version 2>&1")
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
        "wrk": wrk.splitlines()[0] if wrk else "",
        "litellm": tools.LITELLM_VERSION,
        "bastion_commit": run("git", "rev-parse", "--short", "HEAD"),
        "bastion_tree_dirty": bool(
            run("git", "status", "--porcelain", "--untracked-files=no", "src")
        ),
        "loadavg_at_start": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return Bench(parse(argv), argv).run()
