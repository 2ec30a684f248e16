"""Schemathesis against a running Bastion, from the OpenAPI document it serves.

Every documented operation gets ``BASTION_FUZZ_EXAMPLES`` generated requests (default 25,
a bounded CI budget; ``make fuzz`` runs a long one), valid and invalid ones, with an
admin API key, derandomised so a run is reproducible. The bar: no 5xx, no traceback text
in any answer, every 4xx in the caller's wire format (Anthropic on ``/v1/messages``,
OpenAI on ``/v1/chat/completions``, JSON-RPC on MCP, an HTML page from the web console,
Bastion's JSON elsewhere).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.examples.install import examples_installed
from tests.support.openapi_server import api_server
from tests.support.server import ServerThread

__all__ = ["examples_installed"]

EXAMPLES = int(os.environ.get("BASTION_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, str, Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzzdb') / 'bastion.db'}"
    with api_server(tmp_path_factory.mktemp("fuzz") / "profile", url) as (server, key):
        doc = httpx.get(server.url + "/api/v1/openapi.json").json()
        yield server, key, schemathesis.openapi.from_dict(doc)


def wire_format_problem(path: str, body: bytes, content_type: str = "") -> str | None:
    """Why a 4xx body is not in the format its path promises, or None."""
    if (path == "/admin" or path.startswith("/admin/")) and content_type.startswith("text/html"):
        # The web console answers a browser: its own refusals are pages (or htmx
        # fragments); what the core refuses before it (no route, 413, 429) is JSON.
        return None if b"<" in body else "an empty page"
    if path.startswith("/admin/static/") and content_type.startswith("text/plain"):
        return None  # a missing asset: the static server's plain 404
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "not JSON"
    if not isinstance(doc, dict):
        return "not an object"
    error = doc.get("error")
    if path.startswith("/v1/chat/"):
        ok = isinstance(error, dict) and {"message", "type"} <= error.keys()
        return None if ok and set(doc) == {"error"} else "not an OpenAI error"
    if path.startswith("/v1/"):
        ok = doc.get("type") == "error" and isinstance(error, dict)
        return None if ok and {"type", "message"} <= error.keys() else "not an Anthropic error"
    if path.startswith("/api/v1/mcp/") and path.endswith("/mcp"):
        ok = doc.get("jsonrpc") == "2.0" and isinstance(error, dict)
        return None if ok and {"code", "message"} <= error.keys() else "not a JSON-RPC error"
    return None if "error" in doc else "no error member"


def test_no_5xx_no_traceback_and_4xx_in_the_callers_format(
    fuzzed: tuple[ServerThread, str, Any],
) -> None:
    server, key, schema = fuzzed
    failures: list[str] = []
    calls = 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = st.one_of(
                operation.as_strategy(),
                operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
            )

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal calls
                kwargs = case.as_transport_kwargs(base_url=server.url)
                headers = {
                    k: v for k, v in (kwargs.get("headers") or {}).items() if isinstance(v, str)
                }
                headers["x-api-key"] = key
                headers.pop("Authorization", None)
                response = client.request(
                    kwargs["method"],
                    case.formatted_path,
                    params=kwargs.get("params"),
                    headers=headers,
                    content=_content(kwargs),
                )
                calls += 1
                where = f"{case.method} {case.formatted_path}"
                if response.status_code >= 500 and response.status_code != 503:
                    failures.append(f"{where}: {response.status_code} {response.text[:300]}")
                if "Traceback" in response.text:
                    failures.append(f"{where}: traceback in the answer")
                if 400 <= response.status_code < 500 and response.status_code != 499:
                    problem = wire_format_problem(
                        case.formatted_path,
                        response.content,
                        response.headers.get("content-type", ""),
                    )
                    if problem:
                        failures.append(f"{where}: {problem}: {response.text[:300]}")

            run()
    assert calls > 0
    assert failures == []


def _content(kwargs: dict[str, Any]) -> bytes | None:
    if "json" in kwargs:
        # The stdlib writes integers of any size, which a fuzzer does produce.
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data") or kwargs.get("content")
    if isinstance(data, str):
        return data.encode()
    return data if isinstance(data, bytes) else None
