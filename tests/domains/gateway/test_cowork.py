"""The Claude for Work credential-helper API: a personal API key is exchanged for a
short-lived JWT and the identity headers to send with it."""

from __future__ import annotations

import httpx

from tests.domains.gateway.conftest import IDENTITY_HEADERS, Gateway, new_trace
from tests.fakes import Reply

PAT = "/v1/gateway/auth/cowork/pat"
CAPABILITIES = "/v1/gateway/auth/cowork/capabilities"
ASK = [{"role": "user", "content": "hi"}]


def exchange(gw: Gateway, credential: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {credential}"} if credential else {}
    return httpx.post(gw.url + PAT, headers=headers, timeout=10)


def test_api_key_is_exchanged_for_a_token_that_works(gw: Gateway) -> None:
    response = exchange(gw, gw.keys["alice"])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"token", "ttl", "headers"}
    assert answer["ttl"] == 3600 and answer["token"].count(".") == 2
    headers = answer["headers"]
    assert headers["x-user-id"].startswith("usr_")
    assert (headers["x-tenant-id"], headers["x-client-id"], headers["x-call-source"]) == (
        "default",
        "claude-for-work",
        "cowork",
    )
    assert "x-policy-version" in headers

    # Claude Desktop then sends the token as a bearer with the identity headers.
    gw.up.anthropic.enqueue(Reply(text="Hello, Desktop."))
    trace = new_trace("cowork")
    message = gw.anthropic(bearer=answer["token"]).messages.create(
        model="claude-opus-4-5",
        max_tokens=16,
        messages=ASK,
        extra_headers={**headers, "x-trace-id": trace},
    )
    assert message.content[0].text == "Hello, Desktop."  # type: ignore[union-attr]
    sent = gw.up.anthropic.last_request
    assert answer["token"] not in str(sent.headers)
    assert not (set(headers) | set(IDENTITY_HEADERS)) & set(sent.headers)
    row = gw.row(trace)
    assert (row["status"], row["user_id"], row["client_id"]) == (
        200,
        headers["x-user-id"],
        "claude-for-work",
    )


def test_a_jwt_cannot_be_exchanged(gw: Gateway) -> None:
    token = exchange(gw, gw.keys["alice"]).json()["token"]
    response = exchange(gw, token)
    assert response.status_code == 401
    assert "API key" in response.json()["error"]["message"]


def test_exchange_needs_a_valid_key(gw: Gateway) -> None:
    assert exchange(gw, None).status_code == 401
    assert exchange(gw, "bst_notarealkey0000000000000000").status_code == 401


def test_capabilities(gw: Gateway) -> None:
    response = httpx.get(gw.url + CAPABILITIES, headers={"x-api-key": gw.keys["alice"]})
    assert response.status_code == 200
    assert response.json() == {"modes": ["pat"]}
