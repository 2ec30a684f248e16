"""The targets of issue 6, checked, and the Markdown appended to
``bench/compare/RESULTS.md``."""

from __future__ import annotations

from typing import Any

from bench._support import llm

HEADER = """# Bastion vs LiteLLM proxy vs direct: results

Written by `python -m bench.compare` (`make bench`); each run appends one section.
The chart of the latest run is [chart.png](chart.png); machine-readable results are in
`bench/results.json`. How it is measured: `bench/compare/README.md`.

"""
SIDES = ["direct", "bastion", "litellm"]
NAMES = {"bastion": "Bastion", "litellm": "LiteLLM"}
RATES_ORDER = ("low", "high")


def _litellm(data: dict[str, Any]) -> list[Any]:
    n, by = data["scenarios"]["cN"]["connections"], data["scenarios"]["cN"]["summary"]
    b, lt = by["bastion"]["rps"], by["litellm"]["rps"]
    versus = b / lt if lt else float("inf")
    measured = f"{versus:.1f}x ({b:,.0f} vs {lt:,.0f} req/s)"
    return [("cN-vs-litellm", f"{n} connections: >= 10x LiteLLM req/s", measured, versus >= 10)]


def targets(data: dict[str, Any]) -> list[Any]:
    found = llm.targets(data, _litellm)
    soak = data["scenarios"].get("soak", {}).get("bastion")
    if soak:
        g, rss, enough = soak["growth_middle_to_end"], soak["rss_kib"], soak["sent"] >= 200_000
        measured = f"{g:+.1%} ({rss['middle'] / 1024:.0f} -> {rss['end'] / 1024:.0f} MiB) over "
        measured += f"{soak['sent']:,} requests" + ("" if enough else " (fewer than 200,000)")
        target = "memory soak (>= 200,000 requests): RSS growth middle -> end < 10%"
        found.append(("soak", target, measured, g < 0.1 and enough))
    return found


def _fixed_rate(fr: dict[str, Any], seconds: float) -> list[str]:
    lines = []
    for label in RATES_ORDER:
        block = fr[label]
        by = {k: v for k, v in block["results"].items() if "skipped" not in v}
        title = f"fixed rate {block['rate']:g} req/s, open loop (aiohttp, {seconds:g} s)"
        rows = llm.side_rows(title, by, SIDES)
        rows[0] = rows[0].replace("| req/s |", "| achieved req/s |")
        if "litellm" not in by:
            cells = rows[0].split(" | ")
            cells[4] = "not run (see below)"
            rows[0] = " | ".join(cells)
        lines += rows
    return lines


def _mib(kib: dict[str, int], *keys: str) -> str:
    return " / ".join(f"{kib[k] / 1024:.0f}" for k in keys)


