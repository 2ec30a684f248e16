"""The A2A runtime (issue 16): ``python -m bench.a2a``.

Every server is a process of its own (uvicorn with ``bastion serve``'s settings), so the
client does not take their CPU: the remote agent (``bench._support.fakes a2a``: the
official ``a2a-sdk`` server side, every message answered with a task ``COMPLETED`` at
once with one small text artifact), the native agent's model (``fakes agent-llm``: an
Anthropic upstream streaming a ``tool_use`` until the transcript holds K-1 tool results,
then a one-delta text answer), its MCP server (``fakes mcp``: the official SDK's
``add``) and ``bastion serve`` on a profile with both agents (SQLite, or ``--db
postgresql``), called with a JWT of a user-tier account issued by the CLI.

**Remote.** Raw JSON-RPC ``SendMessage`` bodies (a blocking send, ``A2A-Version: 1.0``,
a fresh ``messageId`` each) posted by one asyncio process (uvloop, aiohttp, a keep-alive
pool of ``--clients`` connections, as many workers) either **direct** to the remote
agent or to **bastion**'s ``/api/v1/agents/partner/a2a``, which governs the message
(the ``agent`` target's chain: scopes and ACL, rate limit, quota, the secret scan of its
parts), persists the task, proxies it to the remote (as ``SendStreamingMessage``, with
the agent's credential header injected and the caller's withheld; ``--remote-plain``:
a remote whose card does not stream, sent ``SendMessage``), scans the returned artifact
and persists the outcome. After a warm-up of each, ``--rounds`` rounds of ``--requests``
alternate (direct, bastion, bastion, direct, ...). Reported: each side's median req/s
over its rounds, the ratio, and p50/p99 latency over all its measured requests.

**Native.** One task at a time on one keep-alive connection: ``SendMessage`` "turns=K"
to the native agent ``adder``, K model turns of which K-1 call ``calc/add``, for each K
of ``--turns``, interleaved, ``--tasks`` per K after a warm-up. Once Bastion has stopped
(its audit queue drained), each task's ``ai_requests`` and ``mcp_tool_executions`` rows
are read by ``task_id``; the loop's overhead per turn is (the client's wall time of the
task's ``SendMessage`` - the sum of its rows' ``latency_ms`` - the sum of their
``duration_ms``) / K. A line fitted through (K, wall - sums) separates what every extra
turn costs (the slope) from what a task costs once (the intercept: the HTTP request,
the ``agent`` governance, creating and finishing the task).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import orjson
import uvloop
import yaml

from bench._support import cli, launch
from bench._support.measure import percentile
from bench.mcp import HEADERS, REQUEST

REMOTE = "partner"
NATIVE = "adder"
COMPLETED = b'"TASK_STATE_COMPLETED"'
A2A = {"content-type": "application/json", "a2a-version": "1.0"}
SKILLS = [{"id": "bench", "name": "Bench", "description": "Answers.", "tags": ["bench"]}]


def send_message(text: str) -> bytes:
    """A JSON-RPC ``SendMessage`` of one text part, blocking (the default)."""
    message = {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"text": text}]}
    call = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    return orjson.dumps(call)


@dataclass
class Round:
    side: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # ms, successful requests
    errors: int = 0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds


async def _round(
    session: aiohttp.ClientSession,
    side: str,
    url: str,
    headers: dict[str, str],
    requests: int,
    clients: int,
) -> Round:
    """``requests`` sends by ``clients`` workers; a success is a 200 with a completed task."""
    result = Round(side, 0.0)
    left = requests
    text = "Summarise the open incidents of the billing service for the weekly report."

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            body = send_message(text)
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as answer:
                    data = await answer.read()
                    ok = answer.status == 200 and COMPLETED in data
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                result.latencies.append((time.perf_counter() - started) * 1000)
            else:
                result.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


async def _duel(targets: dict[str, tuple[str, dict[str, str]]], args: Any) -> list[Round]:
    timeout = aiohttp.ClientTimeout(total=60)
    sessions = {
        side: aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=args.clients), timeout=timeout
        )
        for side in targets
    }
    try:
        for side, (url, headers) in targets.items():
            await _round(sessions[side], side, url, headers, args.warm_up, args.clients)
        rounds, order = [], list(targets)
        for _ in range(args.rounds):
            for side in order:
                url, headers = targets[side]
                one = await _round(sessions[side], side, url, headers, args.requests, args.clients)
                print(f"  {side}: {one.rps:,.0f} req/s, {one.errors} errors", flush=True)
                rounds.append(one)
            order.reverse()
        return rounds
    finally:
        for session in sessions.values():
            await session.close()


def remote(bastion: launch.Server, direct_url: str, token: str, args: Any) -> list[list[str]]:
    governed = {**A2A, "authorization": f"Bearer {token}"}
    url = f"{bastion.url}/api/v1/agents/{REMOTE}/a2a"
    answer = httpx.post(url, content=send_message("hello"), headers=governed, timeout=30)
    task = answer.json()["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED", answer.text
    assert task["artifacts"][0]["parts"][0]["text"] == "done", answer.text
    targets = {"direct": (direct_url, dict(A2A)), "bastion": (url, governed)}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        rounds = runner.run(_duel(targets, args))
    lines: list[list[str]] = []
    rps: dict[str, float] = {}
    for side in targets:
        mine = [r for r in rounds if r.side == side]
        rps[side] = statistics.median(r.rps for r in mine)
        latencies = [ms for r in mine for ms in r.latencies]
        lines.append(
            [
                side,
                " / ".join(f"{r.rps:,.0f}" for r in mine),
                f"{rps[side]:,.0f}",
                f"{percentile(latencies, 50):.1f}",
                f"{percentile(latencies, 99):.1f}",
                str(sum(r.errors for r in mine)),
            ]
        )
    ratio = rps["bastion"] / rps["direct"]
    lines.append(["**bastion / direct** (target >= 50%)", "", f"**{ratio:.1%}**", "", "", ""])
    return lines


@dataclass
class Task:
    turns: int
    task_id: str
    wall_ms: float


async def _native(
    url: str, headers: dict[str, str], turns: Sequence[int], tasks: int
) -> list[Task]:
    done: list[Task] = []
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        order = [max(turns)] * 5 + [k for _ in range(tasks) for k in turns]
        for n, k in enumerate(order):
            body = send_message(f"turns={k}: add 2 and 3 with the calculator, then answer.")
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as answer:
                data = await answer.read()
            wall = (time.perf_counter() - started) * 1000
            task = orjson.loads(data)["result"]["task"]
            if task["status"]["state"] != "TASK_STATE_COMPLETED":
                raise SystemExit(f"the native task did not complete: {data[:400]!r}")
            if n >= 5:
                done.append(Task(k, task["id"], wall))
    return done


def _seconds(value: Any) -> float:
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when.timestamp()


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares ``y = a + b x``: (a, b)."""
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return my - b * mx, b


