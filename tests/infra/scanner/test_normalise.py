"""Properties of the scanner's normaliser: idempotent, per character, ASCII untouched,
and a secret disguised with invisible characters or fullwidth forms is still found, its
finding spanning the disguised text exactly."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from bastion.infra.scanner import SecretScanner, normalise
from bastion.infra.scanner._normalise import INVISIBLE, Offsets, fold_char
from tests.infra.scanner.conftest import fullwidth

SCANNER = SecretScanner()
AWS = "AK" + "IA"
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
ascii_texts = st.text(st.characters(max_codepoint=127), max_size=200)
invisible = st.sampled_from(INVISIBLE)
# Sixteen distinct characters, kept when the plain key is reported (not a placeholder
# such as ``ABCDEFGH...``): the property is that a disguise changes nothing.
key_bodies = (
    st.permutations(string.ascii_uppercase + "234567")
    .map(lambda p: "".join(p[:16]))
    .filter(lambda body: bool(SCANNER.scan_text(f"key {AWS}{body} end")))
)


@given(texts)
def test_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(texts)
def test_per_character_whatever_the_fast_paths_decide(text: str) -> None:
    assert normalise(text) == "".join(fold_char(c) for c in text)


@given(ascii_texts)
def test_pure_ascii_is_returned_as_it_is(text: str) -> None:
    assert normalise(text) is text


@given(texts)
def test_no_invisible_character_survives(text: str) -> None:
    assert not set(normalise(text)) & set(INVISIBLE)


@given(texts, st.data())
def test_offsets_map_every_position_to_the_character_that_produced_it(
    text: str, data: st.DataObject
) -> None:
    folded = normalise(text)
    if not folded:
        return
    offsets = Offsets(text)
    position = data.draw(st.integers(0, len(folded) - 1))
    origin = offsets.origin(position)
    produced = fold_char(text[origin])
    before = len("".join(fold_char(c) for c in text[:origin]))
    assert before <= position < before + len(produced)


@given(key_bodies, st.lists(st.tuples(st.integers(0, 19), invisible), max_size=8), texts)
def test_a_secret_with_invisible_characters_inserted_is_found(
    body: str, inserts: list[tuple[int, str]], prefix: str
) -> None:
    secret = AWS + body
    chars = list(secret)
    for at, char in sorted(inserts, reverse=True):
        chars.insert(max(at, 1), char)  # after the first character, inside the secret
    disguised = "".join(chars)
    text = f"{prefix} key {disguised} end"
    findings = [f for f in SCANNER.scan_text(text) if f.pattern_id == "aws-access-key-id"]
    assert findings, text
    found = findings[-1]
    assert normalise(text[found.start : found.end]) == secret
    redacted, _ = SCANNER.redact_text(text)
    assert disguised not in redacted
    assert redacted.endswith(" key AKIA[REDACTED:aws-access-key-id] end")


@given(key_bodies, st.integers(1, 20))
def test_a_secret_in_fullwidth_forms_is_found(body: str, wide: int) -> None:
    secret = AWS + body
    disguised = fullwidth(secret[:wide]) + secret[wide:]
    text = f"key: {disguised}\n"
    findings = SCANNER.scan_text(text)
    assert [(f.pattern_id, text[f.start : f.end]) for f in findings] == [
        ("aws-access-key-id", disguised)
    ]
    assert findings[0].redacted == "AKIA[REDACTED:aws-access-key-id]"
