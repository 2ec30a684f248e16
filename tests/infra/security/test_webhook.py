from __future__ import annotations

import hashlib
import hmac

import pytest

from bastion.infra.security import (
    SIGNATURE_HEADER,
    MalformedSignatureHeaderError,
    WebhookSignatureMismatchError,
    WebhookTimestampError,
    _webhook,
    sign_webhook,
    verify_webhook,
)

SECRET = "whsec_test"
BODY = b'{"event":"ping"}'
T = 1_750_000_000


def test_header_name() -> None:
    assert SIGNATURE_HEADER == "x-bastion-signature"


def test_signature_format() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_webhook(SECRET, BODY, T) == f"t={T},v1={expected}"
    assert sign_webhook(SECRET.encode(), BODY, T) == sign_webhook(SECRET, BODY, T)


def test_round_trip() -> None:
    assert verify_webhook(SECRET, BODY, sign_webhook(SECRET, BODY, T), now=T + 10) == T


def test_tampered_body() -> None:
    header = sign_webhook(SECRET, BODY, T)
    with pytest.raises(WebhookSignatureMismatchError) as info:
        verify_webhook(SECRET, BODY + b" ", header, now=T)
    assert str(info.value) == "webhook signature does not match the body"


def test_wrong_secret() -> None:
    with pytest.raises(WebhookSignatureMismatchError):
        verify_webhook("other", BODY, sign_webhook(SECRET, BODY, T), now=T)


def test_timestamp_is_signed() -> None:
    signature = sign_webhook(SECRET, BODY, T).partition(",")[2]
    with pytest.raises(WebhookSignatureMismatchError):
        verify_webhook(SECRET, BODY, f"t={T + 100},{signature}", now=T + 100)


@pytest.mark.parametrize("now", [T + 301, T - 301, T + 86_400])
def test_replay_outside_tolerance(now: int) -> None:
    with pytest.raises(WebhookTimestampError) as info:
        verify_webhook(SECRET, BODY, sign_webhook(SECRET, BODY, T), now=now)
    assert str(info.value) == "webhook timestamp is more than 300 seconds from the current time"


def test_tolerance_boundary_and_override() -> None:
    header = sign_webhook(SECRET, BODY, T)
    assert verify_webhook(SECRET, BODY, header, now=T + 300) == T
    assert verify_webhook(SECRET, BODY, header, now=T - 300) == T
    with pytest.raises(WebhookTimestampError) as info:
        verify_webhook(SECRET, BODY, header, now=T + 61, tolerance=60)
    assert str(info.value) == "webhook timestamp is more than 60 seconds from the current time"


def test_any_v1_may_match() -> None:
    valid = sign_webhook(SECRET, BODY, T).partition(",")[2]
    header = f"t={T}, v1={'0' * 64}, {valid}, v0=legacy"
    assert verify_webhook(SECRET, BODY, header, now=T) == T


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "signature header items must be key=value"),
        ("garbage", "signature header items must be key=value"),
        ("v1=" + "a" * 64, "signature header needs exactly one 't' of unix seconds"),
        (f"t={T},t={T},v1=" + "a" * 64, "signature header needs exactly one 't' of unix seconds"),
        ("t=-5,v1=" + "a" * 64, "signature header needs exactly one 't' of unix seconds"),
        ("t=1e9,v1=" + "a" * 64, "signature header needs exactly one 't' of unix seconds"),
        (f"t={T}", "signature header has no 'v1' signature"),
        (f"t={T},v0=abc", "signature header has no 'v1' signature"),
        (f"t={T},v1=abc", "signature header 'v1' must be 64 lowercase hex digits"),
        (f"t={T},v1=" + "A" * 64, "signature header 'v1' must be 64 lowercase hex digits"),
        ("t=1," + "v1=" + "a" * 5000, "signature header is too long"),
    ],
)
def test_malformed_header(header: str, message: str) -> None:
    with pytest.raises(MalformedSignatureHeaderError) as info:
        verify_webhook(SECRET, BODY, header, now=T)
    assert str(info.value) == message


def test_empty_secret_and_negative_timestamp() -> None:
    with pytest.raises(ValueError, match=r"^webhook secret must not be empty$"):
        sign_webhook("", BODY, T)
    with pytest.raises(ValueError, match=r"^webhook secret must not be empty$"):
        verify_webhook(b"", BODY, sign_webhook(SECRET, BODY, T), now=T)
    with pytest.raises(ValueError, match=r"^timestamp must not be negative$"):
        sign_webhook(SECRET, BODY, -1)


def test_verify_compares_with_compare_digest() -> None:
    assert "compare_digest" in _webhook.verify_webhook.__code__.co_names
