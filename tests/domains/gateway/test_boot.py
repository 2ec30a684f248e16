"""Gateway configuration at boot: an unknown provider tag stops the boot with one line;
an extension adds a provider tag, or shadows a built-in one, through ``llm_upstreams()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from bastion.cli import build_app

# A custom provider is written from the facade alone, as an extension author would.
from bastion.extension import (
    Extension,
    ExtensionMeta,
    MessagesCall,
    UpstreamHealth,
    UpstreamRegistration,
    UpstreamResponse,
    UpstreamServices,
    UpstreamStream,
    UpstreamTarget,
    Usage,
)
from bastion.infra.config import load_profile
from bastion.kernel.ids import TenantId, UserId
from bastion.runtime.boot import boot
from bastion.runtime.errors import BootError
from tests.support import running_server, write_profile

ASK = [{"role": "user", "content": "hi"}]


def validate(profile: Path) -> Any:
    return CliRunner().invoke(build_app(profile), ["--profile", str(profile), "config", "validate"])


def test_unknown_provider_fails_boot_with_one_line(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "p",
        db_url,
        {"gateway": {"routes": [{"model_pattern": "*", "provider": "x"}]}},
    )
    result = validate(profile)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "error: boot failed at validate: Gateway provider 'x' is not registered"
    ]


def test_missing_route_key_fails_boot(db_url: str, tmp_path: Path) -> None:
    route = {"model_pattern": "*", "provider": "anthropic", "api_key_secret": "nope"}
    profile = write_profile(tmp_path / "p", db_url, {"gateway": {"routes": [route]}})
    result = validate(profile)
    assert result.exit_code == 1
    secrets_file = profile.resolve() / "secrets.yaml"
    assert result.stderr.splitlines() == [
        f"error: boot failed at validate: secret 'nope' is not defined in {secrets_file}"
    ]


def test_fallback_to_an_unknown_route_fails_boot(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "p",
        db_url,
        {"gateway": {"routes": [{"model_pattern": "*", "provider": "mock", "fallbacks": ["b"]}]}},
    )
    result = validate(profile)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: boot failed at validate: gateway route '*' falls back to unknown route 'b'"
    ]


CLOSED: list[str] = []


class EchoUpstream:
    """Answers with the upstream model it was asked for and the route key it was given."""

    def __init__(self, name: str) -> None:
        self.name = name

    def health(self) -> UpstreamHealth:
        return UpstreamHealth()

    async def aclose(self) -> None:
        CLOSED.append(self.name)

    async def messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream:
        text = f"{self.name}:{call.body['model']}:{target.api_key}"
        message = {
            "id": "msg_echo",
            "type": "message",
            "role": "assistant",
            "model": call.body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 4},
        }
        return UpstreamResponse(200, orjson.dumps(message), Usage(3, 4))

    async def count_tokens(
        self,
        body: Mapping[str, Any],
        target: UpstreamTarget,
        forward_headers: Mapping[str, str] | None = None,
    ) -> int | None:
        return 99


class EchoProviders(Extension):
    meta = ExtensionMeta(id="echo-providers", version="1")

    def llm_upstreams(self) -> Sequence[UpstreamRegistration]:
        def echo(services: UpstreamServices) -> EchoUpstream:
            assert services.http is not None  # the shared pooled session
            return EchoUpstream("echo")

        return [
            UpstreamRegistration("echo", echo),
            UpstreamRegistration("mock", lambda services: EchoUpstream("shadowed-mock")),
        ]


def test_extension_adds_and_shadows_provider_tags(
    db_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    profile = write_profile(
        tmp_path / "p",
        db_url,
        {
            "gateway": {
                "routes": [
                    {
                        "model_pattern": "echo-*",
                        "provider": "echo",
                        "upstream_model": "echoed",
                        "api_key_secret": "echo_key",
                    },
                    {"model_pattern": "*", "provider": "mock"},
                ]
            }
        },
        {"echo_key": "echo-route-key"},
    )
    CLOSED.clear()
    with running_server(profile, extra=[EchoProviders]) as server:
        assert server.platform is not None
        user = server.platform.roles.get("user")
        assert user is not None
        token = server.platform.jwt.issue(
            user_id=UserId("usr_echo"),
            tenant_id=TenantId("default"),
            role=user.name,
            tier=user.tier,
            scopes=user.scopes,
        ).token
        headers = {"authorization": f"Bearer {token}"}

        def ask(model: str) -> str:
            response = httpx.post(
                server.url + "/v1/messages",
                json={"model": model, "max_tokens": 8, "messages": ASK},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            return str(response.json()["content"][0]["text"])

        assert ask("echo-1") == "echo:echoed:echo-route-key"
        assert ask("anything") == "shadowed-mock:anything:None"
        counted = httpx.post(
            server.url + "/v1/messages/count_tokens",
            json={"model": "echo-1", "messages": ASK},
            headers=headers,
        )
        assert counted.json() == {"input_tokens": 99}
    logged = capfd.readouterr()
    assert "upstream provider shadowed" in logged.out + logged.err
    # The gateway closes every provider it built when it stops (the shadowed one too).
    assert sorted(CLOSED) == ["echo", "shadowed-mock"]


class NotAProvider:
    async def messages(self, call: MessagesCall, target: UpstreamTarget) -> UpstreamResponse:
        raise AssertionError("never called")


class HalfProviders(Extension):
    meta = ExtensionMeta(id="half", version="1")

    def llm_upstreams(self) -> Sequence[UpstreamRegistration]:
        return [UpstreamRegistration("half", lambda services: NotAProvider())]


async def test_a_factory_that_builds_no_llm_upstream_fails_boot_with_one_line(
    db_url: str, tmp_path: Path
) -> None:
    loaded = load_profile(write_profile(tmp_path / "p", db_url))
    with pytest.raises(BootError) as failed:
        await boot(loaded, extra=[HalfProviders])
    assert str(failed.value) == (
        "boot failed at validate: extension 'half': the factory of provider 'half' built a "
        "NotAProvider, which has no name, count_tokens, health, aclose; an llm_upstreams() "
        "factory returns an LlmUpstream (name, messages, count_tokens, health, aclose)"
    )
