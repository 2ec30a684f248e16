"""The LLM gateway harness of ``bench.gateway`` and ``bench.compare``: the mock upstream
(``fakes`` ``llm``), Bastion in front of it, the servers a benchmark compares with it, the
same Anthropic request sent to each, the phases both run and the Markdown of their results.

Bastion runs the bench profile (``launch.write_profile``: the full governance chain,
API-key authentication, the audit trail on) with ``claude-*`` routed to the mock's
Anthropic endpoint on the ``anthropic`` provider (byte passthrough) and ``gpt-*`` to its
OpenAI-compatible ``/v1`` on the ``openai`` provider (the Anthropic <-> OpenAI
translation). A variant is a server and a model: ``direct`` (the mock called as the
upstream), ``bastion``, ``bastion-translation`` and what a benchmark adds. Each phase
sends its own ``x-client-id``, so Bastion's own ``overhead_ms`` is read per phase from
``ai_requests``. Results go into ``Harness.data`` (JSON-ready), which the functions at the
end render."""

from __future__ import annotations

import collections
import datetime as dt
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench._support import fakes, launch, spy, wrk
from bench._support.cli import table
from bench._support.measure import percentile, stream_rounds

JSON = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
MODELS = {"": "claude-bench", "-translation": "gpt-bench"}  # variant suffix -> model
WRK = (("req/s", "rps"), ("p50 ms", "p50"), ("p95 ms", "p95"), ("p99 ms", "p99"))
STREAM = (
    ("TTFB p50 ms", "ttfb_p50"),
    ("TTFB p99 ms", "ttfb_p99"),
    ("last byte p50 ms", "ttlb_p50"),
    ("last byte p99 ms", "ttlb_p99"),
)


def routes(mock_url: str) -> dict[str, Any]:
    """The gateway section: ``claude-*`` passed through to the mock, ``gpt-*`` translated
    to its OpenAI-compatible ``/v1``."""
    upstreams = (("claude-*", "anthropic", mock_url), ("gpt-*", "openai", mock_url + "/v1"))
    return {
        "routes": [
            {"model_pattern": p, "provider": kind, "endpoint": url, "api_key_secret": "mock_key"}
            for p, kind, url in upstreams
        ]
    }


@dataclass
class Variant:
    url: str
    headers: dict[str, str]
    model: str

    def body(self, stream: bool = False) -> bytes:
        return fakes.messages_request(self.model, stream)


def summary(runs: list[wrk.Run]) -> dict[str, Any]:
    """Per variant, the medians over its rounds (req/s: 200s per second), errors summed."""
    out: dict[str, Any] = {}
    for side in dict.fromkeys(r.side for r in runs):
        mine = [r for r in runs if r.side == side]
        out[side] = {
            "rounds": len(mine),
            "rps": statistics.median(r.ok / r.duration_s for r in mine),
            **{p: statistics.median(getattr(r, p) for r in mine) for p in ("p50", "p95", "p99")},
            "max": max(r.max for r in mine),
            **{k: sum(getattr(r, k) for r in mine) for k in ("sent", "ok", "errors")},
        }
    return out


def as_dict(run: wrk.Run) -> dict[str, Any]:
    extra = {"variant": run.side, "duration_s": run.duration_s, "errors": run.errors}
    return asdict(run) | extra | {"rps": run.ok / run.duration_s}


