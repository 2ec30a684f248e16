"""``JOBS``, the platform's job book (behind ``bastion jobs`` and the admin API): every
job with its schedule, and the runs the scheduler recorded, newest first."""

from __future__ import annotations

from pathlib import Path

from bastion.infra.services import JOBS
from tests.support.platforms import booted


async def test_jobs_and_their_recorded_runs(db_url: str, tmp_path: Path) -> None:
    async with booted(tmp_path, db_url) as platform:
        book = platform.service(JOBS)
        jobs = {j.key: j for j in book.jobs()}
        prune = jobs["auth.prune-expired-tokens"]
        assert (prune.extension_id, prune.name, prune.schedule) == (
            "auth",
            "prune-expired-tokens",
            "every 3600s",
        )
        assert await book.last_runs() == {}
        scheduled = next(j for j in platform.scheduler.jobs if j.key == prune.key)
        for _ in range(2):
            await platform.scheduler.run_once(scheduled)
        runs = await book.runs(job=prune.key)
        assert [r.outcome for r in runs] == ["success", "success"]
        assert runs[0].started_at >= runs[1].started_at
        assert runs[0].started_at.tzinfo is not None
        assert (await book.last_runs())[prune.key] == runs[0]
        assert await book.runs(job="core.nothing") == []
