"""Engine behaviour: offsets, overlaps, odd inputs, linear time on adversarial text."""

from __future__ import annotations

import base64
import itertools
import random
import string
import time

import pytest

from bastion.infra.scanner import SecretScanner

RNG = random.Random(17)
GITHUB_TOKEN = "gh" + "p_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"


def test_offsets_are_characters_in_non_ascii_text(scanner: SecretScanner) -> None:
    text = f"clé secrète 🔑: {GITHUB_TOKEN} — merci"
    [finding] = scanner.scan_text(text)
    assert text[finding.start : finding.end] == GITHUB_TOKEN


def test_non_ascii_password_is_kept_whole(scanner: SecretScanner) -> None:
    text = 'password = "pässwörd-42€"'
    [finding] = scanner.scan_text(text)
    assert text[finding.start : finding.end] == "pässwörd-42€"


@pytest.mark.parametrize("text", ["", "\x00", "a", "\x00" * 100, "password=", "-----BEGIN "])
def test_degenerate_inputs(scanner: SecretScanner, text: str) -> None:
    assert scanner.scan_text(text) == []


def test_findings_are_sorted_and_never_overlap(scanner: SecretScanner) -> None:
    secrets = [GITHUB_TOKEN, "np" + "m_" + "Zq8XbP2mR7tY4wK9vN3sL6hJ1gF5dC0aQw2E"]
    text = f"token: {secrets[0]}\nexport NPM={secrets[1]}\napi_key={secrets[0]} {secrets[1]}"
    findings = scanner.scan_text(text)
    assert len(findings) == 4
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_pattern_ids_cover_builtins_and_entropy(scanner: SecretScanner) -> None:
    pattern_ids = scanner.pattern_ids()
    assert len(pattern_ids) == len(set(pattern_ids)) >= 41
    assert pattern_ids[-1] == "high-entropy-string"
    assert {"aws-access-key-id", "anthropic-api-key", "jwt", "generic-password"} <= set(pattern_ids)


@pytest.mark.parametrize(
    "text",
    [
        "sk-proj-" * 12_000,
        ("password=" + "x" * 7 + " ") * 6_000,
        base64.b64encode(RNG.randbytes(75_000)).decode(),
        "".join(RNG.choice(string.ascii_letters + string.digits + "-_.") for _ in range(100_000)),
        "-----BEGIN RSA PRIVATE KEY-----" + "A-" * 50_000,
        "a" * 100_000,
    ],
    ids=["prefix-spam", "assignment-spam", "base64-blob", "token-soup", "pem-soup", "one-char"],
)
def test_adversarial_100kb_inputs_stay_fast(scanner: SecretScanner, text: str) -> None:
    started = time.perf_counter()
    scanner.scan_text(text)
    # Linear-time matching keeps each of these in milliseconds; the bound is loose for CI.
    assert time.perf_counter() - started < 1.0


def test_scanner_is_reusable_and_deterministic(scanner: SecretScanner) -> None:
    text = f"x {GITHUB_TOKEN} y password='Hunter2!x'"
    assert scanner.scan_text(text) == scanner.scan_text(text)
    assert repr(scanner) == f"SecretScanner(patterns={len(scanner.pattern_ids())})"
