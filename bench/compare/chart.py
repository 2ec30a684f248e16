"""The chart of one run: ``python bench/compare/chart.py bench/results.json OUT.png``.

Standalone (matplotlib only, no Bastion imports): the harness runs it with the Python of
``bench/.litellm-venv``, where matplotlib is installed, to keep it out of Bastion's
dependencies.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

COLOURS = {"direct": "#7f7f7f", "bastion": "#1f77b4", "litellm": "#d62728"}
LABELS = {"direct": "direct (mock)", "bastion": "Bastion", "litellm": "LiteLLM proxy"}
SIDES = list(COLOURS)
Panel = tuple[str, list[str], dict[str, list[Any]], str]  # title, groups, series, y label


def _bars(ax: Any, groups: list[str], series: dict[str, list[Any]], ylabel: str) -> None:
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        missing = [v is None or (isinstance(v, float) and math.isnan(v)) or v == 0 for v in values]
        heights = [0 if m else v for v, m in zip(values, missing, strict=True)]
        bars = ax.bar(xs, heights, width, label=LABELS[name], color=COLOURS[name])
        for bar, v, m in zip(bars, values, missing, strict=True):
            text = "n/a" if m else f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, 0 if m else bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)


def panels(s: dict[str, Any]) -> list[Panel]:
    """Every bar chart: latency percentiles, throughput, fixed rate and streaming."""
    c1, cn, n = s["c1"]["summary"], s["cN"]["summary"], s["cN"]["connections"]
    pcts = ["p50", "p95", "p99"]
    out: list[Panel] = [
        (
            f"{what}: latency percentiles (wrk)",
            pcts,
            {t: [by.get(t, {}).get(p) for p in pcts] for t in SIDES},
            "latency, ms (log)",
        )
        for what, by in (("Concurrency 1", c1), (f"{n} connections", cn))
    ]
    throughput = {
        t: [cn.get(t, {}).get("rps"), cn.get(f"{t}-translation", {}).get("rps")] for t in SIDES
    }
    out.append(
        (
            f"{n} connections: throughput (wrk)",
            ["passthrough", "translation"],
            throughput,
            "requests/s (log)",
        )
    )
    groups, series = [], {t: [] for t in SIDES}
    for label in ("low", "high"):
        block = s["fixed_rate"][label]
        for p in ("p50", "p99"):
            groups.append(f"{block['rate']:g}/s {p}")
            for t in SIDES:
                series[t].append(block["results"].get(t, {}).get(p))
    out.append(("Fixed rate, open loop (aiohttp): latency", groups, series, "latency, ms (log)"))
    st = s["streaming"]["results"]
    keys = [
        ("", "ttfb_p50"),
        ("", "ttlb_p50"),
        ("-translation", "ttfb_p50"),
        ("-translation", "ttlb_p50"),
    ]
    streams = {t: [st.get(t + suffix, {}).get(k) for suffix, k in keys] for t in SIDES}
    names = ["TTFB p50", "last byte p50", "transl. TTFB p50", "transl. last p50"]
    out.append(("Streaming SSE, concurrency 1 (aiohttp)", names, streams, "ms (log)"))
    return out


def main(source: str, out: str) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(Path(source).read_text())
    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    for ax, (title, groups, series, ylabel) in zip(
        axes.flat, panels(data["scenarios"]), strict=False
    ):
        _bars(ax, groups, series, ylabel)
        ax.set_title(title)
    ax = axes[1][2]
    soak = data["scenarios"]["soak"]["bastion"]
    times, rss = [t for t, _ in soak["samples"]], [r / 1024 for _, r in soak["samples"]]
    ax.plot(times, rss, color=COLOURS["bastion"], label=f"Bastion ({soak['sent']:,} req)")
    for b in soak["boundaries"]:
        ax.axvline(b["t"], color=COLOURS["bastion"], alpha=0.08)
    ax.set(xlabel="seconds into the soak", ylabel="RSS, MiB", title="Memory soak: RSS")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    env = data["environment"]
    fig.suptitle(
        f"Bastion vs LiteLLM proxy {env['litellm']} vs the mock upstream direct - "
        f"{data['started_utc']} - {env['cpus']} CPUs, shared by all processes",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