class Harness:
    """The servers of one ``launch.Workspace`` and what is measured of them."""

    def __init__(self, ws: launch.Workspace, command: str, config: dict[str, Any]) -> None:
        self.ws = ws
        self.variants: dict[str, Variant] = {}
        self.sent: collections.Counter[str] = collections.Counter()  # by server
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.data: dict[str, Any] = {"command": command, "config": config, "started_utc": started}
        self.data |= {"scenarios": {}, "profiles": {}}

    def start(self, latency_ms: float = 0, disabled: Any = ()) -> str:
        """The mock and Bastion in front of it; the mock's URL."""
        mock = self.ws.fake("mock", "llm", "--latency-ms", str(latency_ms))
        governance = {"disabled": list(disabled)}
        bastion = self.ws.bastion(governance=governance, gateway=routes(mock.url))
        self.add("direct", mock.url, {"x-api-key": launch.UPSTREAM_KEY}, translation=False)
        self.add("bastion", bastion.url, {"x-api-key": launch.credential(self.ws.profile, "key")})
        return mock.url

    def add(self, name: str, url: str, headers: dict[str, str], translation: bool = True) -> None:
        """``name`` (and ``name-translation``) on the Messages path of ``url``."""
        for suffix, model in MODELS.items():
            if translation or not suffix:
                self.variants[name + suffix] = Variant(url + "/v1/messages", headers, model)

    def headers(self, variant: str, phase: str) -> dict[str, str]:
        return {**JSON, **self.variants[variant].headers, "x-client-id": f"bench-{phase}"}

    def count(self, variant: str, sent: int) -> None:
        self.sent[variant.removesuffix("-translation")] += sent

    def sanity(self) -> None:
        """Every variant answers 200 with the mock's text, streaming and not."""
        checks = {}
        for name, variant in self.variants.items():
            for stream in (False, True):
                reply = httpx.post(
                    variant.url, content=variant.body(stream), headers=self.headers(name, "sanity")
                )
                self.count(name, 1)
                ok = reply.status_code == 200 and (
                    "message_stop" in reply.text and "text_delta" in reply.text
                    if stream
                    else reply.json()["content"][0]["text"] == fakes.TEXT
                )
                failed = f"FAILED {reply.status_code}: {reply.text[:300]}"
                checks[name + (" stream" if stream else "")] = "ok" if ok else failed
        self.data["sanity"] = checks
        if any(v != "ok" for v in checks.values()):
            print(f"sanity failures: {checks}", flush=True)

    def script(self, variant: str, phase: str) -> Path:
        path = self.ws.dir / f"{phase}-{variant}.lua"
        return wrk.script(path, self.variants[variant].body(), self.headers(variant, phase))

    def wrk_phase(
        self, name: str, connections: int, seconds: float, rounds: int, variants: Iterable[str]
    ) -> dict[str, Any]:
        """A warm-up, then ``rounds`` alternating wrk rounds of each variant; the summary."""
        targets = {v: (self.variants[v].url, self.script(v, name)) for v in variants}
        warm, runs = wrk.rounds(targets, rounds, seconds, connections)
        for r in warm + runs:
            self.count(r.side, r.sent)
        self.data["scenarios"][name] = {
            "generator": "wrk (1 thread, Lua script)",
            "connections": connections,
            "seconds_per_round": seconds,
            "rounds": [as_dict(r) for r in runs],
            "summary": summary(runs),
        }
        return dict(self.data["scenarios"][name]["summary"])

    def stream_phase(self, requests: int, variants: Iterable[str], warm_up: int) -> None:
        """Streamed requests one at a time: first and last byte (``measure.stream_rounds``)."""
        targets = {
            v: (self.variants[v].url, self.variants[v].body(True), self.headers(v, "stream"))
            for v in variants
        }
        results = {}
        for v, tally in stream_rounds(targets, requests, warm_up).items():
            self.count(v, tally.sent + warm_up)
            results[v] = {"sent": tally.sent, "ok": len(tally.ttfb), "errors": tally.errors}
            for key, values in (("ttfb", tally.ttfb), ("ttlb", tally.ttlb)):
                results[v] |= {f"{key}_p{q}": percentile(values, q) for q in (50, 95, 99)}
        generator = "aiohttp SSE client (uvloop), concurrency 1"
        self.data["scenarios"]["streaming"] = {"generator": generator, "results": results}

    def profile(self, name: str, connections: int, seconds: int, out: Path) -> None:
        """py-spy of Bastion for ``seconds`` while wrk loads it at ``connections``."""
        url, lua = self.variants["bastion"].url, self.script("bastion", f"profile-{name}")
        summary, r = spy.record(
            self.ws.servers["bastion"].pid,
            out,
            seconds,
            lambda: wrk.run("bastion", url, lua, seconds - 1, connections),
        )
        self.count("bastion", r.sent)
        command = f"py-spy record -p <pid> -d {seconds} -r 200 -f raw"
        self.data["profiles"][name] = {
            "connections": connections,
            "raw": str(out),
            "command": command,
            "load": as_dict(r),
            "summary": summary,
        }

    def finish(self) -> None:
        """Bastion's count of the POSTs it answered, every server stopped (Bastion drains
        its audit queue), then ``ai_requests`` counted."""
        url = self.ws.servers["bastion"].url
        answered = launch.metric(url, "bastion_http_requests_total", method="POST")
        self.data["bastion_exit_code"] = self.ws.stop()["bastion"]
        rows = self.ws.rows("SELECT status, outcome, client_id, overhead_ms FROM ai_requests")
        overhead: dict[str, list[float]] = collections.defaultdict(list)
        for status, _, client, ms in rows:
            if status == 200 and ms is not None:
                overhead[client or ""].append(float(ms))
        self.data["audit"] = {
            "rows": len(rows),
            "sent": self.sent["bastion"],
            "bastion_post_count": sum(answered.values()),
            "posts_by_status": answered,
            "by_status": dict(collections.Counter(str(r[0]) for r in rows)),
            "by_outcome": dict(collections.Counter(str(r[1]) for r in rows)),
            "overhead_ms_by_phase": {
                client: {"n": len(v), "p50": percentile(v, 50), "p99": percentile(v, 99)}
                for client, v in sorted(overhead.items())
            },
        }


