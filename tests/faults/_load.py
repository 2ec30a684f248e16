"""A bounded load that counts what was answered, and the audit rows it left."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select

from bastion.domains.gateway._records import ai_requests
from bastion.infra.db import create_engine

MESSAGE = {
    "model": "claude-faults",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}
_traces = itertools.count(1)


def new_trace(tag: str) -> str:
    return f"fault-{tag}-{os.getpid()}-{next(_traces):06d}"


@dataclass
class Load:
    """``total`` requests at ``concurrency``; every answer is kept by trace id. A request
    that gets no complete answer (connection refused or reset, a timeout) is not
    answered."""

    url: str
    headers: dict[str, str]
    total: int
    concurrency: int = 20
    path: str = "/v1/messages"
    body: dict[str, Any] = field(default_factory=lambda: MESSAGE)
    timeout: float = 10.0
    answered: dict[str, httpx.Response] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)
    on_progress: Callable[[int], Awaitable[None]] | None = None

    async def run(self) -> None:
        numbers = iter(range(self.total))
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:

            async def worker() -> None:
                for _ in numbers:
                    trace = new_trace("load")
                    headers = {**self.headers, "x-trace-id": trace}
                    try:
                        response = await client.post(
                            self.url + self.path, json=self.body, headers=headers
                        )
                    except httpx.HTTPError as error:
                        self.unanswered[trace] = repr(error)
                        continue
                    self.answered[trace] = response
                    if self.on_progress is not None:
                        await self.on_progress(len(self.answered))

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for response in self.answered.values():
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
        return counts


async def audit_traces(db_url: str) -> list[str]:
    """Every ``ai_requests`` trace id, duplicates included."""
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            return [str(t) for t in (await conn.execute(select(ai_requests.c.trace_id))).scalars()]
    finally:
        await engine.dispose()


async def audit_count(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(ai_requests)
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def wait_for_rows(db_url: str, expected: int, timeout: float = 60.0) -> int:
    """Poll until ``ai_requests`` holds ``expected`` rows (the writer replays its spill
    with backoff after an outage); the count reached."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    count = -1
    while loop.time() < deadline:
        try:
            count = await audit_count(db_url)
        except Exception:  # the database is still coming back
            count = -1
        if count >= expected:
            return count
        await asyncio.sleep(0.2)
    return count
