"""The targets from the issue, checked, and the Markdown written to
``bench/compare/RESULTS.md``."""

from __future__ import annotations

import math
from typing import Any

HEADER = """# Bastion vs LiteLLM proxy vs direct: results

Written by `python -m bench.compare` (`make bench`); each run appends one section.
The chart of the latest run is [chart.png](chart.png); machine-readable results are in
`bench/results.json`. How it is measured: `bench/compare/README.md`.

"""


def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def targets(data: dict[str, Any], audit_pending: bool = False) -> list[dict[str, Any]]:
    s = data["scenarios"]
    out: list[dict[str, Any]] = []

    def add(id_: str, target: str, measured: str, met: bool | None) -> None:
        out.append({"id": id_, "target": target, "measured": measured, "met": met})

    c1 = _get(s, "c1", "summary") or {}
    if "bastion" in c1 and "direct" in c1:
        added = c1["bastion"]["p50"] - c1["direct"]["p50"]
        add(
            "c1-overhead",
            "concurrency 1: median overhead over direct <= 1.0 ms",
            f"{added:.3f} ms (p50 {c1['bastion']['p50']:.3f} vs {c1['direct']['p50']:.3f} ms)",
            added <= 1.0,
        )
    c2 = _get(s, "c200", "summary") or {}
    n = _get(s, "c200", "connections")
    if {"bastion", "direct", "litellm"} <= set(c2):
        b, d, lt = c2["bastion"], c2["direct"], c2["litellm"]
        ratio = b["rps"] / d["rps"] if d["rps"] else 0.0
        add(
            "c200-vs-direct",
            f"{n} connections: >= 50% of direct req/s",
            f"{ratio:.1%} ({b['rps']:,.0f} vs {d['rps']:,.0f} req/s)",
            ratio >= 0.5,
        )
        versus = b["rps"] / lt["rps"] if lt["rps"] else math.inf
        add(
            "c200-vs-litellm",
            f"{n} connections: >= 10x LiteLLM req/s",
            f"{versus:.1f}x ({b['rps']:,.0f} vs {lt['rps']:,.0f} req/s)",
            versus >= 10,
        )
        errors = b["errors"] + c2.get("bastion-translation", {}).get("errors", 0)
        add(
            "c200-errors",
            f"{n} connections: zero errors (Bastion passthrough and translation rounds)",
            f"{errors} (non-200 + socket errors incl. timeouts)",
            errors == 0,
        )
        p99 = b["p99"] / d["p99"] if d["p99"] else math.inf
        add(
            "c200-p99",
            f"{n} connections: p99 < 5x direct p99",
            f"{p99:.1f}x ({b['p99']:.1f} vs {d['p99']:.1f} ms)",
            p99 < 5,
        )
    if {"bastion", "bastion-translation"} <= set(c2):
        t = c2["bastion-translation"]["rps"] / c2["bastion"]["rps"] if c2["bastion"]["rps"] else 0
        add(
            "translation",
            "translation path within 20% of passthrough throughput",
            f"{t:.1%} of passthrough ({c2['bastion-translation']['rps']:,.0f} vs "
            f"{c2['bastion']['rps']:,.0f} req/s)",
            t >= 0.8,
        )
    soak = _get(s, "soak", "bastion")
    if soak:
        g = soak["growth_middle_to_end"]
        rss = soak["rss_kib"]
        enough = soak["sent"] >= 200_000
        add(
            "soak",
            "memory soak (>= 200,000 requests): RSS growth middle -> end < 10%",
            f"{g:+.1%} ({rss['middle'] / 1024:.0f} -> {rss['end'] / 1024:.0f} MiB) over "
            f"{soak['sent']:,} requests" + ("" if enough else " (fewer than 200,000)"),
            g < 0.10 and enough,
        )
    audit = data.get("audit")
    if audit_pending or not audit:
        add("audit", "audit completeness: ai_requests rows == requests sent", "pending", None)
    else:
        add(
            "audit",
            "audit completeness: ai_requests rows == requests sent",
            f"{audit['rows']:,} rows vs {audit['sent']:,} sent "
            f"({audit['rows'] - audit['sent']:+,}); Bastion counted "
            f"{audit['bastion_post_count']:,} POSTs",
            audit["rows"] == audit["sent"],
        )
    return out


# -- formatting ---------------------------------------------------------------------------


def _ms(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:,.0f}"


def _rps(v: Any) -> str:
    return "-" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def _ratio(a: Any, b: Any) -> str:
    if a is None or b is None or not b or (isinstance(a, float) and math.isnan(a)):
        return "-"
    r = a / b
    return f"{r:.2f}x" if r < 100 else f"{r:,.0f}x"


