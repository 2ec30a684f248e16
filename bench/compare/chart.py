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


def _bars(
    ax: Any, groups: list[str], series: dict[str, list[float]], ylabel: str, log: bool
) -> None:
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        clean = [v if v is not None and not math.isnan(v) else 0 for v in values]
        bars = ax.bar(xs, clean, width, label=LABELS.get(name, name), color=COLOURS.get(name))
        for bar, v in zip(bars, values, strict=True):
            if v is None or (isinstance(v, float) and math.isnan(v)) or v == 0:
                ax.annotate(
                    "n/a",
                    (bar.get_x() + bar.get_width() / 2, 0),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
                continue
            text = f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)


def main(source: str, out: str) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(Path(source).read_text())
    s = data["scenarios"]
    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    targets = ["direct", "bastion", "litellm"]

    c1 = s["c1"]["summary"]
    _bars(
        axes[0][0],
        ["p50", "p95", "p99"],
        {t: [c1.get(t, {}).get(p) for p in ("p50", "p95", "p99")] for t in targets},
        "latency, ms (log)",
        True,
    )
    axes[0][0].set_title("Concurrency 1: latency percentiles (wrk)")

    c2 = s["c200"]["summary"]
    n = s["c200"]["connections"]
    _bars(
        axes[0][1],
        ["p50", "p95", "p99"],
        {t: [c2.get(t, {}).get(p) for p in ("p50", "p95", "p99")] for t in targets},
        "latency, ms (log)",
        True,
    )
    axes[0][1].set_title(f"{n} connections: latency percentiles (wrk)")

    _bars(
        axes[0][2],
        ["passthrough", "translation"],
        {
            "direct": [c2.get("direct", {}).get("rps"), None],
            "bastion": [
                c2.get("bastion", {}).get("rps"),
                c2.get("bastion-translation", {}).get("rps"),
            ],
            "litellm": [
                c2.get("litellm", {}).get("rps"),
                c2.get("litellm-translation", {}).get("rps"),
            ],
        },
        "requests/s (log)",
        True,
    )
    axes[0][2].set_title(f"{n} connections: throughput (wrk)")

    fr = s.get("fixed_rate", {})
    groups, series = [], {t: [] for t in targets}
    for label in ("low", "high"):
        block = fr.get(label)
        if not block:
            continue
        for p in ("p50", "p99"):
            groups.append(f"{block['rate']:g}/s {p}")
            for t in targets:
                r = block["results"].get(t, {})
                series[t].append(None if "skipped" in r else r.get(p))
    _bars(axes[1][0], groups, series, "latency, ms (log)", True)
    axes[1][0].set_title("Fixed rate, open loop (aiohttp): latency")

    st = s.get("streaming", {}).get("results", {})
    _bars(
        axes[1][1],
        ["TTFB p50", "last byte p50", "transl. TTFB p50", "transl. last p50"],
        {
            "direct": [
                st.get("direct", {}).get("ttfb_p50"),
                st.get("direct", {}).get("ttlb_p50"),
                None,
                None,
            ],
            "bastion": [
                st.get("bastion", {}).get("ttfb_p50"),
                st.get("bastion", {}).get("ttlb_p50"),
                st.get("bastion-translation", {}).get("ttfb_p50"),
                st.get("bastion-translation", {}).get("ttlb_p50"),
            ],
            "litellm": [
                st.get("litellm", {}).get("ttfb_p50"),
                st.get("litellm", {}).get("ttlb_p50"),
                st.get("litellm-translation", {}).get("ttfb_p50"),
                st.get("litellm-translation", {}).get("ttlb_p50"),
            ],
        },
        "ms (log)",
        True,
    )
    axes[1][1].set_title("Streaming SSE, concurrency 1 (aiohttp)")

    ax = axes[1][2]
    for who, soak in s.get("soak", {}).items():
        samples = soak.get("samples", [])
        if samples:
            ax.plot(
                [t for t, _ in samples],
                [r / 1024 for _, r in samples],
                color=COLOURS.get(who),
                label=f"{LABELS.get(who, who)} ({soak['sent']:,} req)",
            )
        for b in soak.get("boundaries", []):
            ax.axvline(b["t"], color=COLOURS.get(who), alpha=0.08)
    ax.set_xlabel("seconds into the soak")
    ax.set_ylabel("RSS, MiB")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Memory soak: RSS")

    fig.suptitle(
        f"Bastion vs LiteLLM proxy {data['environment']['litellm']} vs the mock upstream direct "
        f"- {data['started_utc']} - {data['environment']['cpus']} CPUs, shared by all processes",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
