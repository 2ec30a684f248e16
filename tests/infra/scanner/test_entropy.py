"""The entropy check: random tokens flagged, random-looking data left alone."""

from __future__ import annotations

import base64
import math
import random
import string
import uuid

import pytest

from bastion.infra.scanner import ScannerSettings, SecretScanner
from bastion.infra.scanner._entropy import looks_random, shannon_entropy

RNG = random.Random(5)
ALNUM = string.ascii_letters + string.digits


def token(n: int = 44) -> str:
    while True:
        value = "".join(RNG.choice(ALNUM) for _ in range(n))
        if looks_random(value, 4.0):
            return value


def entropy_hits(scanner: SecretScanner, text: str) -> list[str]:
    return [text[f.start : f.end] for f in scanner.scan_text(text)]


@pytest.mark.parametrize(
    ("value", "bits"),
    [("", 0.0), ("aaaa", 0.0), ("abab", 1.0), ("abcd", 2.0), (string.hexdigits[:16], 4.0)],
)
def test_shannon_entropy(value: str, bits: float) -> None:
    assert math.isclose(shannon_entropy(value), bits, abs_tol=1e-9)


def test_long_values_use_the_same_formula() -> None:
    value = "".join(RNG.choice("ab") for _ in range(10_000))
    share = value.count("a") / len(value)
    expected = -(share * math.log2(share) + (1 - share) * math.log2(1 - share))
    assert math.isclose(shannon_entropy(value), expected, rel_tol=1e-9)


def test_random_tokens_are_flagged(scanner: SecretScanner) -> None:
    for _ in range(20):
        secret = token()
        assert entropy_hits(scanner, f"value {secret} end") == [secret]


@pytest.mark.parametrize(
    "value",
    [
        str(uuid.UUID(int=RNG.getrandbits(128))),
        f"{RNG.getrandbits(160):040x}",
        f"{RNG.getrandbits(256):064x}",
        "GUID-B0437826-43C1-49EC-A94D-B650B6A4A6EE",
        "getUserAccountSettingsForOrganization2",
        "sodium_crypto_sign_ed25519_pk_to_curve25519",
        "BSD-3-Clause-No-Nuclear-License-2014",
        base64.b64encode(b"The quick brown fox jumps over the lazy dog again").decode(),
        base64.urlsafe_b64encode(b'{"offset": 100, "limit": 50, "q": "x"}').decode(),
        base64.b64encode(b"\x89PNG\r\n\x1a\n" + RNG.randbytes(40)).decode(),
        base64.b64encode(b"%PDF-1.7\n" + RNG.randbytes(40)).decode(),
    ],
)
def test_ids_hashes_names_text_and_media_are_not_random(value: str) -> None:
    assert not looks_random(value, 4.0)


def test_data_uri_and_long_blobs_are_payloads(scanner: SecretScanner) -> None:
    small = base64.b64encode(RNG.randbytes(300)).decode()
    assert entropy_hits(scanner, f"data:application/octet-stream;base64,{small}") == []
    assert entropy_hits(scanner, base64.b64encode(RNG.randbytes(5000)).decode()) == []


def test_public_pem_and_ssh_keys_are_not_secrets(scanner: SecretScanner) -> None:
    body = base64.b64encode(RNG.randbytes(600)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    assert (
        entropy_hits(scanner, f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----")
        == []
    )
    assert entropy_hits(scanner, f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{token(43)} me@host") == []
    assert entropy_hits(scanner, f"sha512-{base64.b64encode(RNG.randbytes(64)).decode()}") == []


def test_a_secret_after_a_closed_certificate_is_still_found(scanner: SecretScanner) -> None:
    body = base64.b64encode(RNG.randbytes(120)).decode()
    secret = token()
    text = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\nkey {secret}"
    assert entropy_hits(scanner, text) == [secret]


def test_multi_line_base64_block_is_data(scanner: SecretScanner) -> None:
    body = base64.b64encode(RNG.randbytes(300)).decode()
    block = "\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    assert entropy_hits(scanner, block) == []


def test_url_path_segments_are_ids_but_query_values_are_checked(scanner: SecretScanner) -> None:
    secret = token()
    assert entropy_hits(scanner, f"https://docs.google.com/document/d/{secret}/edit") == []
    assert entropy_hits(scanner, f"https://api.test/v1/items?sig={secret}&x=1") == [secret]


def test_file_path_segments_are_judged_one_by_one(scanner: SecretScanner) -> None:
    secret = token()
    assert entropy_hits(scanner, "/srv/app/releases/current/config/settings.yaml") == []
    found = scanner.scan_text(f"/var/lib/secrets/{secret}/current")
    assert [(f.pattern_id, f.start, f.end) for f in found] == [
        ("high-entropy-string", 17, 17 + len(secret))
    ]


def test_thresholds_come_from_settings() -> None:
    secret = token(24)
    default = SecretScanner()
    short = SecretScanner(ScannerSettings.model_validate({"entropy": {"min_length": 20}}))
    assert entropy_hits(default, f"value {secret}") == []
    assert entropy_hits(short, f"value {secret}") == [secret]
