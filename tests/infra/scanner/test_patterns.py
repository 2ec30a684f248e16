"""Per-family behaviour of the built-in patterns beyond the fixture set."""

from __future__ import annotations

import base64
import json
import random
import string

import pytest

from bastion.infra.scanner import Confidence, FindingSource, SecretScanner
from bastion.infra.scanner._patterns import BUILTIN_PATTERNS
from bastion.infra.scanner._regex import Regex

RNG = random.Random(99)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


GHP = "gh" + "p_"
GITHUB_TOKEN = GHP + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"


def ids(scanner: SecretScanner, text: str) -> list[str]:
    return [f.pattern_id for f in scanner.scan_text(text)]


def test_at_least_forty_unique_ids_each_compiling_alone() -> None:
    pattern_ids = [p.id for p in BUILTIN_PATTERNS]
    assert len(set(pattern_ids)) == len(pattern_ids) >= 40
    for pattern in BUILTIN_PATTERNS:
        Regex(pattern.find)


def test_token_needs_a_word_boundary_before_it(scanner: SecretScanner) -> None:
    assert ids(scanner, f"see {GITHUB_TOKEN}") == ["github-pat"]
    assert "github-pat" not in ids(scanner, f"see x{GITHUB_TOKEN}")


@pytest.mark.parametrize("suffix", ["", "Z", "_extra"])
def test_token_length_is_exact(scanner: SecretScanner, suffix: str) -> None:
    found = ids(scanner, f"token {GITHUB_TOKEN}{suffix} here")
    assert ("github-pat" in found) is (suffix == "")


def test_aws_documentation_example_is_not_a_secret(scanner: SecretScanner) -> None:
    assert ids(scanner, "AKIA" + "IOSFODNN7" + "EXAMPLE") == []
    assert ids(scanner, "AKIA" + "Q3ZL7TXJ2KRV6M4W") == ["aws-access-key-id"]


def test_specific_format_outranks_the_generic_assignment(scanner: SecretScanner) -> None:
    [finding] = scanner.scan_text(f'api_key = "{GITHUB_TOKEN}"')
    assert finding.pattern_id == "github-pat"
    assert finding.confidence is Confidence.HIGH


def test_quoted_password_with_spaces_is_taken_whole(scanner: SecretScanner) -> None:
    text = 'password = "correct horse 42 staple"'
    [finding] = scanner.scan_text(text)
    assert text[finding.start : finding.end] == "correct horse 42 staple"


def test_password_in_escaped_json_stops_before_the_escape(scanner: SecretScanner) -> None:
    text = json.dumps(json.dumps({"password": "Tr0ub4dor&3"}))
    [finding] = scanner.scan_text(text)
    assert text[finding.start : finding.end] == "Tr0ub4dor&3"


def test_unquoted_value_loses_trailing_punctuation(scanner: SecretScanner) -> None:
    text = "the password=Xk9#mP2qL, then retry."
    [finding] = scanner.scan_text(text)
    assert text[finding.start : finding.end] == "Xk9#mP2qL"


@pytest.mark.parametrize(
    "text",
    [
        "password = get_password()",
        "password=self.password",
        "password: Optional[str] = None",
        "password = PASSWORD_FROM_ENV",
        "password = '$DB_PASSWORD'",
        "password: %DB_PASSWORD%",
        "password = None",
        "password = lambda: sslpassword",
        "api_key: ApiKeyHeader",
        "token = os.getenv('TOKEN')",
        "secret: *default_secret",
        "next_page_token = 'CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA5cQ'",
        "token_type = 'bearer_token_type_v2'",
        "max_tokens: 4096",
    ],
)
def test_references_and_non_values_are_not_secrets(scanner: SecretScanner, text: str) -> None:
    assert ids(scanner, text) == []


def test_pem_key_without_footer_is_still_found(scanner: SecretScanner) -> None:
    body = base64.b64encode(RNG.randbytes(300)).decode()
    text = "-----BEGIN RSA PRIVATE KEY-----\n" + body[:64] + "\n" + body[64:200]
    [finding] = scanner.scan_text(text)
    assert finding.pattern_id == "private-key-rsa"
    assert finding.redacted == "-----BEGIN RSA PRIVATE KEY-----[REDACTED:private-key-rsa]"


def test_jwt_header_must_decode_to_a_jose_header(scanner: SecretScanner) -> None:
    def segment(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    payload = segment(b'{"sub":"1234567890","name":"x"}')
    signature = segment(RNG.randbytes(32))
    good = segment(b'{"alg":"HS256","typ":"JWT"}') + "." + payload + "." + signature
    bad = segment(b'{"hello":"world!"}') + "." + payload + "." + signature
    assert ids(scanner, good) == ["jwt"]
    assert "jwt" not in ids(scanner, bad)


@pytest.mark.parametrize(
    ("url", "pattern_id"),
    [
        ("postgresql+asyncpg://app:{p}@db/app", "postgres-url"),
        ("mongodb+srv://app:{p}@cluster0.example.net/db", "mongodb-url"),
        ("rediss://:{p}@cache:6380/0", "redis-url"),
        ("amqps://app:{p}@mq/vhost", "amqp-url"),
        ("mariadb://app:{p}@db/shop", "mysql-url"),
        ("clickhouse://app:{p}@ch:8123/db", "url-credentials"),
        ("HTTPS://deploy:{p}@git.internal/repo.git", "url-credentials"),
    ],
)
def test_url_password_is_reported_under_its_scheme(
    scanner: SecretScanner, url: str, pattern_id: str
) -> None:
    password = rand(14)
    text = url.format(p=password)
    [finding] = scanner.scan_text(f"connect to {text} now")
    assert finding.pattern_id == pattern_id
    assert finding.end - finding.start == len(password)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://scott:tiger@localhost/test",
        "postgres://user:password@localhost/db",
        "redis://[[username]:[password]]@localhost:6379/0",
        "https://jo%40email.com:a%20secret@example.com",
        "https://example.com:8443/path",
    ],
)
def test_documentation_urls_are_not_secrets(scanner: SecretScanner, url: str) -> None:
    assert ids(scanner, url) == []


def test_basic_auth_must_decode_to_user_and_password(scanner: SecretScanner) -> None:
    good = base64.b64encode(b"svc:" + rand(12).encode()).decode()
    no_colon = base64.b64encode(rand(18).encode()).decode()
    assert ids(scanner, f"Authorization: Basic {good}") == ["http-basic-auth"]
    assert "http-basic-auth" not in ids(scanner, f"Authorization: Basic {no_colon}")


def test_bearer_token_carrying_a_jwt_is_reported_as_the_jwt(scanner: SecretScanner) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256"}').decode().rstrip("=")
    claims = base64.urlsafe_b64encode(b'{"sub":"abc","exp":1900000000}').decode().rstrip("=")
    token = f"{header}.{claims}.{rand(43)}"
    assert ids(scanner, f"Authorization: Bearer {token}") == ["jwt"]


def test_sources_and_confidences(scanner: SecretScanner) -> None:
    text = f"{GITHUB_TOKEN} password='Hunter2!x' the value {rand(44)} ok"
    findings = scanner.scan_text(text)
    assert [(f.pattern_id, f.confidence, f.source) for f in findings] == [
        ("github-pat", Confidence.HIGH, FindingSource.PATTERN),
        ("generic-password", Confidence.MEDIUM, FindingSource.PATTERN),
        ("high-entropy-string", Confidence.LOW, FindingSource.ENTROPY),
    ]
