"""Fake upstreams (real HTTP servers on loopback, started once) and a fresh pooled
session per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from bastion.domains.gateway.upstreams import create_http_session
from tests.domains.gateway.upstreams._support import ROUTE_KEY
from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI


@pytest.fixture(scope="session")
def _anthropic_server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=ROUTE_KEY) as fake:
        yield fake


@pytest.fixture(scope="session")
def _openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=ROUTE_KEY) as fake:
        yield fake


@pytest.fixture(scope="session")
def _gemini_server() -> Iterator[FakeGemini]:
    with FakeGemini(api_key=ROUTE_KEY) as fake:
        yield fake


@pytest.fixture
def fake_anthropic(_anthropic_server: FakeAnthropic) -> FakeAnthropic:
    _anthropic_server.reset()
    _anthropic_server.count_tokens_result = None
    return _anthropic_server


@pytest.fixture
def fake_openai(_openai_server: FakeOpenAI) -> FakeOpenAI:
    _openai_server.reset()
    return _openai_server


@pytest.fixture
def fake_gemini(_gemini_server: FakeGemini) -> FakeGemini:
    _gemini_server.reset()
    return _gemini_server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    session = create_http_session()
    yield session
    await session.close()