def native_report(ws: launch.Workspace, tasks: list[Task]) -> list[list[str]]:
    model = {
        r[0]: (int(r[1]), float(r[2]))
        for r in ws.rows(
            "SELECT task_id, count(*), sum(latency_ms) FROM ai_requests "
            "WHERE task_id IS NOT NULL GROUP BY task_id"
        )
    }
    tools = {
        r[0]: (int(r[1]), float(r[2]))
        for r in ws.rows(
            "SELECT task_id, count(*), sum(duration_ms) FROM mcp_tool_executions "
            "WHERE task_id IS NOT NULL AND status = 'success' GROUP BY task_id"
        )
    }
    spans = {
        r[0]: (_seconds(r[2]) - _seconds(r[1])) * 1000
        for r in ws.rows(
            f"SELECT id, created_at, updated_at FROM agent_tasks WHERE agent = '{NATIVE}'"
        )
    }
    lines: list[list[str]] = []
    every: list[float] = []
    points: list[tuple[float, float]] = []
    for k in sorted({t.turns for t in tasks}):
        mine = [t for t in tasks if t.turns == k]
        walls, sums, rests, per_turn, in_bastion = [], [], [], [], []
        for t in mine:
            calls, model_ms = model.get(t.task_id, (0, 0.0))
            used, tool_ms = tools.get(t.task_id, (0, 0.0))
            if calls != k or used != k - 1:
                raise SystemExit(f"task {t.task_id}: {calls} model rows, {used} tool rows, K={k}")
            rest = t.wall_ms - model_ms - tool_ms
            walls.append(t.wall_ms)
            sums.append(model_ms + tool_ms)
            rests.append(rest)
            per_turn.append(rest / k)
            in_bastion.append((spans[t.task_id] - model_ms - tool_ms) / k)
            points.append((k, rest))
        every += per_turn
        lines.append(
            [
                str(k),
                str(len(mine)),
                f"{statistics.median(walls):.2f}",
                f"{statistics.median(sums):.2f}",
                f"{statistics.median(rests):.2f}",
                f"{statistics.median(per_turn):.2f}",
                f"{percentile(per_turn, 90):.2f}",
                f"{statistics.median(in_bastion):.2f}",
            ]
        )
    intercept, slope = _fit(points)
    lines.append(
        [
            "all",
            str(len(tasks)),
            "",
            "",
            "",
            f"**{statistics.median(every):.2f}**",
            f"**{percentile(every, 90):.2f}**",
            "",
        ]
    )
    lines.append(
        [
            "fit: wall - sums = a + b K",
            "",
            "",
            "",
            f"a = {intercept:.2f} per task",
            f"b = {slope:.2f} per turn",
            "",
            "",
        ]
    )
    return lines