def _row(scenario: str, metric: str, d: Any, b: Any, lt: Any, fmt: Any) -> str:
    return (
        f"| {scenario} | {metric} | {fmt(d) if d is not None else '-'} | "
        f"{fmt(b) if b is not None else '-'} | {fmt(lt) if lt is not None else '-'} | "
        f"{_ratio(b, d)} | {_ratio(b, lt)} |"
    )


def _metric_rows(scenario: str, by: dict[str, Any], keys: tuple[str, str, str]) -> list[str]:
    d, b, lt = (by.get(k) or {} for k in keys)
    rows = [
        _row(scenario, "req/s", d.get("rps"), b.get("rps"), lt.get("rps"), _rps),
    ]
    for p in ("p50", "p95", "p99"):
        rows.append(_row("", f"{p} ms", d.get(p), b.get(p), lt.get(p), _ms))
    rows.append(
        f"| | errors | {d.get('errors', '-')} | {b.get('errors', '-')} | "
        f"{lt.get('errors', '-')} | | |"
    )
    return rows


def markdown(data: dict[str, Any]) -> str:
    s = data["scenarios"]
    env = data["environment"]
    cfg = data["config"]
    lines = [
        f"## Run {data['started_utc']} ({'quick' if cfg.get('quick') else 'full'})",
        "",
        "Command (from the repository root):",
        "",
        "```console",
        f"$ .venv/bin/{data['command']}",
        "```",
        "",
        f"Machine: {env['cpus']} CPUs ({env['cpu_model']}), Python {env['python']}, "
        f"{env['wrk']}; Bastion at {env['bastion_commit']}"
        f"{' with uncommitted changes in src/' if env['bastion_tree_dirty'] else ''}; "
        f"LiteLLM proxy {env['litellm']}. The load generator, the mock, Bastion and LiteLLM "
        f"share the machine; the mock answers at once (latency {cfg['latency_ms']:g} ms). "
        f"Total time {data['seconds_total']:.0f} s.",
        "",
        "Every request is an Anthropic `POST /v1/messages` (about 2.4 KB: a system prompt "
        "and three turns). *direct* is the mock called as the upstream; *Bastion* runs the "
        "full governance chain (scope check, secret scan, blocklist, rate limit, quota), "
        "API-key auth and the audit writer (one `ai_requests` row per request, SQLite); "
        "*LiteLLM* is its proxy with the documented defaults (one worker, no database, a "
        "master key). Passthrough: model `claude-bench` to the mock's Anthropic endpoint. "
        "Translation: model `gpt-bench` to the mock's OpenAI `/v1/chat/completions`.",
        "",
        "For req/s a ratio above 1 is better; for latencies below 1 is better. wrk figures "
        "are the median over the alternating rounds (errors summed).",
        "",
        "| scenario (generator) | metric | direct | Bastion | LiteLLM | Bastion / direct "
        "| Bastion / LiteLLM |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    c1 = _get(s, "c1", "summary") or {}
    lines += _metric_rows(
        f"concurrency 1, passthrough (wrk, {cfg['rounds']} rounds x "
        f"{s['c1']['seconds_per_round']:g} s)",
        c1,
        ("direct", "bastion", "litellm"),
    )
    c2 = _get(s, "c200", "summary") or {}
    n = s["c200"]["connections"]
    rounds = cfg["rounds"]
    lines += _metric_rows(
        f"{n} connections, passthrough (wrk, {rounds} rounds x "
        f"{s['c200']['seconds_per_round']:g} s)",
        c2,
        ("direct", "bastion", "litellm"),
    )
    lines += _metric_rows(
        f"{n} connections, translation: Anthropic in, OpenAI upstream (wrk)",
        c2,
        ("-", "bastion-translation", "litellm-translation"),
    )
    bt, bp = c2.get("bastion-translation", {}), c2.get("bastion", {})
    lt_t, lt_p = c2.get("litellm-translation", {}), c2.get("litellm", {})
    if bp.get("rps") and lt_p.get("rps"):
        lines.append(
            f"| | translation / passthrough req/s | - | {bt['rps'] / bp['rps']:.1%} | "
            f"{lt_t['rps'] / lt_p['rps']:.1%} | | |"
        )
    fr = s.get("fixed_rate", {})
    for label in ("low", "high"):
        block = fr.get(label)
        if not block:
            continue
        res = block["results"]
        skipped = {k: v["skipped"] for k, v in res.items() if "skipped" in v}
        by = {k: v for k, v in res.items() if "skipped" not in v}
        rows = _metric_rows(
            f"fixed rate {block['rate']:g} req/s, open loop (aiohttp, {cfg['rate_seconds']:g} s)",
            by,
            ("direct", "bastion", "litellm"),
        )
        rows[0] = rows[0].replace("| req/s |", "| achieved req/s |")
        if "litellm" in skipped:
            cells = rows[0].split(" | ")
            cells[4] = "not run (see below)"
            rows[0] = " | ".join(cells)
        lines += rows
    st = _get(s, "streaming", "results") or {}
    for title, keys in (
        ("streaming, passthrough (aiohttp SSE, concurrency 1)", ("direct", "bastion", "litellm")),
        (
            "streaming, translation (aiohttp SSE, concurrency 1)",
            ("-", "bastion-translation", "litellm-translation"),
        ),
    ):
        d, b, lt = (st.get(k) or {} for k in keys)
        first = True
        for metric, key in (
            ("TTFB p50 ms", "ttfb_p50"),
            ("TTFB p99 ms", "ttfb_p99"),
            ("last byte p50 ms", "ttlb_p50"),
            ("last byte p99 ms", "ttlb_p99"),
        ):
            lines.append(
                _row(title if first else "", metric, d.get(key), b.get(key), lt.get(key), _ms)
            )
            first = False
        lines.append(
            f"| | errors / requests | {d.get('errors', '-')} / {d.get('sent', '-')} | "
            f"{b.get('errors', '-')} / {b.get('sent', '-')} | "
            f"{lt.get('errors', '-')} / {lt.get('sent', '-')} | | |"
        )
    soak = _get(s, "soak") or {}
    for who, sk in soak.items():
        rss = sk["rss_kib"]
        lines.append(
            f"| memory soak, {who} (wrk {sk['connections']} connections, {sk['sent']:,} "
            f"requests, {sk['seconds']:.0f} s) | RSS MiB start / middle / end / peak | | "
            + (
                f"{rss['start'] / 1024:.0f} / {rss['middle'] / 1024:.0f} / {rss['end'] / 1024:.0f} "
                f"/ {rss['peak'] / 1024:.0f} | | | |"
                if who == "bastion"
                else f" | {rss['start'] / 1024:.0f} / {rss['middle'] / 1024:.0f} / "
                f"{rss['end'] / 1024:.0f} / {rss['peak'] / 1024:.0f} | | |"
            )
        )
        lines.append(
            f"| | growth middle -> end; req/s; errors | | {sk['growth_middle_to_end']:+.1%}; "
            f"{sk['rps']:,.0f}; {sk['errors']} | | | |"
        )
    boot, end = data.get("rss_kib_after_boot", {}), data.get("rss_kib_end", {})
    if boot and end:
        lines.append(
            f"| RSS after boot -> after all phases (before the profile) | MiB | "
            f"{boot['mock'] / 1024:.0f} (mock) | {boot['bastion'] / 1024:.0f} -> "
            f"{end['bastion'] / 1024:.0f} | {boot['litellm'] / 1024:.0f} -> "
            f"{end['litellm'] / 1024:.0f} | | |"
        )

    # targets
    lines += [
        "",
        "**Targets** (issue 6; ratios from this run):",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    for t in data["targets"]:
        result = "met" if t["met"] else "**MISSED**" if t["met"] is False else "n/a"
        lines.append(f"| {t['target']} | {t['measured']} | {result} |")
    missed = [t for t in data["targets"] if t["met"] is False]
    lines += [
        "",
        f"Missed: {', '.join(t['id'] for t in missed) if missed else 'none'}.",
    ]

    # audit
    a = data.get("audit", {})
    if a:
        lines += [
            "",
            "**Audit completeness.** Requests sent to Bastion by the harness, every phase "
            "included (sanity checks, warm-ups, wrk rounds counted by the Lua `request()` hook "
            "as they are written, including those still in flight when a wrk round ends, the "
            f"aiohttp clients): {a['sent']:,}. Bastion's own counter of POSTs it answered: "
            f"{a['bastion_post_count']:,}. `ai_requests` rows after SIGINT (exit status "
            f"{data.get('bastion_exit_code')}): {a['rows']:,}, by status {a['by_status']}, by "
            f"outcome {a['by_outcome']}.",
        ]
        gap = a["sent"] - a["rows"]
        answered = (a["bastion_post_count"] or 0) - a["rows"]
        if gap > 0:
            lines.append(
                f"Of the {gap:,} requests without a row, {answered:,} reached Bastion and were "
                "answered 500 without a row: wrk closes its connections when a round ends, and "
                "a request whose body Bastion had not finished reading then fails with "
                "`ClientDisconnect` in `Gateway.handle` (`await request.body()`) before the "
                "gateway records it (`unhandled error` in `bastion.log`, work directory); the "
                f"other {gap - answered:,} were written by wrk but never counted by Bastion "
                "(still unread when the connection closed)."
            )
        ov = a.get("overhead_ms_by_phase", {})
        if ov:
            lines.append(
                "Bastion's own `overhead_ms` (its time excluding the upstream call), p50 / "
                "p99 ms by phase: "
                + "; ".join(
                    f"{k.removeprefix('bench-')} {_ms(v['p50'])} / {_ms(v['p99'])}"
                    for k, v in ov.items()
                    if k
                )
                + "."
            )

    # how the load generators were checked
    cal = fr.get("calibration", [])
    if cal:
        lines += [
            "",
            "**Is the fixed-rate client the bottleneck?** Alone against the mock: "
            + "; ".join(
                f"{c['detail']['offered_rps']:g} req/s offered -> {c['rps']:,.0f} achieved, "
                f"p50 {_ms(c['p50'])} / p99 {_ms(c['p99'])} ms, scheduler lag p99 "
                f"{_ms(c['detail']['scheduler_lag_p99_ms'])} ms"
                for c in cal
            )
            + ". Latencies are measured from each request's scheduled start (no coordinated "
            "omission), so they include the client's own lag. wrk (C) reaches "
            f"{_rps(_get(c2, 'direct', 'rps'))} req/s against the mock at {n} connections, "
            "far above what the proxies reach, so it is not their bottleneck.",
        ]

    skipped_notes = [
        f"{block['rate']:g} req/s: {v['skipped']}"
        for block in (fr.get("low"), fr.get("high"))
        if block
        for k, v in block["results"].items()
        if "skipped" in v
    ]
    if skipped_notes:
        lines += ["", "**LiteLLM at the fixed rate, not run:** " + "; ".join(skipped_notes) + "."]

    # noise
    fc = data.get("foreign_cpu", {})
    if fc:
        lines += [
            "",
            "**Noise.** Share of the machine's CPU used by processes outside the benchmark "
            "during each phase (other work on this shared box): "
            + ", ".join(f"{k} {v:.0%}" for k, v in fc.items())
            + f". Load average at start {', '.join(f'{x:.1f}' for x in env['loadavg_at_start'])}.",
        ]

    # sanity / what LiteLLM could not do
    bad = {k: v for k, v in data.get("sanity", {}).items() if v != "ok"}
    lines += [
        "",
        "**Coverage.** "
        + (
            "Every target served every scenario (sanity-checked before measuring: the mock's "
            "text came back on each variant, streaming and not)."
            if not bad
            else "Sanity failures (the results for these are not valid): "
            + "; ".join(f"{k}: {v}" for k, v in bad.items())
        )
        + " The LiteLLM memory soak "
        + (
            "ran (see the table)."
            if "litellm" in soak
            else "was not run: at LiteLLM's measured throughput 200,000 requests would take "
            "longer than the whole 10-minute budget (`--litellm-soak-requests N` runs one)."
        ),
    ]

    profiles = data.get("profiles") or {}
    for _name, p in profiles.items():
        lines += [
            "",
            f"**Profile: Bastion under wrk at {p['connections']} connection(s)** "
            f"({p['load']['rps']:,.0f} req/s during the profile; `{p['command']}`; raw stacks "
            f"in `{p['raw']}`):",
            "",
            p["summary"],
        ]

    # rounds
    lines += [
        "",
        "<details><summary>Every round</summary>",
        "",
        "| phase | variant | generator | conns | req/s | ok | errors | p50 ms | p95 ms | p99 ms "
        "| max ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in ("c1", "c200"):
        for r in s.get(phase, {}).get("rounds", []):
            lines.append(
                f"| {phase} | {r['variant']} | {r['generator']} | {r['connections']} | "
                f"{_rps(r['rps'])} | {r['ok']} | {r['errors']} | {_ms(r['p50'])} | "
                f"{_ms(r['p95'])} | {_ms(r['p99'])} | {_ms(r['max'])} |"
            )
    for label in ("calibration", "low", "high"):
        block = fr.get(label)
        items = (
            block if isinstance(block, list) else list((block or {}).get("results", {}).values())
        )
        for r in items:
            if "skipped" in r:
                continue
            lines.append(
                f"| fixed-rate {label} ({r['detail']['offered_rps']:g}/s) | {r['variant']} | "
                f"{r['generator']} | - | {_rps(r['rps'])} | {r['ok']} | {r['errors']} | "
                f"{_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} | {_ms(r['max'])} |"
            )
    lines += ["", "</details>", ""]
    return "\n".join(lines)