# -- the Markdown ---------------------------------------------------------------------------


def ms(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:,.0f}"


def rps(v: Any) -> str:
    return "-" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def ratio(a: Any, b: Any) -> str:
    if a is None or b is None or not b or (isinstance(a, float) and math.isnan(a)):
        return "-"
    return f"{a / b:.2f}x" if a / b < 100 else f"{a / b:,.0f}x"


def side_rows(
    title: str,
    by: dict[str, Any],
    sides: list[str],
    metrics: Iterable[tuple[str, str]] = WRK,
    suffix: str = "",
    counts: str = "errors",
) -> list[str]:
    """A row per metric: each side's value (``side + suffix`` in ``by``) and Bastion's
    ratio to each other side; then the error counts (``"errors / requests"``: with sent)."""
    cells = [by.get(side + suffix) or {} for side in sides]
    me = by.get("bastion" + suffix) or {}
    others = [c for side, c in zip(sides, cells, strict=True) if side != "bastion"]
    lines = []
    for label, key in metrics:
        fmt = rps if key == "rps" else ms
        values = [fmt(c.get(key)) for c in cells]
        ratios = [ratio(me.get(key), c.get(key)) for c in others]
        lines.append(f"| {title} | {label} | " + " | ".join(values + ratios) + " |")
        title = ""
    sent = counts != "errors"
    errors = [f"{c.get('errors', '-')}" + (f" / {c.get('sent', '-')}" * sent) for c in cells]
    return [*lines, f"| | {counts} | " + " | ".join(errors + [""] * len(others)) + " |"]


def main_table(data: dict[str, Any], sides: list[str], names: dict[str, str]) -> list[str]:
    """The wrk phases and the streaming phase, a column per side and Bastion's ratios."""
    s, rounds = data["scenarios"], data["config"]["rounds"]
    heads = [names.get(side, side) for side in sides]
    ratios = [f"Bastion / {names.get(x, x)}" for x in sides if x != "bastion"]
    lines = table(["scenario (generator)", "metric", *heads, *ratios], [], "llr")
    c1, cn = s["c1"], s["cN"]
    for phase, what in ((c1, "concurrency 1"), (cn, f"{cn['connections']} connections")):
        title = f"{what}, passthrough (wrk, {rounds} rounds x {phase['seconds_per_round']:g} s)"
        lines += side_rows(title, phase["summary"], sides)
    title = f"{cn['connections']} connections, translation: Anthropic in, OpenAI upstream (wrk)"
    lines += side_rows(title, cn["summary"], sides, suffix="-translation")
    by = cn["summary"]
    shares = [
        f"{by[x + '-translation']['rps'] / by[x]['rps']:.1%}"
        if x + "-translation" in by and by[x]["rps"]
        else "-"
        for x in sides
    ]
    cells = " | ".join(shares + [""] * len(ratios))
    lines.append(f"| | translation / passthrough req/s | {cells} |")
    st = s.get("streaming", {}).get("results", {})
    for suffix, what in (("", "passthrough"), ("-translation", "translation")):
        title = f"streaming, {what} (aiohttp SSE, concurrency 1)"
        lines += side_rows(title, st, sides, STREAM, suffix, "errors / requests")
    return lines


