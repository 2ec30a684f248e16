"""``bastion jobs``: a front end of the ``JOBS`` platform service (as the admin API's
``/jobs`` is)."""

from __future__ import annotations

import typer

from bastion.cli._common import JSON_OPTION, emit, fail, out, platform, run
from bastion.infra.services import JOBS

app = typer.Typer(help="Scheduled extension jobs and their recorded runs.", no_args_is_help=True)


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """Every job with its schedule and last recorded outcome."""

    async def go() -> list[dict[str, object]]:
        async with platform() as p:
            book = p.service(JOBS)
            last = await book.last_runs()
            rows: list[dict[str, object]] = []
            for job in book.jobs():
                previous = last.get(job.key)
                rows.append(
                    {
                        "job": job.key,
                        "schedule": job.schedule,
                        "last_run": previous.started_at if previous else None,
                        "last_outcome": previous.outcome if previous else None,
                    }
                )
            return rows

    emit(run(go), as_json=as_json, title="Jobs")


@app.command()
def runs(
    job: str | None = typer.Option(None, "--job", help="Only runs of EXTENSION.JOB."),
    limit: int = typer.Option(50, "--limit", help="How many runs, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recorded runs: job, start, duration, outcome."""

    async def go() -> list[dict[str, object]]:
        async with platform() as p:
            found = await p.service(JOBS).runs(job=job, limit=limit)
        return [
            {
                "job": r.key,
                "started_at": r.started_at,
                "duration_ms": round(r.duration_ms, 2),
                "outcome": r.outcome,
                "error": r.error,
            }
            for r in found
        ]

    emit(run(go), as_json=as_json, title="Job runs")


@app.command("run")
def run_now(job: str = typer.Argument(..., help="EXTENSION.JOB")) -> None:
    """Run one job now, in this process, and record the run."""

    async def go() -> str:
        async with platform() as p:
            found = next((j for j in p.scheduler.jobs if j.key == job), None)
            if found is None:
                raise fail(f"no job '{job}'")
            result = await p.scheduler.run_once(found)
            return "skipped (running on another replica)" if result is None else result.outcome

    out.print(f"{job}: {run(go)}")
