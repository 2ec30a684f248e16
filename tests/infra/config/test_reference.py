"""The configuration reference: the platform's keys and every extension's namespace, core
domains and third-party ones documented by the one mechanism."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from bastion.infra.config import Profile, reference_markdown
from bastion.infra.config._reference import rows
from bastion.runtime.discovery import installed_extensions
from bastion.runtime.namespaces import namespaces, reference

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_configuration_doc_carries_the_current_generated_reference() -> None:
    assert reference(builtin=True) in DOC.read_text(), (
        "docs/configuration.md is stale: regenerate it with `make docs` "
        "(`bastion config reference --builtin`)"
    )


def test_core_namespaces_and_third_party_ones_are_documented_alike() -> None:
    full, builtin = reference(), reference(builtin=True)
    for heading in ("### `gateway` (extension `gateway`)", "### `governance`", "### `mcp`"):
        assert heading in builtin and heading in full
    assert "### `helpdesk` (extension `helpdesk`)" in full
    assert "| `helpdesk.max_open_per_user` |" in full
    assert "helpdesk" not in builtin


def test_every_key_is_documented() -> None:
    declared = namespaces([ext for ext, _ in installed_extensions()])
    models: list[tuple[str, type[BaseModel]]] = [("", Profile)]
    models += [(f"{ns.name}.", ns.model) for ns in declared]
    documented = {path for prefix, model in models for path, *_ in rows(model, prefix)}
    for key in (
        "server.port",
        "security.jwt.algorithm",
        "gateway.routes[].provider",
        "governance.blocklist.content[].regex",
        "extensions.min_maturity",
        "mcp.servers[].url",
        "agents.agents[].name",
    ):
        assert key in documented
    undescribed = [
        path for prefix, model in models for path, _, _, desc in rows(model, prefix) if not desc
    ]
    assert undescribed == []


def test_a_namespace_gets_its_own_section() -> None:
    class Vendor(BaseModel):
        """Settings of the vendor extension."""

        region: str = "eu"

    text = reference_markdown([("vendor", Vendor, "vendor_ext")])
    assert "### `vendor` (extension `vendor_ext`)\n\nSettings of the vendor extension." in text
    assert "| `vendor.region` | str | `eu` |" in text