def targets(
    data: dict[str, Any], extra: Callable[[dict[str, Any]], list[Any]] | None = None
) -> list[Any]:
    """The targets of issue 6 that hold for any comparison, and ``extra(summaries)``."""
    c1, cn = data["scenarios"]["c1"]["summary"], data["scenarios"]["cN"]["summary"]
    n = data["scenarios"]["cN"]["connections"]
    b, d = cn["bastion"], cn["direct"]
    added, share = c1["bastion"]["p50"] - c1["direct"]["p50"], b["rps"] / d["rps"]
    errors = b["errors"] + cn.get("bastion-translation", {}).get("errors", 0)
    translated = cn.get("bastion-translation", {}).get("rps", 0) / b["rps"]
    out = [
        (
            "c1-overhead",
            "concurrency 1: median overhead over direct <= 1.0 ms",
            f"{added:.3f} ms (p50 {c1['bastion']['p50']:.3f} vs {c1['direct']['p50']:.3f} ms)",
            added <= 1.0,
        ),
        (
            "cN-vs-direct",
            f"{n} connections: >= 50% of direct req/s",
            f"{share:.1%} ({b['rps']:,.0f} vs {d['rps']:,.0f} req/s)",
            share >= 0.5,
        ),
        *(extra(data) if extra else []),
        (
            "cN-errors",
            f"{n} connections: zero errors (Bastion passthrough and translation rounds)",
            f"{errors} (non-200 + socket errors incl. timeouts)",
            errors == 0,
        ),
        (
            "cN-p99",
            f"{n} connections: p99 < 5x direct p99",
            f"{b['p99'] / d['p99']:.1f}x ({b['p99']:.1f} vs {d['p99']:.1f} ms)",
            b["p99"] < 5 * d["p99"],
        ),
        (
            "translation",
            "translation path within 20% of passthrough throughput",
            f"{translated:.1%} of passthrough",
            translated >= 0.8,
        ),
    ]
    audit = data.get("audit")
    if audit:
        rows, sent = audit["rows"], audit["sent"]
        measured = f"{rows:,} rows vs {sent:,} sent ({rows - sent:+,}); Bastion answered "
        measured += f"{audit['bastion_post_count']:,} POSTs"
        out.append(
            (
                "audit",
                "audit completeness: ai_requests rows == requests sent",
                measured,
                rows == sent,
            )
        )
    return out


def target_lines(found: list[Any]) -> list[str]:
    rows = [(t, m, "met" if ok else "**MISSED**") for _id, t, m, ok in found]
    missed = ", ".join(i for i, _t, _m, ok in found if not ok) or "none"
    return [*table(["target", "measured", "result"], rows), "", f"Missed: {missed}."]


def audit_lines(data: dict[str, Any]) -> list[str]:
    a = data["audit"]
    phases = "; ".join(
        f"{k.removeprefix('bench-')} {ms(v['p50'])} / {ms(v['p99'])}"
        for k, v in a["overhead_ms_by_phase"].items()
        if k
    )
    return [
        "**Audit completeness.** Requests the harness sent to Bastion, every phase included "
        "(sanity checks, warm-ups, wrk's requests as its Lua `request()` hook writes them, "
        f"those still in flight when a round ends too, the aiohttp clients): {a['sent']:,}. "
        f"POSTs Bastion answered (its /metrics), by status: {a['posts_by_status']}. "
        f"`ai_requests` rows after SIGINT (exit status {data['bastion_exit_code']}): "
        f"{a['rows']:,}, by status {a['by_status']}, by outcome {a['by_outcome']}; every POST "
        f"answered has its row: {'yes' if a['rows'] == a['bastion_post_count'] else 'NO'}. "
        "Requests wrk wrote but never saw read before it closed the connection have none.",
        "",
        "Bastion's own `overhead_ms` (its time excluding the upstream call), p50 / p99 ms by "
        f"phase: {phases}.",
    ]


def sanity_line(data: dict[str, Any]) -> str:
    bad = {k: v for k, v in data["sanity"].items() if v != "ok"}
    if not bad:
        return "Every variant answered with the mock's text, streaming and not, before measuring."
    return "Sanity failures (their results are not valid): " + "; ".join(
        f"{k}: {v}" for k, v in bad.items()
    )


def profile_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for p in data["profiles"].values():
        lines += [
            "",
            f"**Profile: Bastion under wrk at {p['connections']} connection(s)** "
            f"({p['load']['rps']:,.0f} req/s during the profile; `{p['command']}`; raw stacks "
            f"in `{p['raw']}`):",
            "",
            p["summary"],
        ]
    return lines


def rounds_lines(
    data: dict[str, Any], extra: Iterable[tuple[str, dict[str, Any]]] = ()
) -> list[str]:
    """Every measured round, in a collapsed block."""
    runs = [(name, r) for name in ("c1", "cN") for r in data["scenarios"][name]["rounds"]]
    rows = [
        [phase, r["variant"], r.get("connections", "-"), rps(r["rps"]), r["ok"], r["errors"]]
        + [ms(r[p]) for p in ("p50", "p95", "p99", "max")]
        for phase, r in [*runs, *extra]
    ]
    head = ["phase", "variant", "conns", "req/s", "ok", "errors", "p50 ms", "p95 ms", "p99 ms"]
    return [
        "<details><summary>Every round</summary>",
        "",
        *table([*head, "max ms"], rows, "lllr"),
        "",
        "</details>",
    ]
