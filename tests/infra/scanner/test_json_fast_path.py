"""``scan_json``'s quick pass returns exactly what the full pass returns.

Documents are generated from a seeded random source (reproducible; hypothesis is not a
dependency): nested objects, arrays and tuples whose strings and keys mix the labelled
fixture positives and negatives, bare secrets, secrets split across neighbouring leaves,
values under credential-named keys, non-string keys and scalars. Each is scanned by
``scan_json`` and by the full pass (``_scan_json``, the reference), under several scanner
configurations.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from bastion.infra.scanner import (
    ExtraPattern,
    Finding,
    ScannerSettings,
    SecretScanner,
    _json,
)
from tests.infra.scanner.conftest import NEGATIVES, POSITIVES, Gen

KEYS = (
    "model",
    "content",
    "text",
    "messages",
    "arguments",
    "password",
    "db_password",
    "passwd",
    "api_key",
    "x-api-key",
    "apiKey",
    "token",
    "access_token",
    "next_page_token",
    "secret",
    "client_secret",
    "private_key",
    "credentials",
    "Authorization",
    "user_id",
    "value",
)
WORDS = ("ok", "deploy", "the build failed", "retry in 5s", "", " ", "\n", "é" * 8, "a\x00b")


def _strings(seed: int) -> list[str]:
    gen = Gen(seed)
    out = [p.text for p in POSITIVES] + [p.secret for p in POSITIVES]
    out += [n.text for n in NEGATIVES]
    out += [gen.password() for _ in range(20)] + [gen.alnum(24) for _ in range(10)]
    out += ["changeme", "${DB_PASSWORD}", "hunter2!x", "os.environ['TOKEN']", "None"]
    out += ["see TICKET-20931 for details", "deploy went ok"]
    # An assignment whose quoted value is closed only in the next leaf.
    out += ['password = "' + gen.password(), 'tail" and more']
    return out


class Documents:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.strings = _strings(seed)

    def text(self) -> str:
        roll = self.rng.random()
        if roll < 0.55:
            return self.rng.choice(self.strings)
        if roll < 0.75:
            return self.rng.choice(WORDS)
        first, second = self.rng.choice(self.strings), self.rng.choice(self.strings)
        if roll < 0.9:
            return f"{first[: self.rng.randint(0, 60)]} {second}"
        return second[self.rng.randint(0, len(second)) :]

    def key(self) -> object:
        roll = self.rng.random()
        if roll < 0.65:
            return self.rng.choice(KEYS)
        if roll < 0.8:
            return self.text()[:80]
        if roll < 0.9:
            return self.rng.randint(0, 9)
        return self.rng.choice(WORDS)

    def scalar(self) -> object:
        return self.rng.choice((None, True, False, 0, 42, 2.5, -1))

    def value(self, depth: int = 0) -> object:
        roll = self.rng.random()
        if depth >= 6 or roll < 0.35:
            return self.text() if self.rng.random() < 0.85 else self.scalar()
        if roll < 0.45:
            # One string split across neighbouring leaves.
            whole = self.rng.choice(self.strings)
            cut = self.rng.randint(0, len(whole))
            return [whole[:cut], whole[cut:]]
        size = self.rng.randint(0, 5)
        if roll < 0.75:
            return {self.key(): self.value(depth + 1) for _ in range(size)}
        items = [self.value(depth + 1) for _ in range(size)]
        return items if roll < 0.92 else tuple(items)


SCANNERS = {
    "default": ScannerSettings(),
    "custom-and-allowlist": ScannerSettings(
        extra_patterns=[
            ExtraPattern(id="ticket", regex=r"TICKET-[0-9]{4,}"),
            # Can match across the separator of joined leaves: the full pass runs it per leaf.
            ExtraPattern(id="loose", regex=r"deploy[\s\S]{0,12}ok"),
        ],
        allowlist_regexes=[r"^AKIA"],
    ),
    "no-generic-no-entropy": ScannerSettings(
        disabled_patterns=["generic-password", "generic-secret", "high-entropy-string"]
    ),
}


def _full_pass(scanner: SecretScanner, value: object) -> list[Finding]:
    return scanner._scan_json(value, copy=False)[1]


@pytest.mark.parametrize("config", list(SCANNERS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quick_pass_equals_the_full_pass(config: str, seed: int) -> None:
    scanner = SecretScanner(SCANNERS[config])
    documents = Documents(seed * 7919)
    with_findings = 0
    for _ in range(400):
        document = documents.value()
        expected = _full_pass(scanner, document)
        assert scanner.scan_json(document) == expected, document
        with_findings += bool(expected)
    # Both outcomes are well represented, so both branches of scan_json are compared.
    assert 40 <= with_findings <= 360


def test_clean_documents_never_walk_for_paths(
    scanner: SecretScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = Documents(11)
    clean: list[object] = []
    while len(clean) < 50:
        document = documents.value()
        if not _full_pass(scanner, document):
            clean.append(document)

    def no_walk(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the full pass ran for a document without findings")

    monkeypatch.setattr(_json, "walk", no_walk)
    for document in clean:
        assert scanner.scan_json(document) == []


@pytest.mark.parametrize("depth", [_json.MAX_QUICK_DEPTH, _json.MAX_QUICK_DEPTH + 1, 3000])
def test_documents_too_deep_for_the_quick_pass_take_the_full_one(
    scanner: SecretScanner, depth: int
) -> None:
    secret = POSITIVES[0]
    for leaf, found in ((secret.text, True), ("nothing to see", False)):
        value: object = leaf
        for _ in range(depth):
            value = {"a": [value]}
        findings = scanner.scan_json(value)
        assert findings == _full_pass(scanner, value)
        assert bool(findings) is found