def markdown(data: dict[str, Any]) -> str:
    s, env, cfg = data["scenarios"], data["environment"], data["config"]
    fr, n = s["fixed_rate"], s["cN"]["connections"]
    soak, boot, end = s["soak"]["bastion"], data["rss_kib_after_boot"], data["rss_kib_end"]
    dirty = " with uncommitted changes in src/" if env["bastion_tree_dirty"] else ""
    lines = [
        f"## Run {data['started_utc']} ({'quick' if cfg['quick'] else 'full'})",
        "",
        "Command (from the repository root):",
        "",
        "```console",
        f"$ .venv/bin/{data['command']}",
        "```",
        "",
        f"Machine: {env['cpus']} CPUs ({env['cpu_model']}), Python {env['python']}, "
        f"{env['wrk']}; Bastion at {env['bastion_commit']}{dirty}; LiteLLM proxy "
        f"{env['litellm']}. The load generator, the mock, Bastion and LiteLLM share the "
        f"machine; the mock answers at once. Total time {data['seconds_total']:.0f} s.",
        "",
        "Every request is an Anthropic `POST /v1/messages` (1,814 bytes: a system prompt and "
        "three turns). *direct* is the mock called as the upstream; *Bastion* runs the full "
        "governance chain (scope check, secret scan, blocklist, rate limit, quota), API-key "
        "auth and the audit writer (one `ai_requests` row per request, SQLite); *LiteLLM* is "
        "its proxy with the documented defaults (one worker, no database, a master key). "
        "Passthrough: model `claude-bench` to the mock's Anthropic endpoint. Translation: "
        "model `gpt-bench` to the mock's OpenAI `/v1/chat/completions`.",
        "",
        "For req/s a ratio above 1 is better; for latencies below 1 is better. wrk figures "
        "are the median over the alternating rounds (errors summed).",
        "",
        *llm.main_table(data, SIDES, NAMES),
        *_fixed_rate(fr, cfg["rate_seconds"]),
        f"| memory soak, bastion (wrk {soak['connections']} connections, {soak['sent']:,} "
        f"requests, {soak['seconds']:.0f} s) | RSS MiB start / middle / end / peak | | "
        f"{_mib(soak['rss_kib'], 'start', 'middle', 'end', 'peak')} | | | |",
        f"| | growth middle -> end; req/s; errors | | {soak['growth_middle_to_end']:+.1%}; "
        f"{soak['rps']:,.0f}; {soak['errors']} | | | |",
        f"| RSS after boot -> after all phases (before the profile) | MiB | "
        f"{boot['mock'] / 1024:.0f} (mock) | {_mib(boot, 'bastion')} -> {_mib(end, 'bastion')} "
        f"| {_mib(boot, 'litellm')} -> {_mib(end, 'litellm')} | | |",
        "",
        "**Targets** (issue 6; ratios from this run):",
        "",
        *llm.target_lines(data["targets"]),
        "",
        *llm.audit_lines(data),
        "",
        "**Is the fixed-rate client the bottleneck?** Alone against the mock: "
        + "; ".join(
            f"{c['detail']['offered_rps']:g} req/s offered -> {c['rps']:,.0f} achieved, "
            f"p50 {llm.ms(c['p50'])} / p99 {llm.ms(c['p99'])} ms, scheduler lag p99 "
            f"{llm.ms(c['detail']['scheduler_lag_p99_ms'])} ms"
            for c in fr["calibration"]
        )
        + ". Latencies are measured from each request's scheduled start (no coordinated "
        "omission), so they include the client's own lag. wrk (C) reaches "
        f"{llm.rps(s['cN']['summary']['direct']['rps'])} req/s against the mock at {n} "
        "connections, far above what the proxies reach, so it is not their bottleneck.",
    ]
    skipped = [
        f"{fr[label]['rate']:g} req/s: {v['skipped']}"
        for label in RATES_ORDER
        for v in fr[label]["results"].values()
        if "skipped" in v
    ]
    if skipped:
        lines += ["", "**LiteLLM at the fixed rate, not run:** " + "; ".join(skipped) + "."]
    load = ", ".join(f"{x:.1f}" for x in env["loadavg_at_start"])
    lines += [
        "",
        "**Noise.** Share of the machine's CPU used by processes outside the benchmark "
        "during each phase (other work on this shared box): "
        + ", ".join(f"{k} {v:.0%}" for k, v in data["foreign_cpu"].items())
        + f". Load average at start {load}.",
        "",
        f"**Coverage.** {llm.sanity_line(data)} The LiteLLM memory soak is not run: at "
        "LiteLLM's measured throughput 200,000 requests would take longer than the whole "
        "10-minute budget.",
        *llm.profile_lines(data),
        "",
        *llm.rounds_lines(
            data,
            [
                (f"fixed-rate {label} ({r['detail']['offered_rps']:g}/s)", r)
                for label in ("calibration", *RATES_ORDER)
                for r in (fr[label] if label == "calibration" else fr[label]["results"].values())
                if "skipped" not in r
            ],
        ),
        "",
    ]
    return "\n".join(lines)
