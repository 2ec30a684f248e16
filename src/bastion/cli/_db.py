from __future__ import annotations

import typer

from bastion.cli._common import JSON_OPTION, emit, fail, out, platform, run
from bastion.kernel.ledger import MigrationState

app = typer.Typer(help="The migration ledger: migrate, status, repair.", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Apply pending migrations of every extension, in extension then version order."""

    async def go() -> int:
        async with platform(migrate=False, mount=False) as p:
            applied = await p.ledger.migrate(p.migration_plan())
            return len(applied)

    count = run(go)
    out.print(f"{count} migration(s) applied" if count else "database is up to date")


@app.command()
def status(as_json: bool = JSON_OPTION) -> None:
    """Applied, pending and drifted migrations per extension."""

    async def go() -> list[dict[str, object]]:
        async with platform(migrate=False, mount=False) as p:
            statuses = await p.ledger.status(p.migration_plan())
        return [
            {
                "extension": s.extension_id,
                "version": s.version,
                "name": s.name,
                "state": s.state.value,
                "applied_at": s.applied_at,
                "checksum": s.current_checksum[:12],
            }
            for s in statuses
        ]

    emit(run(go), as_json=as_json, title="Migrations")


@app.command()
def repair(
    reconcile: bool = typer.Option(
        False, "--reconcile", help="Rewrite stored checksums of drifted migrations."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Accept changed migration SQL by rewriting the stored checksum (after confirmation)."""
    if not reconcile:
        raise fail("nothing to do: pass --reconcile to rewrite drifted checksums")

    async def go() -> int:
        async with platform(migrate=False, mount=False) as p:
            drifted = [
                s
                for s in await p.ledger.status(p.migration_plan())
                if s.state is MigrationState.DRIFTED
            ]
            if not drifted:
                out.print("no drifted migrations")
                return 0
            for s in drifted:
                out.print(
                    f"{s.extension_id} {s.version:03d}_{s.name}: stored {s.stored_checksum}, "
                    f"current {s.current_checksum}"
                )
            if not yes and not typer.confirm(
                "The SQL above changed after it was applied. Record the current checksums?"
            ):
                raise fail("aborted; nothing changed")
            for s in drifted:
                await p.ledger.repair(s.extension_id, s.version, s.current_checksum)
            return len(drifted)

    count = run(go)
    if count:
        out.print(f"{count} checksum(s) reconciled")
