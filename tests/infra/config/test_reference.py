from __future__ import annotations

from pathlib import Path

from bastion.infra.config import Profile, reference_markdown
from bastion.infra.config._reference import rows

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_configuration_doc_carries_the_current_generated_reference() -> None:
    assert reference_markdown() in DOC.read_text(), (
        "docs/configuration.md is stale: regenerate its reference with `bastion config reference`"
    )


def test_every_profile_key_is_documented() -> None:
    documented = {path for path, *_ in rows(Profile)}
    for key in (
        "server.port",
        "security.jwt.algorithm",
        "gateway.routes[].provider",
        "governance.blocklist.content[].regex",
        "extensions.min_maturity",
    ):
        assert key in documented
    undescribed = [path for path, _, _, desc in rows(Profile) if not desc]
    assert undescribed == []
