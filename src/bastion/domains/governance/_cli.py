"""``bastion governance``: the governance domain's ``cli()``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import typer

from bastion.domains.governance._payloads import parse_evaluate
from bastion.infra.commands import command_context, fail, read_bytes, run, shown
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.governance import GOVERNANCE
from bastion.kernel.ids import RoleName, TenantId, UserId, new_trace_id
from bastion.kernel.policy import PolicyContext
from bastion.kernel.tiers import Tier

app = typer.Typer(help="Try the governance chain without sending anything anywhere.")


def _principal(spec: Any) -> RequestContext:
    spec = spec if isinstance(spec, dict) else {}
    try:
        tier = Tier.parse(spec.get("tier", "user"))
    except ValueError as exc:
        raise fail(f"principal.tier: {exc}") from None
    return RequestContext(
        trace_id=new_trace_id(),
        tier=tier,
        auth_method=AuthMethod.JWT,
        user_id=UserId(spec.get("user_id", "usr_governance_test")),
        tenant_id=TenantId(spec.get("tenant_id", "default")),
        role=RoleName(spec.get("role", tier.label)),
        scopes=frozenset(spec.get("scopes", ["*"])),
    )


@app.command("test")
def test_(
    ctx: typer.Context,
    input_file: Path = typer.Option(
        ...,
        "--input",
        help="JSON file ('-' for stdin): {target, input, principal?: {tier, scopes, role, ...}}",
    ),
) -> None:
    """Evaluate the chain on INPUT as a dry run (not recorded) and print the decision.

    Exit status 0 when allowed, 2 when denied."""
    bastion = command_context(ctx)
    try:
        document = orjson.loads(read_bytes(input_file))
    except (OSError, UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise fail(f"{shown(input_file)}: {exc}") from None
    try:
        target, data = parse_evaluate(document)
    except ValueError as exc:
        raise fail(f"{shown(input_file)}: {exc}") from None
    principal = _principal(document.get("principal"))

    async def go() -> dict[str, object]:
        async with bastion.platform() as p:
            decision = await p.service(GOVERNANCE).engine.evaluate(
                PolicyContext(principal, target, data), record=False
            )
        return decision.as_dict()

    result = run(go)
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    if result["decision"] == "deny":
        raise typer.Exit(2)