def profile_agents(ws: launch.Workspace, remote_url: str) -> None:
    partner = {
        "name": REMOTE,
        "description": "A partner's agent, proxied and governed.",
        "version": "1.0.0",
        "remote": {"url": remote_url, "credentials": {"X-Partner-Key": "partner_key"}},
        "skills": SKILLS,
    }
    adder = {
        "name": NATIVE,
        "description": "Adds numbers with the calculator.",
        "version": "1.0.0",
        "model": "claude-agent",
        "instructions": "You are a careful assistant; use the calculator for arithmetic.",
        "mcp": [{"server": "calc", "tools": ["add"]}],
        "limits": {"max_iterations": 64, "max_tokens": 256, "timeout_seconds": 60},
        "skills": SKILLS,
    }
    folder = ws.profile / "services" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.yaml").write_text(yaml.safe_dump([partner, adder], sort_keys=False))


def serve(ws: launch.Workspace, remote_plain: bool) -> tuple[launch.Server, launch.Server]:
    """The fakes and Bastion in ``ws``: (the remote agent, Bastion)."""
    plain = ["--no-streaming"] if remote_plain else []
    hi = send_message("hi")
    agent = ws.fake("remote", "a2a", *plain, probe="/a2a", method="POST", content=hi, headers=A2A)
    turn = b'{"stream": true, "x": "turns=1"}'
    model = ws.fake("model", "agent-llm", method="POST", content=turn)
    calc = ws.fake("mcp", "mcp", probe="/mcp", method="POST", json=REQUEST, headers=HEADERS)
    profile_agents(ws, agent.url + "/a2a")
    bastion = ws.bastion(
        secrets={"partner_key": "partner-" + uuid.uuid4().hex},
        gateway={
            "routes": [
                {
                    "name": "claude",
                    "model_pattern": "claude-*",
                    "provider": "anthropic",
                    "endpoint": model.url,
                    "api_key_secret": "mock_key",
                }
            ]
        },
        mcp={
            "health_interval_seconds": 3600,
            "servers": [{"name": "calc", "url": calc.url + "/mcp", "timeout_seconds": 30}],
        },
    )
    return agent, bastion


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("bench.a2a", __doc__, db="sqlite", rounds=3)
    parser.add_argument("--requests", type=int, default=1500, help="sends per round (1500)")
    parser.add_argument("--warm-up", type=int, default=300, help="sends per side first (300)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--remote-plain", action="store_true", help="a remote that does not stream")
    parser.add_argument(
        "--turns",
        type=lambda s: [int(k) for k in s.split(",")],
        default=[1, 2, 4, 8],
        help="K of the native tasks (1,2,4,8)",
    )
    parser.add_argument("--tasks", type=int, default=40, help="native tasks per K (40)")
    parser.add_argument("--only", choices=["remote", "native"], default=None, help="one part")
    args = parser.parse_args(argv)
    print(f"`{cli.command(parser, argv)}`\n", flush=True)
    with launch.Workspace("a2a", args.db) as ws:
        agent, bastion = serve(ws, args.remote_plain)
        token = launch.credential(ws.profile, "jwt")
        if args.only != "native":
            print("Remote: SendMessage rounds", flush=True)
            lines = remote(bastion, agent.url + "/a2a", token, args)
            head = ["side", "req/s by round", "median req/s", "p50 ms", "p99 ms", "errors"]
            print("\n".join(cli.table(head, lines, "lr")), "\n", flush=True)
        if args.only != "remote":
            url = f"{bastion.url}/api/v1/agents/{NATIVE}/a2a"
            headers = {**A2A, "authorization": f"Bearer {token}"}
            tasks = asyncio.run(_native(url, headers, args.turns, args.tasks))
            ws.stop()
            head = [
                "K (turns)",
                "tasks",
                "median wall ms",
                "median sum of model + tool ms",
                "median wall - sum ms",
                "overhead per turn, median ms (target < 2)",
                "p90 ms",
                "in Bastion (task created -> finished), median ms per turn",
            ]
            print("\n".join(cli.table(head, native_report(ws, tasks), "lr")), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
