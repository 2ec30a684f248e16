from __future__ import annotations

import hashlib
import re

import pytest

from bastion.infra.security import (
    GeneratedKey,
    ParsedKey,
    _api_keys,
    generate_api_key,
    hash_secret,
    parse_api_key,
    verify_api_key,
)


def test_generated_key_format() -> None:
    key = generate_api_key()
    assert re.fullmatch(r"bst_[a-z0-9]{8}_[0-9A-Za-z]{43}", key.plaintext)
    assert key.plaintext.startswith(f"bst_{key.prefix}_")
    assert re.fullmatch(r"key_[0-9a-f]{16}", key.key_id)
    assert re.fullmatch(r"[0-9a-f]{64}", key.secret_hash)


def test_round_trip() -> None:
    key = generate_api_key()
    parsed = parse_api_key(key.plaintext)
    assert parsed is not None
    assert parsed.prefix == key.prefix
    assert hash_secret(parsed.secret) == key.secret_hash
    assert verify_api_key(parsed, key.secret_hash)


def test_keys_are_distinct() -> None:
    keys = [generate_api_key() for _ in range(200)]
    assert len({k.plaintext for k in keys}) == 200
    assert len({k.prefix for k in keys}) == 200
    assert len({k.key_id for k in keys}) == 200


def test_secret_uses_the_whole_alphabet() -> None:
    # 256 bits spread over 43 base62 digits: the leading digit is rarely zero-padded.
    secrets = [generate_api_key().plaintext[13:] for _ in range(300)]
    assert set("".join(secrets)) == set(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    )


def test_hash_is_sha256_hex() -> None:
    assert hash_secret("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_secret("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_wrong_secret_rejected() -> None:
    key = generate_api_key()
    other = parse_api_key(generate_api_key().plaintext)
    assert other is not None
    assert not verify_api_key(other, key.secret_hash)


def test_equal_length_mismatch_rejected() -> None:
    key = generate_api_key()
    parsed = parse_api_key(key.plaintext)
    assert parsed is not None
    for index in (0, 31, 63):
        flipped = "0" if key.secret_hash[index] != "0" else "1"
        stored = key.secret_hash[:index] + flipped + key.secret_hash[index + 1 :]
        assert len(stored) == len(key.secret_hash)
        assert not verify_api_key(parsed, stored)


def test_odd_stored_hashes_are_a_mismatch_not_an_error() -> None:
    parsed = parse_api_key(generate_api_key().plaintext)
    assert parsed is not None
    for stored in ("", "é" * 64, "X" * 64, "0" * 65):
        assert not verify_api_key(parsed, stored)


def test_verify_compares_with_compare_digest() -> None:
    # What verify calls, read from its bytecode: a switch to == would fail here.
    names = _api_keys.verify_api_key.__code__.co_names
    assert "compare_digest" in names
    assert "hmac" in names


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "bst_",
        "bst_abcdefgh_",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "bst_ABCDEFGH_" + "a" * 43,  # prefix must be lowercase
        "bst_abcdefg_" + "a" * 44,  # prefix too short
        "bst_abcdefgh_" + "a" * 42,
        "bst_abcdefgh_" + "a" * 44,
        "bst_abcdefgh_" + "a" * 42 + "_",
        "bst_abcdefgh_" + "a" * 42 + "-",
        "bst_abcdefgh-" + "a" * 43,
        "BST_abcdefgh_" + "a" * 43,
        " bst_abcdefgh_" + "a" * 42,
        "bst_abcdefgh_" + "a" * 42 + "\n",
        "bst_abcdefgh_" + "a" * 42 + "é",
        "bst_abcdefgh_" + "a" * 42 + "٣",  # a non-ASCII digit
        "x" * 10_000,
    ],
)
def test_garbage_rejected(raw: str) -> None:
    assert parse_api_key(raw) is None


def test_reprs_hide_secrets() -> None:
    key = generate_api_key()
    parsed = parse_api_key(key.plaintext)
    assert parsed is not None
    assert key.plaintext not in repr(key)
    assert parsed.secret not in repr(parsed)
    assert repr(parsed) == f"ParsedKey(prefix='{key.prefix}')"
    assert isinstance(key, GeneratedKey)
    assert isinstance(parsed, ParsedKey)
