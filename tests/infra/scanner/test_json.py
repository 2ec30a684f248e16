"""JSON scanning: paths, keys, member context and redacted copies."""

from __future__ import annotations

import copy

import pytest

from bastion.infra.scanner import SecretScanner

GITHUB_TOKEN = "gh" + "p_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
NPM_TOKEN = "np" + "m_" + "Zq8XbP2mR7tY4wK9vN3sL6hJ1gF5dC0aQw2E"


def request() -> dict[str, object]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": f"deploy with {GITHUB_TOKEN} please"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "and this one"},
                    {"type": "text", "text": f"NPM_TOKEN={NPM_TOKEN}"},
                ],
            },
        ],
        "metadata": {"x-api-key": "zq8XbP2mR7tY4wK9vN3sL6hJ1gF5dC0a", "user_id": "usr_1"},
    }


def test_findings_carry_json_paths_in_document_order(scanner: SecretScanner) -> None:
    findings = scanner.scan_json(request())
    assert [(f.path, f.pattern_id, f.start, f.end) for f in findings] == [
        ("$.messages[0].content", "github-pat", 12, 52),
        ("$.messages[1].content[1].text", "npm-token", 10, 50),
        ('$.metadata["x-api-key"]', "generic-secret", 0, 32),
    ]


def test_a_secret_in_a_key_is_reported_and_redacted_in_paths(scanner: SecretScanner) -> None:
    document = {"tokens": {GITHUB_TOKEN: {"scopes": ["repo", f"{GITHUB_TOKEN}"]}}}
    findings = scanner.scan_json(document)
    redacted_key = "ghp_[REDACTED:github-pat]"
    assert [(f.path, f.in_key) for f in findings] == [
        (f'$.tokens["{redacted_key}"]', True),
        (f'$.tokens["{redacted_key}"].scopes[1]', False),
    ]
    assert all(GITHUB_TOKEN not in (f.path or "") for f in findings)


def test_member_key_gives_context_to_a_bare_value(scanner: SecretScanner) -> None:
    findings = scanner.scan_json({"db": {"password": "hunter2!x"}, "note": "hunter2!x"})
    assert [(f.path, f.pattern_id) for f in findings] == [("$.db.password", "generic-password")]


def test_member_context_does_not_override_a_recognised_format(scanner: SecretScanner) -> None:
    [finding] = scanner.scan_json({"api_key": GITHUB_TOKEN})
    assert finding.pattern_id == "github-pat"


def test_redact_json_returns_a_redacted_copy(scanner: SecretScanner) -> None:
    original = request()
    before = copy.deepcopy(original)
    redacted, findings = scanner.redact_json(original)
    assert original == before
    assert len(findings) == 3
    assert redacted == {
        **before,
        "messages": [
            {"role": "user", "content": "deploy with ghp_[REDACTED:github-pat] please"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "and this one"},
                    {"type": "text", "text": "NPM_TOKEN=npm_[REDACTED:npm-token]"},
                ],
            },
        ],
        "metadata": {"x-api-key": "[REDACTED:generic-secret]", "user_id": "usr_1"},
    }


def test_redacted_keys_keep_order_and_never_collide(scanner: SecretScanner) -> None:
    other = "gh" + "p_" + "Zq8XbP2mR7tY4wK9vN3sL6hJ1gF5dC0aQw2E"
    redacted, _ = scanner.redact_json({"a": 1, GITHUB_TOKEN: 2, other: 3, "z": 4})
    assert isinstance(redacted, dict)
    assert list(redacted.items()) == [
        ("a", 1),
        ("ghp_[REDACTED:github-pat]", 2),
        ("ghp_[REDACTED:github-pat]#2", 3),
        ("z", 4),
    ]


def test_tuples_non_string_keys_and_scalars(scanner: SecretScanner) -> None:
    value = {1: (f"x {GITHUB_TOKEN}", None, 2.5, True)}
    redacted, findings = scanner.redact_json(value)
    assert redacted == {1: ["x ghp_[REDACTED:github-pat]", None, 2.5, True]}
    assert [f.path for f in findings] == ['$["1"][0]']
    assert scanner.scan_json(42) == []
    assert scanner.redact_json(f"{GITHUB_TOKEN}") == (
        "ghp_[REDACTED:github-pat]",
        scanner.scan_json(GITHUB_TOKEN),
    )


def test_deep_nesting_does_not_hit_the_recursion_limit(scanner: SecretScanner) -> None:
    value: object = f"token {GITHUB_TOKEN}"
    for _ in range(5000):
        value = {"a": [value]}
    [finding] = scanner.scan_json(value)
    assert finding.path is not None and finding.path.endswith("[0]")
    assert finding.path.count(".a[0]") == 5000


def test_leaves_never_join_into_one_match(scanner: SecretScanner) -> None:
    half = len(GITHUB_TOKEN) // 2
    assert scanner.scan_json([GITHUB_TOKEN[:half], GITHUB_TOKEN[half:]]) == []


def test_redact_json_returns_a_clean_value_as_it_is(scanner: SecretScanner) -> None:
    clean = {"messages": [{"role": "user", "content": "summarise the release notes"}]}
    redacted, findings = scanner.redact_json(clean)
    assert redacted is clean and findings == []


@pytest.mark.parametrize(
    "value",
    [
        {"api_key": "sk-live-notreallyasecretbutlongenough0123"},
        {"password": "hunter2hunter2"},
        ["ghp_" + "a" * 36, {"nested": {"token": "xoxb-1234567890-abcdefghij"}}],
        {"note": "nothing here", "n": [1, 2, 3]},
    ],
)
def test_redact_json_finds_what_scan_json_finds(scanner: SecretScanner, value: object) -> None:
    _, findings = scanner.redact_json(value)
    assert [(f.pattern_id, f.path) for f in findings] == [
        (f.pattern_id, f.path) for f in scanner.scan_json(value)
    ]
